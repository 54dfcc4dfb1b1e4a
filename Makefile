# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install browser proxy tls redis postgres index run test eval bench clean cluster cluster-stop cluster-purge cluster-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# PyTorch's CPU-only wheels: PyPI's Linux torch pulls several GB of CUDA libraries.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

# Reinstalls only when the dependency list changes. The build extra (torch, the model) makes
# the index; the tests build indexes. torch comes alone from TORCH_INDEX when that answers
# within 5 s, before the rest; else from pip's own index (where it is unreachable, as on a
# machine that reaches only a PyPI mirror, pip would retry it for every package).
$(INSTALLED): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt $$($(BIN)/python -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/', timeout=5); print('--extra-index-url $(TORCH_INDEX)')" 2>/dev/null) torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[build,test]'
	touch $@

install: $(INSTALLED)

index: install
	$(BIN)/assistant build

run: index
	$(BIN)/python app.py

# Debian packages the tests use, installed with apt-get when missing and we can (root);
# $(call debian,TEST,PACKAGE,WHAT IT IS FOR): TEST is a shell test that the package is there.
define debian
	@if $(1); then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's $(2) for $(3)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	else echo "note: $(2) is missing and can't be installed here (needs root and apt-get): $(3) will be skipped"; fi
endef

# Browser tests drive Debian's chromium through Playwright; never a downloaded browser.
browser:
	$(call debian,[ -x /usr/bin/chromium ],chromium,the browser tests)

# The reverse-proxy recipe (deploy/nginx.conf) is tested with Debian's nginx.
proxy:
	$(call debian,[ -x /usr/sbin/nginx ],nginx,the reverse-proxy tests)

# The proxy test makes its TLS certificate with Debian's openssl (asked for itself, not left to
# arrive as a dependency of another package).
tls:
	$(call debian,command -v openssl >/dev/null,openssl,the TLS reverse-proxy test)

# Shared rate limits (ASSISTANT_RATE_LIMIT_STORAGE=redis://...) are tested against Debian's redis-server,
# started by the tests themselves on a free loopback port; never needed to serve.
redis:
	$(call debian,[ -x /usr/bin/redis-server ],redis-server,the shared rate-limit tests)

# The question log on PostgreSQL (ASSISTANT_DATABASE_URL=postgresql://...) is tested against Debian's postgresql:
# the tests run initdb and pg_ctl themselves, in a temporary directory on a free loopback port; never needed to serve.
postgres:
	$(call debian,ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1,postgresql,the PostgreSQL question-log tests)

test: install browser proxy tls redis postgres
	$(BIN)/python -m pytest -q

# The local cluster on loopback (deploy/cluster.py): PostgreSQL, redis-server, one build, two
# replicas and nginx in front, under .cluster/; it prints the URL and what runs where.
cluster: install proxy redis postgres
	$(BIN)/python -m deploy.cluster start

# cluster-stop keeps .cluster/ (the question log, the token and passwords, the logs) and says
# so; cluster-purge stops it and removes all of that.
cluster-stop:
	$(BIN)/python -m deploy.cluster stop

cluster-purge:
	$(BIN)/python -m deploy.cluster stop --purge

# The cluster's checks (tests/test_cluster.py, also part of `make test`), with their figures printed.
# CLUSTER_QUESTIONS=5000 for a longer load than the 480 questions of the default.
cluster-check: install browser proxy redis postgres
	$(BIN)/python -m pytest -q -s tests/test_cluster.py tests/test_cluster_files.py

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
