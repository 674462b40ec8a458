"""`python -m embedded` (what `make run` runs): the whole platform locally, Ctrl-C stops it."""

from __future__ import annotations

import sys

from embedded.platform import run

if __name__ == "__main__":
    sys.exit(run())
