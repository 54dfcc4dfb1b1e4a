# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install index run test eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when the dependency list changes.
$(INSTALLED): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(INSTALLED)

index: install
	$(BIN)/assistant build

run: index
	$(BIN)/python app.py

test: install
	$(BIN)/python -m pytest -q

eval: install
	$(BIN)/assistant eval tests/eval/dev.jsonl
	$(BIN)/assistant eval tests/eval/questions.jsonl

clean:
	rm -rf $(VENV) index/manifest.json index/passages-* index/vectors-* index/sentences-* .pytest_cache
