# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test reference lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# PORT=8001 picks the port; without it the demo takes 8000, or the next free one.
demo: $(STAMP)
	$(VENV)/bin/tenure demo $(if $(PORT),--port $(PORT))

# Two workers: most tests wait on fsync, PostgreSQL, subprocesses or servers; Spark tests share one.
TEST_WORKERS ?= 2
test: $(STAMP) reference
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# gbstats 0.8 (numpy<2), the reference the experiment statistics are checked against, in a venv
# of its own; a no-op once built, rebuilt when its requirements change.
reference:
	PYTHON=$(PYTHON) bash tests/experiments/reference/make_venv.sh

lint: $(STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy src
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(PY) -m ruff format src tests bench
	$(PY) -m ruff check --fix src tests bench

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/bench_import.py
	$(PY) bench/bench_ingest.py

clean:
	rm -rf $(VENV) tenure-data .pytest_cache .mypy_cache .ruff_cache
