# linli — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else is a step of those two. Run `make help` for the list.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# uv comes from PATH, else from a bootstrap venv in .tools/ (created on first use).
ifndef UV
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
endif
CHROMIUM ?= /usr/bin/chromium
CI ?=
# pytest-xdist workers (0 = serial, the default: on 2 cores the suite ran no faster with -n 2,
# see docs/development.md). Each xdist worker gets its own test database.
PYTEST_WORKERS ?= 0
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
TEST_DATA := $(CURDIR)/.test-data
# The test settings: immediate tasks, a throwaway data folder (secrets, SQLite, screenshots).
TEST_ENV := LINLI_TESTING=1 LINLI_DATA_DIR=$(TEST_DATA)/data LINLI_TEST_CHROMIUM=$(CHROMIUM)
IS_CI := $(filter true 1 yes,$(CI))


.PHONY: help venv assets chromium nginx demo test lint typecheck importlint pytest pytest-sqlite \
        pytest-postgres bench clean distclean

help:
	@echo "make demo   set everything up, seed the demo street once, serve http://127.0.0.1:8000/"
	@echo "make test   ruff, mypy, import-linter, pytest on SQLite (+ PostgreSQL when"
	@echo "            LINLI_TEST_DATABASE_URL is set), browser tests in Chromium"
	@echo "steps:      venv assets chromium lint typecheck importlint pytest-sqlite"
	@echo "            pytest-postgres bench clean distclean"

# --- environment -------------------------------------------------------------------------

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found: bootstrapping it into .tools/ with $(PYTHON) -m pip"
	@if $(PYTHON) -m venv .tools 2>/dev/null && .tools/bin/python -m pip install --quiet uv; then \
		true; \
	elif $(PYTHON) -m pip install --quiet --target .tools/pkgs uv; then \
		mkdir -p .tools/bin && ln -sf ../pkgs/bin/uv .tools/bin/uv; \
	else \
		echo "error: could not install uv. Install it (https://docs.astral.sh/uv/) or the" >&2; \
		echo "       python3-venv package (apt-get install python3-venv), then retry." >&2; \
		exit 1; \
	fi

$(VENV)/.linli-synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

venv: $(VENV)/.linli-synced

# npm writes node_modules/.package-lock.json on every install; newer than the lock = up to date.
node_modules/.package-lock.json: package-lock.json package.json
	@command -v npm >/dev/null || { echo "error: npm is required (Node.js 18+)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

assets: node_modules/.package-lock.json

chromium:
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "chromium missing: installing the Debian package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	elif [ -n "$(IS_CI)" ]; then \
		echo "error: Chromium not found at $(CHROMIUM) and cannot install it (not root / no apt)." >&2; \
		exit 1; \
	else \
		echo "note: Chromium not found at $(CHROMIUM); browser tests will be skipped."; \
		echo "      install it with: sudo apt-get install chromium  (or set CHROMIUM=/path)"; \
	fi

# nginx: the deploy tests run `nginx -t` on deploy/nginx/linli.conf and put it in front of
# `linli serve`. Installed without starting Debian's own nginx service (policy-rc.d).
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then \
		echo "nginx: $$(command -v nginx || echo /usr/sbin/nginx)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "nginx missing: installing the Debian package (its service is not started)"; \
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
		status=$$?; rm -f /usr/sbin/policy-rc.d; exit $$status; \
	elif [ -n "$(IS_CI)" ]; then \
		echo "error: nginx not found and cannot install it (not root / no apt)." >&2; exit 1; \
	else \
		echo "note: nginx not found; the nginx deploy tests will be skipped (apt-get install nginx)"; \
	fi

# --- the demo ----------------------------------------------------------------------------

demo: venv assets
	$(BIN)/linli demo $(DEMO_ARGS)

# --- checks ------------------------------------------------------------------------------

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy linli benchmarks

importlint: venv
	$(BIN)/lint-imports

XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS))

pytest-sqlite: venv assets
	@mkdir -p $(TEST_DATA)
	env -u LINLI_DATABASE_URL $(TEST_ENV) $(BIN)/pytest $(XDIST) -m "not postgres" $(PYTEST_ARGS)

pytest-postgres: venv assets
	@if [ -z "$${LINLI_TEST_DATABASE_URL:-}" ]; then \
		if [ -n "$(IS_CI)" ]; then \
			echo "error: CI needs PostgreSQL: set LINLI_TEST_DATABASE_URL" >&2; exit 1; \
		fi; \
		echo "pytest-postgres: skipped (set LINLI_TEST_DATABASE_URL=postgresql://… to run)"; \
	else \
		mkdir -p $(TEST_DATA); \
		echo "pytest on PostgreSQL: $${LINLI_TEST_DATABASE_URL%%\?*}"; \
		env $(TEST_ENV) LINLI_DATABASE_URL="$$LINLI_TEST_DATABASE_URL" \
			$(BIN)/pytest $(XDIST) --create-db $(PYTEST_ARGS); \
	fi

pytest: pytest-sqlite pytest-postgres

# Runs every step even when one fails, then says which failed (and exits non-zero).
TEST_STEPS := lint typecheck importlint pytest-sqlite pytest-postgres
test: venv assets chromium nginx
	@failed=""; \
	for step in $(TEST_STEPS); do \
		echo ""; echo "==> make $$step"; \
		$(MAKE) $$step || failed="$$failed $$step"; \
	done; \
	echo ""; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: all steps passed ($(TEST_STEPS))"

# --- benchmarks --------------------------------------------------------------------------

# `make bench` runs every benchmark at a small size (minutes); `make bench BENCH_SIZE=full` at
# the sizes of the goals in docs/benchmarks.md; `make bench-search` runs one. Each prints its
# table and writes benchmarks/results/<name>.json. Set LINLI_DATABASE_URL for PostgreSQL.
# bench-intake_http drives granian with wrk (`apt-get install wrk`) when it is installed and
# falls back to a far slower Python client otherwise: install wrk before taking its figures.
BENCH_SIZE ?= small
BENCH_small_locator := --points 200000 --single 50000
BENCH_small_seed := --residents 20000 --baseline 500
BENCH_small_search := --persons 50000 --queries 50 --baseline-queries 10

bench: bench-locator bench-seed bench-search

bench-%: venv
	@echo ""; echo "==> benchmarks.bench_$* ($(BENCH_SIZE))"
	$(BIN)/python -m benchmarks.bench_$* $(BENCH_$(BENCH_SIZE)_$*) $(BENCH_ARGS)

# --- housekeeping ------------------------------------------------------------------------

# Keeps data/ (your demo database and its secrets.json): delete it yourself if you mean it.
clean:
	rm -rf .test-data .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d \
		-exec rm -rf {} +

distclean: clean
	rm -rf .venv .tools node_modules
