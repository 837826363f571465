# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test reference browser messages lint format bench clean

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
test: $(STAMP) reference browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# gbstats 0.8 (numpy<2), the reference the experiment statistics are checked against, in a venv
# of its own; a no-op once built, rebuilt when its requirements change.
reference:
	PYTHON=$(PYTHON) bash tests/experiments/reference/make_venv.sh

# Debian's chromium for the console's browser tests (Playwright drives /usr/bin/chromium; it downloads
# no browser of its own). Installing needs root; elsewhere install the `chromium` package yourself.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need /usr/bin/chromium: apt-get install -y chromium fonts-noto-cjk (as root)"; fi; }

# The message keys the code and templates use, extracted by Babel (see CONTRIBUTING.md), then the
# check that the catalogues hold them all, translated.
messages: $(STAMP)
	$(VENV)/bin/pybabel --quiet extract -F babel.cfg -k translate -k _ --sort-by-file --omit-header \
	  -o src/tenure/locales/messages.pot src/tenure
	$(PY) -m pytest -q -p no:cacheprovider tests/test_i18n.py

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
