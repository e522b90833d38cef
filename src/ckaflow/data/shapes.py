"""The native size of the generated domains (synth, standin): the thesis' 80 wide x 64 tall,
one grey channel; the config's ``image`` may ask for another."""

WIDTH, HEIGHT = 80, 64
