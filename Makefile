# hookgate — `make run` starts it locally, `make test` runs every check CI runs.
# Dependencies come from the lock files (scripts/lock.sh regenerates them):
# requirements.lock for running, requirements-dev.lock for testing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: install install-dev services services-dev run test lint bench lock clean

install: $(VENV)/.installed-runtime

install-dev: $(VENV)/.installed-dev

# pip is pinned too: the venv's bundled pip (23.x) refuses a hash-checked lock in which a
# locked package asks for another with extras (githubkit → hishel[async,httpx]).
PIP_VERSION := 26.3

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)

$(VENV)/.installed-runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements.lock
	$(PIP) --no-deps --editable .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --no-deps --editable .
	touch $@ $(VENV)/.installed-runtime

# The dev stack (`hookgate dev` on SQLite) needs only Redis; the tests need both.
services:
	scripts/services.sh redis

services-dev:
	scripts/services.sh redis postgres

run: install services
	scripts/run-dev.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint services-dev
	$(BIN)/pytest

bench: install-dev services-dev
	$(BIN)/python -m bench.storage
	$(BIN)/python -m bench.verifiers
	$(BIN)/python -m bench.delivery

lock:
	scripts/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
