# The two commands of the README. Both set everything up on a fresh clone first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

.PHONY: run test lint setup contracts clean chromium dovecot java kafka keycloak fetch promtool exporter-scrapes

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,embedded]'
	touch $(STAMP)

setup: $(STAMP)

## Headless Chromium and a CJK font (Debian's packages) for the dashboard page test; installing needs root.
chromium:
	@test -x $(CHROMIUM) && test -f $(CJK_FONT) || { \
		[ "$$(id -u)" = 0 ] || { echo "Chromium or fonts-noto-cjk is missing; installing them needs root: sudo make chromium"; exit 1; }; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk; }

## Dovecot (Debian's dovecot-imapd) for the complaints mailbox tests: each test set-up starts its own private server
## (tests/support/dovecot.py) in a temp dir on a free port; the package's own system service is not used. Needs root.
dovecot:
	@test -x /usr/sbin/dovecot || { \
		[ "$$(id -u)" = 0 ] || { echo "Dovecot is missing; installing it needs root: sudo make dovecot"; exit 1; }; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd; }

## promtool (Debian's prometheus package) to check and unit-test the alert rules and dashboards' queries; installing
## needs root. Only the package's files are wanted: its Prometheus server is not started here.
promtool:
	@command -v promtool >/dev/null || { \
		[ "$$(id -u)" = 0 ] || { echo "promtool is missing; installing it needs root: sudo make promtool"; exit 1; }; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

## Re-record tests/observability/exporter_scrapes/ after bumping an exporter (not part of `make test`: the Go builds
## take minutes). The infrastructure alert rules are checked against these recordings of what the pinned versions
## publish: postgres_exporter and node_exporter built with Go from the module proxy into .cache/exporters, scraped
## against the embedded Postgres and with compose's flags; the JMX exporter agent (deploy/Dockerfile's jar and
## checksum) inside the embedded Kafka node. Keep the versions equal to docker-compose.yml's images.
POSTGRES_EXPORTER_VERSION := v0.17.1
NODE_EXPORTER_VERSION := v1.9.1
EXPORTERS := $(CURDIR)/.cache/exporters
exporter-scrapes: $(STAMP) kafka
	@command -v go >/dev/null || { echo "Go is required to build the exporters (https://go.dev/dl/)"; exit 1; }
	mkdir -p $(EXPORTERS)
	cd "$$(GOFLAGS=-mod=mod go mod download -json github.com/prometheus-community/postgres_exporter@$(POSTGRES_EXPORTER_VERSION) \
		| $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
		&& GOFLAGS=-mod=mod go build -o $(EXPORTERS)/postgres_exporter-$(POSTGRES_EXPORTER_VERSION) ./cmd/postgres_exporter
	cd "$$(GOFLAGS=-mod=mod go mod download -json github.com/prometheus/node_exporter@$(NODE_EXPORTER_VERSION) \
		| $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
		&& GOFLAGS=-mod=mod go build -o $(EXPORTERS)/node_exporter-$(NODE_EXPORTER_VERSION) .
	$(BIN)/python -m tests.observability.exporter_scrapes.record --cache $(EXPORTERS) \
		--postgres-exporter $(EXPORTERS)/postgres_exporter-$(POSTGRES_EXPORTER_VERSION) \
		--postgres-exporter-version $(POSTGRES_EXPORTER_VERSION) \
		--node-exporter $(EXPORTERS)/node_exporter-$(NODE_EXPORTER_VERSION) --node-exporter-version $(NODE_EXPORTER_VERSION)

## Java 17+ and Maven (Debian's packages) to fetch and run the embedded Apache Kafka; installing needs root.
java:
	@java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' && command -v mvn >/dev/null || { \
		[ "$$(id -u)" = 0 ] || { echo "Java 17+ or Maven is missing; install them: sudo apt-get install default-jre-headless maven (or: sudo make java)"; exit 1; }; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends default-jre-headless maven; }

## The Apache Kafka server of embedded/kafka/pom.xml, from Maven Central into .cache/ (once). The fetches of Kafka and
## Keycloak need only Python's standard library: `make test` runs them beside the virtualenv's install.
kafka: java
	$(PYTHON) -m embedded.kafka_dist

## Keycloak (the identity provider) of embedded/keycloak/pom.xml, from Maven Central into .cache/, built once for
## fast starts (needs a Java 21+ beside the default Java 17: found in /usr/lib/jvm, or set KEYCLOAK_JAVA_HOME).
keycloak: java
	$(PYTHON) -m embedded.keycloak_dist

## Both, one after the other (two Maven runs never share the local repository at once).
fetch: java
	$(PYTHON) -m embedded.kafka_dist
	$(PYTHON) -m embedded.keycloak_dist $(KEYCLOAK_FLAGS)

## make run: embedded Postgres + Apache Kafka + every service, Ctrl-C stops all.
run: java
	$(MAKE) --no-print-directory -j2 --output-sync=target $(STAMP) fetch
	$(BIN)/python -m embedded.kafka_dist --class-archive
	$(BIN)/python -m embedded

## make test: lint, layers, types ([tool.mypy]), then the whole suite (unit — with the size limits and the one door,
## tests/unit/test_architecture.py —, service, end-to-end, faults, security) on embedded infrastructure, on two
## workers (PYTEST_WORKERS): one runs the platform tests one after another, the other the rest (tests/support/workers.py).
## The sources are compiled once first (and uv compiles the packages it installs): where PYTHONDONTWRITEBYTECODE is set,
## as on the CI machine, each of the suite's hundreds of process starts compiled every module it imported again
## (measured: importing dispatch and followup 2.4 s without the packages' bytecode, 1.4 s with it, 1.2 s with ours too).
## The Kafka server's class archive is recorded once (one node started and stopped, about 12 s; embedded/kafka_dist.py):
## each of the suite's dozens of nodes then starts on a third less CPU.
## Keycloak is fetched without the training start of its ahead-of-time cache: the suite starts it once, and the
## training (31 s) costs more than the cache saves (3.5 s a start); `make run` records it (embedded/keycloak_dist.py).
PYTEST_WORKERS ?= 2
test: chromium dovecot promtool java
	$(MAKE) --no-print-directory -j2 --output-sync=target fetch lint KEYCLOAK_FLAGS=--no-aot-cache
	$(BIN)/python -m embedded.kafka_dist --class-archive
	$(BIN)/python -m compileall -q -j 0 shared services embedded operations tests
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

## Lint, layers and types; `make test` runs them beside the fetch of Kafka and Keycloak (they need only the virtualenv).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## Regenerate the JSON Schemas of the event contracts and the AsyncAPI documents.
contracts: $(STAMP)
	$(BIN)/python -m operations.contracts

clean:
	rm -rf $(VENV) .data .cache .pytest_cache
