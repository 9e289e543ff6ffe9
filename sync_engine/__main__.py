"""`python -m sync_engine` is the `workday-resync` command."""

from sync_engine.cli import main

main()
