"""Image geometry shared by every stage: 80 wide x 64 tall, one grey channel."""

WIDTH, HEIGHT = 80, 64
