"""`python -m sync_engine.dramatiq_main ARGS`: Dramatiq's CLI, its own events logged like ours.

`workday-resync worker` runs it with `--skip-logging`, so that every line of the command's output,
its main process's (boot, a worker process that died) included, is a JSON line off a terminal. Importing
it imports the engine's surface (`sync_engine/__init__.py`), prometheus_client included: that is safe
because `workday-resync worker` sets PROMETHEUS_MULTIPROC_DIR in the environment it starts this module
with, and prometheus_client gives each forked worker process its own files (see `sync_engine.metrics`).
"""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main

from sync_engine.logs import configure_logging

if __name__ == "__main__":
    configure_logging()
    sys.exit(dramatiq_main())  # type: ignore[no-untyped-call]
