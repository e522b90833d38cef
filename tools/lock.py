"""Pins from a `pip install --dry-run --report` file, one `name==version` per line (ckaflow
itself left out): what `make lock` writes to requirements*.lock."""

import json
import re
import sys

with open(sys.argv[1]) as f:
    report = json.load(f)
# names normalised as PEP 503 does (tensorflow_cpu and tensorflow-cpu are one package)
pins = {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"]
        for i in report["install"]}  # fmt: skip
pins.pop("ckaflow", None)
for name in sorted(pins):
    print(f"{name}=={pins[name]}")
