# Every entry point of the course. `make lab` and `make test` are all a newcomer needs:
# both create the environment first (make setup), which is a no-op when nothing changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# nbgrader needs alembic (in the venv's bin/) on PATH when it creates a gradebook.
export PATH := $(BIN):$(PATH)

.PHONY: setup lab test lint release collect grade export samples check book guide bench \
	student-bundle browser clean

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

# The reading edition: execute every solution notebook and render build/book/ (offline pages).
book: setup
	$(PY) -m tools.book $(ASSIGNMENT)

# The instructor's guide: goals, times, rubrics and the mistakes the tests name (build/guide/).
guide: setup
	$(PY) -m tools.guide

# The archive an instructor hands to students: notebooks/, helpers/ without the answers.
student-bundle: setup
	$(PY) -m tools.bundle

# Debian's Chromium, which the browser test drives (tests/test_browser.py); needs root.
browser:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	@/usr/bin/chromium --version

# File an LMS's "download all submissions" zip into autograde/submitted/ (ROSTER= maps people).
collect: setup
	@test -n "$(ZIP)" -a -n "$(ASSIGNMENT)" || (echo "usage: make collect ZIP=<download.zip> ASSIGNMENT=<id> [ROSTER=roster.csv]" && exit 2)
	$(PY) -m autograde.collect $(ZIP) --assignment $(ASSIGNMENT) $(if $(ROSTER),--roster $(ROSTER))

# Grade every submission in autograde/submitted/ on every usable CPU (ASSIGNMENT=, STUDENT=,
# JOBS= narrow it).
grade: setup
	$(PY) -m autograde.grade $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(STUDENT),--student $(STUDENT)) $(if $(JOBS),--jobs $(JOBS))

# Grades for the LMS (FORMAT=csv|canvas|moodle) and the feedback pages, in autograde/export/.
export: setup
	$(PY) -m autograde.export --format $(or $(FORMAT),csv) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(ROSTER),--roster $(ROSTER))

# Sample submissions of every kind (correct, blank, each known mistake, every fault).
samples: setup
	$(PY) -m autograde.samples $(ASSIGNMENT)

# Check one notebook like nbgrader validate, but exit non-zero when a test fails.
check: setup
	@test -n "$(NB)" || (echo "usage: make check NB=notebooks/<id>/<id>.ipynb" && exit 2)
	$(PY) -m tools.check $(NB)

# Sequential nbgrader autograde against make grade on a generated class (STUDENTS=N).
bench: setup
	$(PY) benchmarks/grading.py $(if $(STUDENTS),--students $(STUDENTS))

clean:
	rm -rf $(VENV) build .pytest_cache
