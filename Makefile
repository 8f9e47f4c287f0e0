# Two entry points (see README): `make run` and `make test`. Both create .venv if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	@# Kernels compiled ahead of time (needs a C compiler); without them they run just in time.
	-$(BIN)/python -m sim.aot

run: setup
	$(BIN)/python -m sim

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m sim.paramdocs --check
	$(BIN)/python -m pytest

.PHONY: setup run test
