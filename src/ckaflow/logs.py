"""Logging for workflow jobs: progress to the rule's log file, and the traceback if it fails."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> logging.Logger:
    """Send INFO and above from every logger to ``path`` (and stderr); log uncaught exceptions."""
    handlers = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("matplotlib", "PIL", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    default_hook = sys.excepthook

    def hook(kind, value, tb):
        logging.getLogger("ckaflow").error("job failed", exc_info=(kind, value, tb))
        default_hook(kind, value, tb)

    sys.excepthook = hook
    return logging.getLogger("ckaflow")
