"""Tools beside the product, not installed with it: the Slack emulator, the benchmark, scratch stores.

The tests import them; the product packages (`bot`, `sync_engine`) never do (import-linter checks it).
"""
