# Quick start: `make chat` talks to the example bot; `make test` runs the whole suite but the
# chaos run (`make chaos`; CI runs both); `make test-quick` leaves out the tests marked slow
# (building wheels and venvs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat test test-quick lint test-pythons bench chaos clean

$(STAMP): pyproject.toml chatbotmaker_core/pyproject.toml chatbotmaker_dev/pyproject.toml chatbotmaker_facebook/pyproject.toml devsupport/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e './chatbotmaker_core[postgres,queue]' -e ./chatbotmaker_dev -e ./chatbotmaker_facebook -e ./devsupport --group dev
	touch $(STAMP)

install: $(STAMP)

chat: $(STAMP)
	cd examples/pizza && ../../$(BIN)/chatbotmaker chat

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -m "not chaos"
	$(BIN)/chatbotmaker test examples/pizza/chatbotmaker.toml
	$(BIN)/chatbotmaker test examples/pizza_flow/chatbotmaker.toml
	$(BIN)/chatbotmaker test examples/facebook/chatbotmaker.toml

test-quick: lint
	$(BIN)/pytest -m "not slow"

# The short chaos run of queued mode (benchmarks/chaos.py --short: about 70 s, bounded to 6
# minutes, diagnostics printed on failure); `make test` leaves it out and .ci/run runs it as its
# own step after `make test`. The full one is `$(BIN)/python benchmarks/chaos.py`
# (docs/performance.md).
chaos: $(STAMP)
	$(BIN)/pytest -m chaos -rP

# The suite under the oldest and newest Python that pyenv offers (3.10+), each in its own venv;
# the slow tests (wheels, venvs) once only, in `make test`, and the chaos run in `make chaos`.
test-pythons:
	@for v in $$(scripts/pythons); do \
		echo "== Python $$v"; \
		$(MAKE) --no-print-directory test-quick PYTHON=$$v VENV=.venv-$$(basename $$(dirname $$(dirname $$v))) || exit 1; \
	done

# Every benchmark: JSON and PNG plots in benchmarks/results/latest/ (docs/performance.md).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --group bench
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf .venv .venv-* .pytest_cache .ruff_cache .mypy_cache
