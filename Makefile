# Every entry point of the course. `make lab` and `make test` are all a newcomer needs:
# both create the environment first (make setup), which is a no-op when nothing changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# nbgrader needs alembic (in the venv's bin/) on PATH when it creates a gradebook.
export PATH := $(BIN):$(PATH)

.PHONY: setup lab test lint release grade check book bench student-bundle browser clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@
	@echo "environment ready in $(VENV)"

# Root (a container, a CI machine) must say so explicitly; LAB_ARGS passes more options.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) $(LAB_ARGS)

test: setup
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check helpers tools tests benchmarks autograde

# Regenerate notebooks/ from solutions/ (commit both together).
release: setup
	$(PY) -m tools.release $(ASSIGNMENT)

clean:
	rm -rf $(VENV) build .pytest_cache
