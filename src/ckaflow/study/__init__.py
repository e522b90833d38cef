"""The study a config describes: its checks (:mod:`.config`) and its plan (:mod:`.plan`)."""
