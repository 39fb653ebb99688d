# Both commands need only Python 3.11+; `make` is a convenience over scripts/dev.py.
PYTHON ?= python3

.PHONY: run test setup lint check bench bench-all bench-imports bench-hot-row bench-list bench-scale replica-up replica-down

run:    ## set up .venv, migrate SQLite, load demo data, run the server and the alert worker
	$(PYTHON) scripts/dev.py run

test:   ## set up .venv and run the whole test suite (SQLite, or DATABASE_URL=postgres://...)
	$(PYTHON) scripts/dev.py test $(ARGS)

setup:  ## only set up .venv with the development requirements (the benchmarks need it)
	$(PYTHON) scripts/dev.py setup

lint:
	.venv/bin/ruff check .

check:  ## what CI checks besides the tests
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache
	DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run

bench: setup  ## report generation benchmark (not part of the tests)
	DEBUG=true .venv/bin/python bench/reports_bench.py

bench-all: bench-hot-row bench-list bench-scale  ## every figure of the performance issue, in one command (PostgreSQL; ~20 min, +30 min the first time for the 10 M seed)

bench-imports: setup  ## CSV imports (10 000 products, 10 000 stock rows) and the streamed stock export (not part of the tests)
	DEBUG=true .venv/bin/python bench/imports_bench.py

bench-hot-row: setup  ## hot-row decisions over HTTP vs GET /api/profile/ and pgbench (PostgreSQL; BENCH_DATABASE_URL to name the database)
	DEBUG=true .venv/bin/python bench/hot_row_bench.py

bench-list: setup  ## GET /api/stocks/?page_size=200 vs a plain JsonResponse of .values() (PostgreSQL)
	DEBUG=true .venv/bin/python bench/list_bench.py

bench-scale: setup  ## dashboards and ledger at 1 M and 10 M movements vs bare SQL (PostgreSQL; seeds once, reuses after)
	DEBUG=true .venv/bin/python bench/scale_bench.py --plans

replica-up:  ## a streaming replica of the local PostgreSQL on 127.0.0.1:5433 (pg_basebackup; see bench/replica.py)
	python3 bench/replica.py up

replica-down:
	python3 bench/replica.py down
