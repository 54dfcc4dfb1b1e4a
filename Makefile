# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install browser proxy index run test eval bench clean

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

# Browser tests drive Debian's chromium through Playwright; never a downloaded browser.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: /usr/bin/chromium is missing and can't be installed here (needs root and apt-get): browser tests will be skipped"; fi

# The reverse-proxy recipe (deploy/nginx.conf) is tested with Debian's nginx, installed the same way.
proxy:
	@if [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's nginx for the reverse-proxy test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else echo "note: /usr/sbin/nginx is missing and can't be installed here (needs root and apt-get): the reverse-proxy test will be skipped"; fi

test: install browser proxy
	$(BIN)/python -m pytest -q

# Not part of `make test`: minutes of load on the shared machine. Prints a table and
# writes bench/results/<date>.json. `make bench BENCH_ARGS=--quick` for a smoke test.
bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

eval: install
	$(BIN)/assistant eval tests/eval/dev.jsonl
	$(BIN)/assistant eval tests/eval/questions.jsonl
	$(BIN)/assistant eval tests/eval/conversations.jsonl
	$(BIN)/assistant eval tests/eval/external-slice

clean:
	rm -rf $(VENV) index/manifest.json index/passages-* index/vectors-* index/sentences-* .pytest_cache
