# make run   set up everything and serve the demo on http://127.0.0.1:8000/admin/
# make lint  ruff's lint and format check, as CI runs them
# make test  set up and run the whole suite, DEBUG off and on (SQLite, plus PostgreSQL when DATABASE_URL is set)
# make phonedata  regenerate leads/phonedata/tables.json after bumping phonenumberslite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run lint test test-sqlite test-postgres setup chromium bench phonedata clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

setup: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --once
	$(BIN)/python manage.py ensure_admin --url http://$(HOST):$(PORT)/admin/

run: setup
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium; install it when missing (needs root, as on CI).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium' (browser tests need /usr/bin/chromium)." >&2; exit 1; fi; }

# DEBUG off is production's setting, DEBUG on is `make run`'s. SQLite serves `make run`
# only (real campaigns run on PostgreSQL), so with DATABASE_URL set the suite runs on
# SQLite with DEBUG on (what `make run` serves) and on PostgreSQL with DEBUG off (what
# production serves): each setup the site really runs in, once. The two share nothing
# (an in-memory SQLite database; PostgreSQL's own test database), so they run side by
# side, one per core, each into its own log, printed when both have ended: one after
# the other they took 14 of CI's 15 minutes. (A third run, PostgreSQL with DEBUG on,
# would not fit.) Without DATABASE_URL, SQLite runs both ways.
test: $(VENV)/.test-installed chromium
	@if [ -n "$$DATABASE_URL" ]; then \
	  logs=$$(mktemp -d); \
	  (env -u DATABASE_URL DEBUG=1 $(BIN)/pytest > $$logs/sqlite.log 2>&1; echo $$? > $$logs/sqlite.rc) & \
	  (DEBUG=0 $(BIN)/pytest > $$logs/postgresql.log 2>&1; echo $$? > $$logs/postgresql.rc) & \
	  wait; \
	  echo "== SQLite, DEBUG on"; cat $$logs/sqlite.log; \
	  echo "== $$DATABASE_URL, DEBUG off"; cat $$logs/postgresql.log; \
	  sqlite=$$(cat $$logs/sqlite.rc); postgresql=$$(cat $$logs/postgresql.rc); rm -r $$logs; \
	  echo "== SQLite: exit $$sqlite; PostgreSQL: exit $$postgresql"; \
	  [ "$$sqlite" = 0 ] && [ "$$postgresql" = 0 ]; \
	else \
	  echo "== SQLite, DEBUG off" && DEBUG=0 $(BIN)/pytest && \
	  echo "== SQLite, DEBUG on" && DEBUG=1 $(BIN)/pytest; \
	fi

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.test-installed
	$(BIN)/python bench/changelist.py

# The time-zone and NANP region table, from the full libphonenumber wheel of the
# installed phonenumberslite's version (downloaded, read as data, never installed).
phonedata: $(VENV)/.run-installed
	$(BIN)/python -m leads.phonedata.build

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .admin-password
