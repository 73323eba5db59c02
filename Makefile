# Two commands set everything up on a fresh machine:
#   make run   — create/refresh the virtualenv, then run the main job
#   make test  — create/refresh the virtualenv, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-light browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/alpha-engine run

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2

# The evaluator's report test renders it in a headless chromium (Debian package). Installed here, quietly
# and only when missing, if running as root with apt-get; otherwise that one test skips, saying how.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
	    echo "could not install chromium: the report's headless-browser test will skip"; \
	  else echo "chromium not found (apt-get install -y chromium as root): the report's headless-browser test will skip"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_sfn.py

bench-light: $(STAMP)
	$(BIN)/python bench/bench_light_stages.py

clean:
	rm -rf $(VENV)
