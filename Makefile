# Two commands: `make run` serves Cairn on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test test-busy demo migrate lint bench clean icons messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Each language's compiled messages (server/i18n.py reads them at start-up), from its .po
# file: built before Cairn runs or is tested, never at request time. Not committed.
LOCALE := server/locale
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po))

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel --quiet compile --domain messages --locale $* --input-file $< --output-file $@

# Extract every message from the code and templates into messages.pot, then bring each
# language's .po up to date with it; docs/translating.md says what comes next.
messages: $(VENV)/.installed
	$(BIN)/pybabel --quiet extract --mapping-file babel.cfg --output-file $(LOCALE)/messages.pot \
		--project Cairn --version 0.1.0 --copyright-holder "Cairn's authors" --sort-by-file .
	$(BIN)/pybabel --quiet update --input-file $(LOCALE)/messages.pot --output-dir $(LOCALE) \
		--domain messages

migrate: $(VENV)/.installed
	$(BIN)/alembic upgrade head

run: $(VENV)/.installed $(MO_FILES)
	$(BIN)/cairn serve --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed $(MO_FILES)
	$(BIN)/cairn demo --host $(HOST) --port $(PORT)

# Three workers, one test file each at a time (a file's servers and fixtures stay in one
# process): on two cores a third keeps them busy while the others wait on browsers, sockets
# and servers (docs/testing.md). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 3
test: $(VENV)/.installed-test $(MO_FILES)
	$(BIN)/ruff check server tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# `make test` while BUSY_CORES cores spin (CPU hogs that stop with it, or after BUSY_SECONDS
# at most). A test that fails here waits on time instead of on what it waits for.
# One test, repeated: make test-busy PYTEST_ARGS="tests/x.py::test_y --count 20"
BUSY_CORES   ?= 1
BUSY_SECONDS ?= 1800
test-busy: $(VENV)/.installed-test $(MO_FILES)
	@hogs=""; for _ in $$(seq $(BUSY_CORES)); do \
	  timeout $(BUSY_SECONDS) $(BIN)/python -c 'while True: pass' & hogs="$$hogs $$!"; done; \
	trap 'kill $$hogs 2>/dev/null' EXIT INT TERM; \
	echo "test-busy: $(BUSY_CORES) core(s) kept busy by$$hogs"; \
	$(MAKE) --no-print-directory test

lint: $(VENV)/.installed-test
	$(BIN)/ruff check server tests bench tools
	$(BIN)/mypy

# The PNG icons (favicon, home screen) from the SVGs in web/static/icons; commit what it writes.
icons: $(VENV)/.installed-test
	$(BIN)/python -m tools.icons

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .pytest_cache $(MO_FILES)

# A short fan-out, idle-memory and reminder-pass run (a few minutes); docs/performance.md has
# the full commands and the figures. BENCH_DB=sqlite skips PostgreSQL.
BENCH_DB ?= sqlite,postgres
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.fanout --db $(BENCH_DB) --duration 10 --warmup 2 --drain 5 \
		--step-duration 4 --bisect 0
	$(BIN)/python -m bench.idle_memory --sockets 2000 --hold 11
	$(BIN)/python -m bench.reminders --db $(BENCH_DB) --members 1000 --passes 3
