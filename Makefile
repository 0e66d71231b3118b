# The two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# Tests run against real PostgreSQL and Redis; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/amarise_ops
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: run test bench lint format install install-dev bytecode services clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The console's own code byte-compiled (only what changed): with PYTHONDONTWRITEBYTECODE=1 nothing else writes
# .pyc files, and every command and worker would compile ~400 modules again at start (issue 19).
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py))
bytecode: $(VENV)/.installed
	@$(PY) -m compileall -q -j0 $(PACKAGES)

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed bytecode
install-dev: $(VENV)/.installed-dev bytecode

## make run: the console on http://127.0.0.1:8000/admin/ with web, worker and beat (Ctrl-C stops all three)
run: install
	@mkdir -p "$${VAR_DIR:-var}"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_strategy
	$(PY) manage.py ensure_admin
	@echo "Starting web, worker and beat: open http://127.0.0.1:$${OPS_RUN_PORT:-8000}/admin/ (Ctrl-C stops all three)"
	PATH="$(abspath $(BIN)):$$PATH" $(PY) scripts/run_console.py -f Procfile

## make test: installs what the tests need (services included) and runs them
test: install-dev
	bash scripts/ensure_services.sh
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(BIN)/pytest $(PYTEST_ARGS)

## make bench: speed and memory benchmarks, each printed as a ratio against a baseline in the same run
bench: install-dev
	bash scripts/ensure_services.sh
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(PY) -m bench $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var .pytest_cache
