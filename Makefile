# The two commands of the README. Both set everything up on a fresh clone first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

.PHONY: run test lint setup contracts clean chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

setup: $(STAMP)

## Headless Chromium and a CJK font (Debian's packages) for the dashboard page test; installing needs root.
chromium:
	@test -x $(CHROMIUM) && test -f $(CJK_FONT) || { \
		[ "$$(id -u)" = 0 ] || { echo "Chromium or fonts-noto-cjk is missing; installing them needs root: sudo make chromium"; exit 1; }; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk; }

## make run: embedded Postgres + Kafka-protocol broker + every service, Ctrl-C stops all.
run: $(STAMP)
	$(BIN)/python -m embedded

## make test: lint, then the whole suite (unit, service, end-to-end) on embedded infrastructure.
test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## Regenerate the JSON Schemas of the event contracts and the AsyncAPI documents.
contracts: $(STAMP)
	$(BIN)/python -m shared.contracts.generate

clean:
	rm -rf $(VENV) .data .pytest_cache
