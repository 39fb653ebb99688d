# Both commands need only Python 3.11+; `make` is a convenience over scripts/dev.py.
PYTHON ?= python3

.PHONY: run test lint check bench bench-imports

run:    ## set up .venv, migrate SQLite, load demo data, run the server and the alert worker
	$(PYTHON) scripts/dev.py run

test:   ## set up .venv and run the whole test suite (SQLite, or DATABASE_URL=postgres://...)
	$(PYTHON) scripts/dev.py test $(ARGS)

lint:
	.venv/bin/ruff check .

check:  ## what CI checks besides the tests
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache
	DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run

bench:  ## report generation benchmark (not part of the tests)
	DEBUG=true .venv/bin/python bench/reports_bench.py

bench-imports:  ## CSV imports (10 000 products, 10 000 stock rows) and the streamed stock export (not part of the tests)
	DEBUG=true .venv/bin/python bench/imports_bench.py
