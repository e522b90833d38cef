"""The reference run, for maintainers (README "What the default study finds").

    python tools/reference_run.py save RUN_DIR     RUN_DIR/results -> docs/reference-run/, with
                                                   the run time from RUN_DIR's Snakemake log
    python tools/reference_run.py save RUN_DIR --to docs/backend-runs/jax
                                                   the same files of another run, kept beside
                                                   the reference (docs/reproducibility.md)
    python tools/reference_run.py readme           write the reference's numbers into README.md
    python tools/reference_run.py readme --check   exit 1 if README.md is not what they give

RUN_DIR is a clean clone where `make run` finished on config/config.yaml at the commit to record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ckaflow.study.reference import fill_markers, readme_blocks, run_seconds, snapshot

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference-run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    save = sub.add_parser("save")
    save.add_argument("run_dir", type=Path)
    save.add_argument("--to", type=Path, default=REFERENCE, help="default: docs/reference-run")
    readme = sub.add_parser("readme")
    readme.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "save":
        prov = snapshot(args.run_dir / "results", args.to, run_seconds(args.run_dir))
        print(f"saved the run of commit {prov['commit']} to {args.to}")
        return 0
    path = ROOT / "README.md"
    text = path.read_text()
    want = fill_markers(text, readme_blocks(REFERENCE))
    if args.check:
        if want != text:
            print("README.md's reference numbers differ from docs/reference-run/: run "
                  "python tools/reference_run.py readme", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    path.write_text(want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
