# Two entry points (see README): `make run` and `make test`. Both create .venv if needed and
# install what they need once (a stamp per target, redone only when pyproject.toml changes).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The model alone (no test tools, no Ray, no browser driver).
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@# Kernels compiled ahead of time (needs a C compiler); without them they run just in time.
	-$(BIN)/python -m sim.aot
	touch $@

# The model plus test tools and Ray (the test suite runs a sweep on a Ray cluster).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	-$(BIN)/python -m sim.aot
	touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	-@$(BIN)/python -m sim.aot >/dev/null   # rebuilds only if the kernels changed
	$(BIN)/python -m sim

test: $(VENV)/.installed-test
	-@$(BIN)/python -m sim.aot >/dev/null
	$(BIN)/ruff check .
	$(BIN)/python -m sim.paramdocs --check
	$(BIN)/python -m pytest

# Every figure in the README and docs, regenerated from the current code (minutes).
figures: $(VENV)/.installed-test
	$(BIN)/python -m sim.docfigs

.PHONY: setup run test figures
