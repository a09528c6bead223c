# Two commands for a newcomer: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-postgres install install-dev chromium services security bench lint messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

install: $(VENV)/.run-deps
install-dev: $(VENV)/.dev-deps node_modules

## The client-contract suite's Node clients (jsforce, @hubspot/api-client), from the lockfile.
node_modules: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm missing: install Node 20+ and npm (sudo apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

## make run: install, migrate, seed the sandbox when empty, print the admin login, start web + worker + sandbox.
## Served as in production (gunicorn, DEBUG off, whitenoise): see the Procfile and README.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py sandbox_seed --contacts 2000 --seed 1 --if-empty
	$(BIN)/python manage.py bootstrap_admin
	$(BIN)/honcho start -f Procfile

## Debian's chromium for the browser tests (Playwright's own download cannot run here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else echo "chromium missing: install Debian's chromium (sudo apt-get install chromium)"; fi; \
	fi

## PostgreSQL and Redis servers (Debian's packages) for the second half of the suite.
services:
	@missing=""; \
	ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else echo "missing:$$missing (sudo apt-get install$$missing)"; fi; \
	fi

## make test: the whole suite on SQLite, then again on a throwaway PostgreSQL (+ Redis).
test: install-dev chromium services
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install-dev node_modules
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory security
	$(BIN)/pytest $(PYTEST_ARGS)

## The second pass runs what depends on the database and the broker. Run once, in the SQLite
## pass: the emulators' own tests (they keep their state in their own SQLite files), the input
## fuzzers and guards (they check parsing, before any query), the translations, the architecture,
## and the production-server tests (their subprocesses bring their own database).
PG_ONCE := --ignore=tests/sandbox --ignore=tests/test_fuzz.py --ignore=tests/test_fuzz_criteria.py \
	--ignore=tests/test_input_guard.py --ignore=tests/test_i18n.py --ignore=tests/test_architecture.py \
	--ignore=tests/test_runtime_security.py --ignore=tests/ops/test_serving.py
test-postgres: install-dev
	bash .ci/with-postgres $(BIN)/pytest -m "not e2e" $(PG_ONCE) $(PYTEST_ARGS)

## Static analysis of the product (not the tests, benches or emulators): every finding of medium
## severity or above is fixed, or annotated on its line: `# nosec Bxxx  # why it is safe` (the
## reason after a second `#`, or bandit reads each of its words as a test name and warns).
## (bandit warns "nosec encountered, but no failed test" for annotated f-strings, PyCQA/bandit#1204: dropped.)
security: install-dev
	@$(BIN)/bandit -q -r config integration lists sync --severity-level medium 2>$(VENV)/bandit.log; \
		status=$$?; grep -v "nosec encountered" $(VENV)/bandit.log >&2; \
		if [ $$status = 0 ]; then echo "bandit: no issue of medium severity or above"; fi; exit $$status

bench: install-dev
	$(BIN)/python -m bench

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(MAKE) --no-print-directory security

## Regenerate the French catalog after changing strings (needs gettext).
messages: install-dev
	$(BIN)/python manage.py makemessages -l fr --ignore=.venv --ignore=data --ignore=tests --ignore=bench --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages -l fr --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3* data staticfiles
