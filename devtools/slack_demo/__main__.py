"""`python -m devtools.slack_demo [--customers N]`: exit 0 when the run completed with the right counts."""

from __future__ import annotations

import argparse
import logging
import sys

from devtools.slack_demo.journey import play
from sync_engine import configure_logging


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.slack_demo", description=__doc__)
    parser.add_argument(
        "--customers",
        type=int,
        default=12,
        choices=range(2, 101),
        metavar="N",
        help="references in the batch (2-100, one of them unknown to Workday; default 12)",
    )
    arguments = parser.parse_args()
    # The transcript is the output: the processes' own log lines only when something goes wrong.
    configure_logging(logging.WARNING)
    return 0 if play(sys.stdout, size=arguments.customers) else 1


if __name__ == "__main__":
    sys.exit(main())
