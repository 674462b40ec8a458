"""Record what the pinned exporters publish, into this folder: `make exporter-scrapes` (after bumping an exporter).

The infrastructure alert rules (deploy/observability/prometheus/alerts.yml) are checked against these recordings
(tests/observability/test_deploy_observability.py), because no exporter runs in `make test`: building two Go
exporters takes minutes. Each is scraped here for real: postgres_exporter against the embedded PostgreSQL,
node_exporter with docker-compose.yml's flags, and the JMX exporter's Java agent inside the embedded Kafka node with
deploy/observability/kafka/jmx-exporter.yml. A recording keeps every family's TYPE line and the samples of the
families the rules read (to show their labels), without the host's own filesystems or the template databases."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import asyncpg
import yaml

from embedded.broker import EmbeddedBroker
from embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ALERTS = ROOT / "deploy" / "observability" / "prometheus" / "alerts.yml"
JMX_CONFIG = ROOT / "deploy" / "observability" / "kafka" / "jmx-exporter.yml"
INFRASTRUCTURE = "utility-complaints-infrastructure"


def rule_metrics() -> set[str]:
    """The exporters' metric names the infrastructure rules read."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    exprs = " ".join(r["expr"] for g in groups if g["name"] == INFRASTRUCTURE for r in g["rules"])
    return set(re.findall(r"\b((?:pg|node|kafka)_[a-z_]+)\b", exprs))


def scrape(url: str, deadline_s: float = 60.0) -> str:
    """The exporter's /metrics, once it answers."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=20) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def running(argv: list[str], env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def record(name: str, source: str, body: str, *, drop: re.Pattern[str] | None = None) -> None:
    names = rule_metrics()
    lines = body.splitlines()
    types = [line for line in lines if line.startswith("# TYPE ")]
    samples = [
        line
        for line in lines
        if not line.startswith("#")
        and re.split(r"[{ ]", line, maxsplit=1)[0] in names
        and not (drop and drop.search(line))
    ]
    head = [
        f"# Recorded on {date.today().isoformat()} from {source} (tests/observability/exporter_scrapes/record.py).",
        "# Every family's TYPE line, and the samples of the families the infrastructure alert rules read (their label",
        "# names). tests/observability/test_deploy_observability.py checks each metric those rules name against these.",
    ]
    (HERE / name).write_text("\n".join(head + types + samples) + "\n", encoding="utf-8")
    print(f"{name}: {len(types)} families, {len(samples)} samples")


def postgres(exporter: Path, version: str, work: Path) -> None:
    (work / "postgres").mkdir(mode=0o777)  # as root the server runs as its own user, and writes its log here
    (work / "postgres").chmod(0o777)
    server = EmbeddedPostgres(work / "postgres" / "data", durable=False)
    server.start()
    try:
        asyncio.run(_dead_rows(server.dsn))
        port = free_port()
        env = dict(os.environ, DATA_SOURCE_NAME=f"{server.dsn}?sslmode=disable")
        with running([str(exporter), f"--web.listen-address=127.0.0.1:{port}"], env):
            body = scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.stop()
    source = f"postgres_exporter {version} (built from the Go module proxy) against the embedded PostgreSQL"
    record(f"postgres_exporter-{version.lstrip('v')}.prom", source, body, drop=_TEMPLATE_DATABASES)


_TEMPLATE_DATABASES = re.compile(r'datname="(postgres|template0|template1)"')


async def _dead_rows(dsn: str) -> None:
    """A processed_events table with dead rows, so the per-table series have a sample."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE SCHEMA dispatch; CREATE TABLE dispatch.processed_events (id int)")
        await conn.execute("INSERT INTO dispatch.processed_events SELECT generate_series(1, 1000)")
        await conn.execute("DELETE FROM dispatch.processed_events WHERE id <= 500")
    finally:
        await conn.close()


def node(exporter: Path, version: str) -> None:
    """With the flags docker-compose.yml gives its node-exporter (compose's `$$` is a `$`)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    flags = [flag.replace("$$", "$") for flag in services["node-exporter"]["command"]]
    port = free_port()
    with running([str(exporter), f"--web.listen-address=127.0.0.1:{port}", *flags]):
        body = scrape(f"http://127.0.0.1:{port}/metrics")
    source = f"node_exporter {version} (built from the Go module proxy) with docker-compose.yml's flags"
    record(f"node_exporter-{version.lstrip('v')}.prom", source, body, drop=re.compile(r'fstype="tmpfs"'))


def kafka(agent: Path, work: Path) -> None:
    """The agent in the embedded node's JVM, on its storage format too, as compose's broker has it."""
    version = _agent_version()
    port = free_port()
    option = f"-javaagent:{agent}=127.0.0.1:{port}:{JMX_CONFIG}"

    class WithAgent(EmbeddedBroker):
        def _java_command(self, java: Path, libs: Path, main: str) -> list[str]:
            command = super()._java_command(java, libs, main)
            at = command.index("-cp")
            return [*command[:at], option, *command[at:]]

    broker = WithAgent(work / "kafka", heap_mb=384)
    broker.start()
    try:
        body = scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        broker.stop()
    kafka_version = re.search(r"apache/kafka:([\d.]+)", (ROOT / "docker-compose.yml").read_text())
    assert kafka_version is not None
    source = (
        f"the JMX exporter Java agent {version} (Maven Central) with deploy/observability/kafka/jmx-exporter.yml in "
        f"the embedded Apache Kafka {kafka_version[1]} node (KRaft, broker and controller)"
    )
    record(f"jmx_prometheus_javaagent-{version}_kafka-{kafka_version[1]}.prom", source, body)


def _agent_url_and_checksum() -> tuple[str, str]:
    """The agent deploy/Dockerfile bakes into the image, and its pinned SHA-256."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    found = re.search(r"--checksum=sha256:([0-9a-f]{64}).*?\s(https://\S+\.jar)", dockerfile, re.S)
    assert found, "deploy/Dockerfile fetches no JMX exporter agent"
    return found[2], found[1]


def _agent_version() -> str:
    url, _ = _agent_url_and_checksum()
    found = re.search(r"jmx_prometheus_javaagent-([\d.]+)\.jar$", url)
    assert found, url
    return found[1]


def fetch_agent(to: Path) -> Path:
    """The Dockerfile's agent jar into `to` (kept), checked against its SHA-256."""
    url, checksum = _agent_url_and_checksum()
    jar = to / url.rsplit("/", 1)[1]
    if not jar.is_file():
        to.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=120) as answer:
            data = answer.read()
        if hashlib.sha256(data).hexdigest() != checksum:
            raise SystemExit(f"{url}: SHA-256 differs from deploy/Dockerfile's")
        jar.write_bytes(data)
    return jar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-exporter", type=Path, required=True)
    parser.add_argument("--postgres-exporter-version", required=True)
    parser.add_argument("--node-exporter", type=Path, required=True)
    parser.add_argument("--node-exporter-version", required=True)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "exporters")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exporter-scrapes-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        postgres(args.postgres_exporter, args.postgres_exporter_version, work)
        node(args.node_exporter, args.node_exporter_version)
        kafka(fetch_agent(args.cache), work)


if __name__ == "__main__":
    main()
