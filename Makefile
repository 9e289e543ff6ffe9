# The front-door commands: `make demo` runs the product, `make slack-demo` its Slack app against a local
# Slack emulator, `make test` runs the tests.
# Each creates or updates the virtualenv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo slack-demo test lint install bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/workday-resync demo

# An admin's request in Slack, told as the admin sees it (README: The Slack app); a dev tool beside the product.
slack-demo: $(STAMP)
	$(BIN)/python -m devtools.slack_demo $(ARGS)

# The benchmark, a dev tool beside the product (README: Benchmark); options in ARGS, e.g. ARGS=--quick.
bench: $(STAMP)
	$(BIN)/python -m devtools.bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot sync_engine devtools
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest
