# Two commands: `make quickstart` (the main job, offline) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install quickstart test lint clean

$(BIN)/textmetric: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(BIN)/textmetric

install: $(BIN)/textmetric

quickstart: install
	$(BIN)/textmetric quickstart

test: install
	$(BIN)/ruff check textmetric tests scripts
	$(BIN)/python -m pytest -q tests

lint: install
	$(BIN)/ruff check textmetric tests scripts

clean:
	rm -rf $(VENV) runs .pytest_cache
