"""Fault-injection helpers: the platform as a real process tree (`python -m embedded`), its processes found
with psutil, complaints posted concurrently with retries under one Idempotency-Key each, a wait for the
whole system to go quiet, and exact checks of every read model against what was accepted.

"Quiet" is decided, not guessed: every outbox is empty, no timer is due, every consumer group has
committed up to the end offset (high watermark) of every partition it reads, and the databases' counts
did not move between two such polls. Only then do the exact assertions run, so they cannot race late
deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services.dispatch import consumers as dispatch_consumers
from services.followup import consumers as followup_consumers
from services.intake import consumers as intake_consumers
from services.reporting import consumers as reporting_consumers
from services.reporting.rebuild import rebuild
from shared import topics
from shared.kafka.admin import topic_partitions
from shared.kafka.replay import assign_from_start, read_to_end
from shared.sla import load_sla_table
from tests.support.complaints import complaint, headers

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "dispatch", "followup", "reporting")

#: Every consumer group the platform runs (default group names) and the topics each reads.
GROUP_TOPICS: dict[str, tuple[str, ...]] = {
    subscription.group: subscription.topics
    for service in (intake_consumers, dispatch_consumers, followup_consumers, reporting_consumers)
    for subscription in service.SUBSCRIPTIONS
}
READ_TOPICS = reporting_consumers.READ_MODELS.topics
DEPARTMENT_TOPIC = {
    "repair": topics.WORKORDERS_REPAIR,
    "billing": topics.WORKORDERS_BILLING,
    "customer_service": topics.WORKORDERS_CUSTOMER_SERVICE,
}
#: Texts that classify as normal severity in each department: with the default SLA policy their first
#: timer (a warning at 80 % of the acknowledge limit) is more than an hour away, so none fires in a run.
TEXTS = (
    "家里暖气片一直不热，室温只有16度左右，希望派人来测一下温度。",
    "这个月的水费账单比平时高了三倍，用水量没有变化，怀疑抄表有误，要求核实退费。",
    "昨天上门的维修师傅态度很差，说话不耐烦，还没修好就走了。",
    "请问新房开通供暖需要办理什么手续，去哪里办？",
)
CHANNELS = ("web", "app", "wechat", "counter", "email", "phone")
DISTRICTS = ("heping", "shenhe", "tiexi", "huanggu", "dadong")
#: The reporting tables compared after a rebuild, with a total order for each.
REPORTING_TABLES = {
    "timeline": "event_id",
    "cases": "complaint_id",
    "contacts": "complaint_id",
    "kpi_rollup": "dimension, day, key",
    "kpi_rollup_handling": "dimension, day, key, bucket",
    "hotspot_hourly": "hour, district, category",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the platform ---------------------------------------------------------------------------------------


@dataclass
class Platform:
    """A running `python -m embedded` and what its ready file says."""

    workdir: Path
    proc: subprocess.Popen[bytes]
    info: dict[str, Any]
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return str(self.info["database_url"])

    @property
    def bootstrap(self) -> str:
        return str(self.info["kafka_bootstrap_servers"])

    def url(self, service: str) -> str:
        return str(self.info["services"][service])

    @property
    def logs_dir(self) -> Path:
        return Path(self.info["logs_dir"])

    @property
    def data_dir(self) -> Path:
        return Path(self.info["data_dir"])

    def _children(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=False)

    def service(self, name: str) -> psutil.Process | None:
        """The runner's child running `python -m services.<name>` (None while it is being restarted)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if child.cmdline()[-2:] == ["-m", f"services.{name}"] and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def kafka(self) -> psutil.Process | None:
        """The Apache Kafka node: the runner's Java child running `kafka.Kafka` (None while it is being
        restarted)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if "kafka.Kafka" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def broker(self) -> psutil.Process:
        """The Kafka node, which must be running."""
        node = self.kafka()
        if node is None:
            raise LookupError("no Kafka node (java ... kafka.Kafka) under the runner:\n" + self.output_tail())
        return node

    def postgres(self) -> psutil.Process | None:
        """The postmaster (the runner's child; its backends are the postmaster's children)."""
        for child in self._children():
            with contextlib.suppress(psutil.Error):
                if child.name() == "postgres" and "-D" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                    return child
        return None

    def runner_output(self) -> str:
        return (self.workdir / "runner.out").read_text(errors="replace")

    def output_tail(self, chars: int = 4000) -> str:
        return self.runner_output()[-chars:]

    def log_tail(self, service: str, chars: int = 4000) -> str:
        path = self.logs_dir / f"{service}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def start_platform(timeout: float = 120.0, *, workdir: Path | None = None) -> Platform:
    """`python -m embedded` in a temporary data folder, default SLA policy, every port free-picked; returns
    once the ready file exists and every service's Kafka consumers have started.

    With `workdir` (the `workdir` of an earlier, stopped platform), it runs again on that folder's data:
    the same database, topics, events and committed offsets. The runner's output is appended to its
    `runner.out`."""
    # Outside pytest's basetemp: as root the embedded Postgres runs as another user (see tests/conftest.py).
    reused = workdir is not None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="uc-test-faults-"))
    ready_file = workdir / "ready.json"
    env = {**os.environ, "PLATFORM_DATA_DIR": str(workdir / "data")}
    for var in (
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "POSTGRES_PORT",
        "KAFKA_PORT",
        "EMBEDDED_SERVICES",
        "SLA_POLICY_PATH",
        "SLA_TIME_SCALE",
        "TIMER_POLL_MS",
    ):
        env.pop(var, None)
    for port_env in ("INTAKE_HTTP_PORT", "DISPATCH_HTTP_PORT", "FOLLOWUP_HTTP_PORT", "REPORTING_HTTP_PORT"):
        env[port_env] = "0"  # a free one each: never collide with a `make run` on 8000-8003
    with (workdir / "runner.out").open("ab") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "embedded", "--ready-file", str(ready_file)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out = (workdir / "runner.out").read_text(errors="replace")[-4000:]
            if not reused:
                shutil.rmtree(workdir, ignore_errors=True)
            raise AssertionError("platform did not become ready:\n" + out)
        time.sleep(0.2)
    platform = Platform(workdir, proc, json.loads(ready_file.read_text()))
    try:
        for name in SERVICES:
            wait_service_ready_sync(platform.url(name), deadline=deadline)
            assert_serves_its_port(platform, name)
    except BaseException:
        stop_platform(platform, keep_data=reused)
        raise
    return platform


def assert_serves_its_port(platform: Platform, name: str) -> None:
    """The runner's own `name` process listens on the port of its URL. The runner picks free ports seconds
    before its services bind them; another process (say, a second test run on the machine) can take one
    meanwhile and would then answer in the service's place, with a /readyz that looks the same."""
    port = urlsplit(platform.url(name)).port
    child = platform.service(name)
    with contextlib.suppress(psutil.Error):
        if child is not None and any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections("tcp")
        ):
            return
    holders = []
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            with contextlib.suppress(psutil.Error):
                holders.append(f"pid {conn.pid} {' '.join(psutil.Process(conn.pid).cmdline())[:200]}")
    raise AssertionError(
        f"port {port} of {name} is not served by the runner's {name} process but by {holders or 'nobody'}:\n"
        + platform.output_tail()
    )


def wait_service_ready_sync(url: str, *, deadline: float) -> None:
    last = "no answer"
    with httpx.Client(timeout=3) as client:
        while True:
            try:
                response = client.get(f"{url}/readyz")
                body = response.json()
                if response.status_code == 200 and body.get("kafka") == "connected":
                    return
                last = f"{response.status_code} {body}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not ready with Kafka connected: {last}")
            time.sleep(0.2)


async def wait_service_ready(url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll /readyz until 200 with Kafka consumers started; returns the readiness body."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=3) as client:
        while True:
            try:
                response = await client.get(f"{url}/readyz")
                body = response.json()
                if response.status_code == 200 and body.get("kafka") == "connected":
                    return dict(body)
                last = f"{response.status_code} {body}"
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not ready with Kafka connected: {last}")
            await asyncio.sleep(0.2)


def stop_platform(platform: Platform, *, keep_data: bool = False) -> None:
    """Ctrl-C the runner (services, broker, Postgres stop in order); SIGKILL what is left after 60 s. The
    folder is deleted unless `keep_data` (to start the platform again on it: `start_platform(workdir=...)`)."""
    with contextlib.suppress(psutil.Error, LookupError):
        platform.broker().send_signal(signal.SIGCONT)  # a test that failed mid-outage left it frozen
    for extra in platform.extra:
        stop_process(extra)
    leftovers: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        leftovers = psutil.Process(platform.proc.pid).children(recursive=True)
    if platform.proc.poll() is None:
        platform.proc.send_signal(signal.SIGINT)
        try:
            platform.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(platform.proc.pid, signal.SIGKILL)
            platform.proc.wait(timeout=10)
    for child in leftovers:
        with contextlib.suppress(psutil.Error):
            child.kill()
    if not keep_data:
        shutil.rmtree(platform.workdir, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30.0) -> int:
    """SIGTERM (a graceful leave: consumers commit and leave their groups), SIGKILL after `grace`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


async def kill_and_await_restart(platform: Platform, service: str, timeout: float = 30.0) -> tuple[int, int, float]:
    """SIGKILL the service's process and wait until the runner started its successor (after its backoff).
    Returns (old pid, new pid, seconds until the successor existed). Not waiting for the successor to be
    ready: its consumers rejoin their groups only once the dead member's session expired, and that wait
    belongs in the stream (`wait_quiet` covers it)."""
    victim = platform.service(service)
    assert victim is not None, f"{service} is not running:\n{platform.output_tail()}"
    began = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    deadline = began + timeout
    while True:
        successor = platform.service(service)
        if successor is not None and successor.pid != victim.pid:
            return victim.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"{service} was not restarted by the runner:\n{platform.output_tail()}")
        await asyncio.sleep(0.05)


async def restart_postgres(platform: Platform, timeout: float = 90.0) -> tuple[int, int, float]:
    """Fast shutdown of the postmaster (SIGINT, as `pg_ctl -m fast`); the runner sees it gone and starts
    it again on the same port and data. Returns (old pid, new pid, seconds until it accepted a connection)."""
    postmaster = platform.postgres()
    assert postmaster is not None
    began = time.monotonic()
    postmaster.send_signal(signal.SIGINT)
    deadline = began + timeout
    while True:
        successor = platform.postgres()
        if successor is not None and successor.pid != postmaster.pid:
            try:
                conn = await asyncpg.connect(platform.dsn, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                pass
            else:
                await conn.close()
                return postmaster.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"postgres did not come back:\n{platform.output_tail()}")
        await asyncio.sleep(0.1)


async def kill_kafka_and_await_restart(platform: Platform, timeout: float = 120.0) -> tuple[int, int, float]:
    """SIGKILL the Kafka node, as a crash would (no flush, no clean-shutdown marker); the runner sees it gone
    and starts it again on the same ports and data folder, where Kafka recovers its logs. Returns (old pid,
    new pid, seconds until the new node answered a metadata request and the runner reported the restart)."""
    victim = platform.broker()
    restarts = platform.runner_output().count("kafka restarted on its data")
    began = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    deadline = began + timeout
    while True:
        successor = platform.kafka()
        if (
            successor is not None
            and successor.pid != victim.pid
            and await kafka_answers(platform.bootstrap)
            and platform.runner_output().count("kafka restarted on its data") > restarts
        ):
            return victim.pid, successor.pid, time.monotonic() - began
        if time.monotonic() > deadline:
            raise AssertionError(f"kafka did not come back in {timeout}s:\n{platform.output_tail()}")
        await asyncio.sleep(0.2)


async def kafka_answers(bootstrap: str) -> bool:
    """True when the node answers a metadata request (a fresh client, so no earlier connection helps)."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, request_timeout_ms=3000)
    try:
        await probe.start()
        await probe.topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await probe.stop()


def start_replica(platform: Platform, service: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A second process of `service` with exactly the environment the runner gave the first one (same
    database, broker, consumer groups), on its own free HTTP port. Returns (process, url, log path)."""
    first = platform.service(service)
    assert first is not None
    env = dict(first.environ())
    port = free_port()
    env[f"{service.upper()}_HTTP_PORT"] = str(port)
    log_path = platform.workdir / f"{service}-replica-{port}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform.extra.append(proc)
    return proc, f"http://127.0.0.1:{port}", log_path


def log_lines(path: Path, message: str) -> list[dict[str, Any]]:
    """The JSON log lines of a service whose event is `message`."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if f'"{message}"' not in line:
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("event") == message:
                found.append(record)
    return found


# --- posting complaints ------------------------------------------------------------------------------------


@dataclass
class Submission:
    """One complaint to submit; retried with the same body and Idempotency-Key until answered 202."""

    scenario: str
    index: int
    channel: str
    body: dict[str, Any]
    idempotency_key: str
    complaint_id: str | None = None
    reference_no: str | None = None
    attempts: int = 0
    replayed: bool = False


def make_submissions(scenario: str, n: int) -> list[Submission]:
    """n complaints over every web-ish channel and phone, four texts (all three departments), five
    districts; each from its own account, so none is a duplicate or repeat of another."""
    tag = uuid.uuid4().hex[:6]
    subs = []
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        district = DISTRICTS[(i // len(CHANNELS)) % len(DISTRICTS)]
        body = complaint(
            channel,
            channel_ticket_id=f"{scenario}-{tag}-{i:05d}",
            text=TEXTS[i % len(TEXTS)],
            category_hint=None,
            customer={
                "account_no": f"FLT-{tag}-{i:05d}",
                "name": "王小明",
                "phone": f"139{(i * 7919 + int(tag, 16)) % 10**8:08d}",
                "preferred_contact": "phone",
            },
            location={"address": f"{district}区测试路{i % 200 + 1}号", "district": district},
        )
        subs.append(Submission(scenario, i, channel, body, f"{scenario}-{tag}-{i:05d}"))
    return subs


class Poster:
    """Posts submissions with `concurrency` in flight (optionally at most `rate` per second). Anything but
    a 202 that is not the platform's fault (4xx) fails the run; 5xx and transport errors are retried with
    the same Idempotency-Key, so each submission ends as exactly one accepted complaint."""

    def __init__(
        self,
        intake_url: str,
        submissions: list[Submission],
        *,
        concurrency: int = 16,
        rate: float | None = None,
        give_up_after: float = 150.0,
    ) -> None:
        self.url = intake_url
        self.submissions = submissions
        self.concurrency = concurrency
        self.rate = rate
        self.give_up_after = give_up_after
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        #: (monotonic time, status code or error name) of every attempt's outcome.
        self.outcomes: list[tuple[float, int | str]] = []
        self.accepted = 0
        #: submissions beyond this index are not posted (see `stop_after`)
        self.limit = len(submissions)
        #: submissions taken up for posting so far
        self.taken = 0
        self.started_at = 0.0
        self.finished_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Poster:
        self._task = asyncio.create_task(self.run(), name="poster")
        return self

    async def wait(self) -> None:
        assert self._task is not None
        await self._task

    async def wait_accepted(self, n: int, timeout: float = 120.0) -> None:
        """Until n submissions were accepted (the fault is injected mid-stream, not before or after)."""
        deadline = time.monotonic() + timeout
        while self.accepted < n:
            if self._task is not None and self._task.done():
                await self._task  # raises what stopped it
                raise AssertionError(f"posting finished with only {self.accepted} accepted, waited for {n}")
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.accepted} of {n} accepted in {timeout}s; {self.summary()}")
            await asyncio.sleep(0.02)

    def stop_after(self, more: int) -> None:
        """Post `more` submissions beyond those already taken up, then stop (the rest is never sent)."""
        self.limit = min(self.limit, self.taken + more)

    async def cancel(self) -> None:
        """Stop posting now (a failed scenario); requests in flight are abandoned."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task

    def summary(self) -> str:
        return f"statuses={dict(self.statuses)} errors={dict(self.errors)} accepted={self.accepted}"

    def outcomes_between(self, start: float, end: float) -> Counter[int | str]:
        return Counter(o for t, o in self.outcomes if start <= t <= end)

    async def run(self) -> None:
        self.started_at = time.monotonic()
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        queue: asyncio.Queue[Submission] = asyncio.Queue()
        for sub in self.submissions:
            queue.put_nowait(sub)
        async with httpx.AsyncClient(base_url=self.url, timeout=10, limits=limits) as client:

            async def worker() -> None:
                while not queue.empty():
                    sub = queue.get_nowait()
                    if sub.index >= self.limit:
                        continue
                    self.taken += 1
                    if self.rate:
                        due = self.started_at + sub.index / self.rate
                        await asyncio.sleep(max(0.0, due - time.monotonic()))
                    await self._submit(client, sub)

            async with asyncio.TaskGroup() as group:
                for _ in range(self.concurrency):
                    group.create_task(worker())
        self.finished_at = time.monotonic()

    async def _submit(self, client: httpx.AsyncClient, sub: Submission) -> None:
        deadline = time.monotonic() + self.give_up_after
        backoff = 0.1
        request_headers = headers(sub.channel, **{"Idempotency-Key": sub.idempotency_key})
        while True:
            sub.attempts += 1
            try:
                response = await client.post("/v1/complaints", json=sub.body, headers=request_headers)
            except httpx.TransportError as exc:
                self.errors[type(exc).__name__] += 1
                self.outcomes.append((time.monotonic(), type(exc).__name__))
            else:
                self.statuses[response.status_code] += 1
                self.outcomes.append((time.monotonic(), response.status_code))
                if response.status_code == 202:
                    body = response.json()
                    sub.complaint_id, sub.reference_no = body["complaint_id"], body["reference_no"]
                    sub.replayed = response.headers.get("Idempotent-Replayed") == "true"
                    self.accepted += 1
                    return
                if response.status_code < 500:
                    raise AssertionError(f"submission {sub.idempotency_key}: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {sub.idempotency_key} not accepted in time; {self.summary()}")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)


# --- what the platform accepted ---------------------------------------------------------------------------


@dataclass
class Ledger:
    """Every complaint the platform accepted during the module, and the odd messages injected on purpose."""

    #: complaint id -> channel, for every accepted complaint (HTTP and partner tickets)
    channels: dict[str, str] = field(default_factory=dict)
    #: complaint id -> reference number
    references: dict[str, str] = field(default_factory=dict)
    #: idempotency key -> complaint id, for HTTP submissions
    by_key: dict[str, str] = field(default_factory=dict)
    #: complaint ids that only reporting knows: valid events about complaints that never existed
    orphans: set[str] = field(default_factory=set)
    #: keys of injected poison messages (so topic checks can tell them from platform traffic)
    poison_keys: set[bytes] = field(default_factory=set)
    #: undecodable records injected, per topic (a rebuild skips those on the topics reporting reads)
    undecodable: Counter[str] = field(default_factory=Counter)
    #: the scenario after which the platform never settled (later checks of the module are meaningless)
    unsettled: str | None = None
    #: every customer phone number and name submitted (none may leak outside the restricted places)
    personal: set[str] = field(default_factory=set)

    def add(self, submissions: Iterable[Submission]) -> None:
        for sub in submissions:
            assert sub.complaint_id is not None, f"{sub.idempotency_key} was never accepted"
            assert sub.complaint_id not in self.channels, f"{sub.complaint_id} accepted for two submissions"
            self.channels[sub.complaint_id] = sub.channel
            self.references[sub.complaint_id] = str(sub.reference_no)
            self.by_key[sub.idempotency_key] = sub.complaint_id
            customer = sub.body["customer"]
            self.personal.update(str(customer[k]) for k in ("phone", "name") if customer.get(k))

    def add_complaint(self, complaint_id: str, channel: str, reference_no: str) -> None:
        assert complaint_id not in self.channels
        self.channels[complaint_id] = channel
        self.references[complaint_id] = reference_no

    @property
    def ids(self) -> list[uuid.UUID]:
        return [uuid.UUID(c) for c in self.channels]

    def __len__(self) -> int:
        return len(self.channels)


async def record_accepted(platform: Platform, ledger: Ledger, poster: Poster) -> None:
    """Add what intake accepted to the ledger. Called in a `finally`: after a scenario failed mid-stream the
    poster is cancelled, and submissions whose 202 never arrived are looked up in intake by their key, so
    the ledger holds exactly what exists and later scenarios of the module can still be checked exactly."""
    finished = poster._task is not None and poster._task.done() and not poster._task.cancelled()
    if not finished or poster._task.exception() is not None:  # type: ignore[union-attr]
        await poster.cancel()
        unanswered = {s.idempotency_key: s for s in poster.submissions if s.complaint_id is None and s.attempts}
        if unanswered:
            conn = await asyncpg.connect(platform.dsn)
            try:
                for r in await conn.fetch(
                    "SELECT complaint_id, reference_no, idempotency_key FROM intake.complaints "
                    "WHERE idempotency_key = ANY($1::text[])",
                    list(unanswered),
                ):
                    sub = unanswered[r["idempotency_key"]]
                    sub.complaint_id, sub.reference_no = str(r["complaint_id"]), r["reference_no"]
            finally:
                await conn.close()
    ledger.add(s for s in poster.submissions if s.complaint_id)


# --- Kafka: end offsets, committed offsets, reading topics ----------------------------------------------------


async def read_topics(bootstrap: str, names: Iterable[str]) -> list[ConsumerRecord]:
    """Every record of the topics from offset 0 to the end offsets they had when reading began (see
    shared.kafka.replay)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        partitions = await assign_from_start(consumer, bootstrap, list(names))
        records: list[ConsumerRecord] = []
        async for batch in read_to_end(consumer, partitions, batch_size=5000):
            records += batch
        return records
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap: str, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """What `group` committed per partition (0 when nothing yet); reads only, joins no group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        return {tp: (await consumer.committed(tp)) or 0 for tp in partitions}
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's end offset (high watermark): the offset its next record will get. With `acks=all`
    publishes and no transactions, every record below it is readable, and none is above it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(list(partitions)))
    finally:
        await consumer.stop()


async def consumer_lags(bootstrap: str) -> dict[tuple[str, str, int], int]:
    """Per (group, topic, partition): records not yet committed by the group (only non-zero entries)."""
    partitions: dict[str, list[TopicPartition]] = defaultdict(list)
    for tp in await topic_partitions(bootstrap, {t for ts in GROUP_TOPICS.values() for t in ts}):
        partitions[tp.topic].append(tp)
    committed: dict[str, dict[TopicPartition, int]] = dict(
        zip(
            GROUP_TOPICS,
            await asyncio.gather(
                *(
                    committed_offsets(bootstrap, group, [tp for t in ts for tp in partitions[t]])
                    for group, ts in GROUP_TOPICS.items()
                )
            ),
            strict=True,
        )
    )
    # After the commits: a record published in between shows as lag (not quiet yet), never as a false end.
    ends = await end_offsets(bootstrap, {tp for offsets in committed.values() for tp in offsets})
    lags = {}
    for group, offsets in committed.items():
        for tp, offset in offsets.items():
            if ends[tp] != offset:
                lags[(group, tp.topic, tp.partition)] = ends[tp] - offset
    return lags


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def produce_to(sender: AIOKafkaProducer, topic: str, value: bytes, *, key: bytes, partition: int) -> int:
    """Publish one record to an explicit partition; returns its offset."""
    meta = await sender.send_and_wait(topic, value=value, key=key, partition=partition)
    return int(meta.offset)


# --- quiet, then exact ----------------------------------------------------------------------------------------


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM intake.outbox) AS intake_outbox,"
        " (SELECT count(*) FROM dispatch.outbox) AS dispatch_outbox,"
        " (SELECT count(*) FROM followup.outbox) AS followup_outbox,"
        " (SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
        "   AND due_at <= now()) AS timers_due,"
        " (SELECT count(*) FROM intake.complaints) AS complaints,"
        " (SELECT count(*) FROM dispatch.work_orders) AS work_orders,"
        " (SELECT count(*) FROM followup.timers) AS timers,"
        " (SELECT count(*) FROM followup.contacts) AS followup_contacts,"
        " (SELECT count(*) FROM reporting.timeline) AS timeline,"
        " (SELECT count(*) FROM reporting.cases) AS reporting_cases"
    )
    return dict(row)


async def wait_quiet(platform: Platform, timeout: float = 60.0) -> dict[str, int]:
    """Until nothing moves: outboxes empty, no timer due, every group committed to the end offset of every
    partition it reads, and the same counts in two polls in a row. Returns those counts."""
    deadline = time.monotonic() + timeout
    previous: dict[str, int] | None = None
    lags: dict[tuple[str, str, int], int] = {}
    counts: dict[str, int] = {}
    while True:
        try:
            conn = await asyncpg.connect(platform.dsn, timeout=5)
            try:
                counts = await _counts(conn)
                lags = await consumer_lags(platform.bootstrap)
                after = await _counts(conn)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            counts, after, lags = {"error": repr(exc)}, {}, {}  # type: ignore[dict-item]
        busy = any(counts.get(k, 1) for k in ("intake_outbox", "dispatch_outbox", "followup_outbox", "timers_due"))
        if not busy and not lags and counts == after and counts == previous:
            return counts
        previous = counts if counts == after else None
        if time.monotonic() > deadline:
            by_group: dict[str, int] = defaultdict(int)
            for (group, _, _), lag in lags.items():
                by_group[group] += lag
            raise AssertionError(
                f"platform not quiet in {timeout}s: counts={counts} lag by group={dict(by_group)}\n"
                f"runner:\n{platform.output_tail(1500)}"
            )
        await asyncio.sleep(0.3)


def expected_timers(order: asyncpg.Record, share: float) -> set[tuple[str, str, int, datetime, datetime | None]]:
    """(kind, stage, level, due_at, deadline) of the timers followup schedules for a freshly assigned work
    order: a warning at `share` of each stage's limit and a first-rung breach at the limit, for every stage
    the policy sets, plus an interim reply when one is due (phone complaints)."""
    expected = set()
    for stage in ("acknowledge", "on_site", "resolve"):
        deadline = order[f"{stage}_by"]
        if deadline is None:
            continue
        warn_at = order["starts_at"] + (deadline - order["starts_at"]) * share
        expected.add(("warning", stage, 0, warn_at, deadline))
        expected.add(("breach", stage, 1, deadline, deadline))
    if order["interim_reply_by"] is not None:
        expected.add(("interim_reply", "interim_reply", 0, order["interim_reply_by"], order["interim_reply_by"]))
    return expected


async def assert_exact(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """Every accepted complaint, exactly once everywhere; nothing else. Call after `wait_quiet`."""
    n = len(ledger)
    ids = ledger.ids
    conn = await asyncpg.connect(platform.dsn)
    try:
        # intake: one complaint per accepted submission, nothing more (a retry never created a second one)
        intake = {
            str(r["complaint_id"]): r for r in await conn.fetch("SELECT * FROM intake.complaints ORDER BY accepted_at")
        }
        assert set(intake) == set(ledger.channels), (
            f"intake holds {len(intake)} complaints, {n} were accepted; "
            f"unexpected {sorted(set(intake) - set(ledger.channels))[:5]}, "
            f"missing {sorted(set(ledger.channels) - set(intake))[:5]}"
        )
        for key, complaint_id in ledger.by_key.items():
            assert intake[complaint_id]["idempotency_key"] == key
        for complaint_id, reference in ledger.references.items():
            assert intake[complaint_id]["reference_no"] == reference

        # dispatch: one case and exactly one work order (cycle 1) per complaint
        cases = await conn.fetch("SELECT complaint_id, cycle, linked_to FROM dispatch.cases")
        assert len(cases) == n and {str(r["complaint_id"]) for r in cases} == set(ledger.channels)
        assert all(r["cycle"] == 1 and r["linked_to"] is None for r in cases)
        doubled = await conn.fetch(
            "SELECT complaint_id, cycle, count(*) FROM dispatch.work_orders GROUP BY 1, 2 HAVING count(*) > 1"
        )
        assert not doubled, f"{len(doubled)} complaints with more than one work order in a cycle: {doubled[:5]}"
        orders = {
            str(r["complaint_id"]): r
            for r in await conn.fetch(
                "SELECT work_order_id, complaint_id, cycle, department, category, severity, status, starts_at, "
                "acknowledge_by, on_site_by, resolve_by, interim_reply_by FROM dispatch.work_orders"
            )
        }
        assert len(orders) == n and set(orders) == set(ledger.channels), f"{len(orders)} work orders for {n}"
        assert {(r["cycle"], r["status"]) for r in orders.values()} == {(1, "assigned")}

        # followup: each work order tracked once, with exactly the timers its deadlines imply, none fired
        tracked = {
            r["work_order_id"]: r
            for r in await conn.fetch(
                "SELECT work_order_id, complaint_id, cycle, starts_at, acknowledge_by, on_site_by, resolve_by, "
                "interim_reply_by, status FROM followup.work_orders"
            )
        }
        assert set(tracked) == {r["work_order_id"] for r in orders.values()}
        share = load_sla_table().warning_share
        timers: dict[uuid.UUID, list[tuple[Any, ...]]] = defaultdict(list)
        for r in await conn.fetch(
            "SELECT subject_id, kind, stage, level, due_at, deadline, fired_at, cancelled_at FROM followup.timers"
        ):
            timers[r["subject_id"]].append(tuple(r)[1:])
        assert set(timers) <= set(tracked), "timers for work orders followup does not track"
        expected_total = 0
        for complaint_id, order in orders.items():
            mine = tracked[order["work_order_id"]]
            for column in ("starts_at", "acknowledge_by", "on_site_by", "resolve_by", "interim_reply_by"):
                assert mine[column] == order[column], (complaint_id, column)
            expected = expected_timers(order, share)
            expected_total += len(expected)
            actual = timers.get(order["work_order_id"], [])
            assert len(actual) == len(expected), (complaint_id, sorted(actual), sorted(expected))
            assert all(t[5] is None and t[6] is None for t in actual), f"a timer fired or was cancelled: {actual}"
            got = {t[:5] for t in actual}
            for kind, stage, level, due_at, deadline in expected:
                match = [g for g in got if g[:3] == (kind, stage, level)]
                assert len(match) == 1, (complaint_id, kind, stage, level, sorted(got))
                assert abs(match[0][3] - due_at) <= timedelta(milliseconds=1) and match[0][4] == deadline
        assert sum(len(v) for v in timers.values()) == expected_total
        contacts = await conn.fetchval("SELECT count(*) FROM followup.contacts WHERE complaint_id = ANY($1)", ids)
        assert contacts == n == await conn.fetchval("SELECT count(*) FROM followup.contacts")
        assert await conn.fetchval("SELECT count(*) FROM followup.cases") == n
        assert await conn.fetchval("SELECT count(*) FROM followup.escalations") == 0
        assert await conn.fetchval("SELECT count(*) FROM followup.callbacks") == 0

        # reporting: one case per complaint as dispatch routed it, three events each, KPIs counting each once
        seen = {
            str(r["complaint_id"]): r
            for r in await conn.fetch(
                "SELECT complaint_id, reference_no, channel, status, cycle, work_order_id, department, category, "
                "severity, accepted_at FROM reporting.cases"
            )
        }
        assert set(seen) == set(ledger.channels) | ledger.orphans, (
            f"reporting has {len(seen)} cases for {n} complaints (+{len(ledger.orphans)} orphans)"
        )
        for complaint_id, order in orders.items():
            case = seen[complaint_id]
            assert (case["status"], case["cycle"], case["work_order_id"]) == ("assigned", 1, order["work_order_id"])
            assert (case["department"], case["category"], case["severity"]) == (
                order["department"],
                order["category"],
                order["severity"],
            )
            assert case["reference_no"] == ledger.references[complaint_id]
            assert case["channel"] == ledger.channels[complaint_id]
        events: dict[str, list[str]] = defaultdict(list)
        for r in await conn.fetch(
            "SELECT complaint_id, event_type FROM reporting.timeline WHERE complaint_id = ANY($1)", ids
        ):
            events[str(r["complaint_id"])].append(r["event_type"])
        wanted = ["complaint.received", "complaint.routed", "workorder.assigned"]
        wrong = {c: sorted(e) for c, e in events.items() if sorted(e) != wanted}
        assert len(events) == n and not wrong, f"timelines not exactly {wanted}: {list(wrong.items())[:5]}"
        assert await conn.fetchval("SELECT count(*) FROM reporting.contacts") == n
        rollup = await conn.fetch(
            "SELECT dimension, key, sum(received) AS received, sum(routed) AS routed, "
            "sum(acknowledged + resolved + callbacks_done + satisfied + dissatisfied + reopened + closed) AS later "
            "FROM reporting.kpi_rollup GROUP BY 1, 2"
        )
        by_dimension: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for r in rollup:
            assert r["later"] == 0, f"KPI counters beyond routing moved: {dict(r)}"
            by_dimension[r["dimension"]][r["key"]] = (r["received"], r["routed"])
        assert by_dimension["all"] == {"*": (n, n)}, f"kpi_rollup 'all': {by_dimension['all']} for {n} routed"
        departments = Counter(r["department"] for r in orders.values())
        assert by_dimension["department"] == {k: (v, v) for k, v in departments.items()}
        categories = Counter(r["category"] for r in orders.values())
        assert by_dimension["category"] == {k: (v, v) for k, v in categories.items()}
        channels = Counter(ledger.channels.values())
        assert by_dimension["channel"] == {k: (v, v) for k, v in channels.items()}
        assert sum(r[0] for r in by_dimension["district"].values()) == n
        assert await conn.fetchval("SELECT count(*) FROM reporting.kpi_rollup_handling") == 0
        assert await conn.fetchval("SELECT coalesce(sum(n), 0) FROM reporting.hotspot_hourly") == n
        return {"complaints": n, "timers": expected_total, **{f"dept_{k}": v for k, v in departments.items()}}
    finally:
        await conn.close()


async def assert_topics(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """On the topics: every accepted complaint was published once per event (one event id each; the same
    id redelivered is allowed, a second id is a doubled effect) and nothing else but injected poison."""
    names = [
        topics.COMPLAINT_RECEIVED,
        topics.COMPLAINT_CONTACT,
        topics.COMPLAINT_ROUTED,
        *DEPARTMENT_TOPIC.values(),
    ]
    records = await read_topics(platform.bootstrap, names)
    ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    copies = 0
    strangers = set()
    for r in records:
        if r.key in ledger.poison_keys:
            continue
        key = (r.key or b"").decode()
        if key not in ledger.channels:
            strangers.add((r.topic, key))
            continue
        event = json.loads(r.value)
        before = len(ids[(r.topic, key, event["event_type"])])
        ids[(r.topic, key, event["event_type"])].add(event["event_id"])
        copies += before == len(ids[(r.topic, key, event["event_type"])])
    assert not strangers, f"records for complaints nobody accepted: {sorted(strangers)[:5]}"
    conn = await asyncpg.connect(platform.dsn)
    try:
        department = {
            str(r["complaint_id"]): r["department"]
            for r in await conn.fetch("SELECT complaint_id, department FROM dispatch.work_orders")
        }
    finally:
        await conn.close()
    wrong = []
    for complaint_id in ledger.channels:
        expected = {
            (topics.COMPLAINT_RECEIVED, "complaint.received"),
            (topics.COMPLAINT_CONTACT, "complaint.contact"),
            (topics.COMPLAINT_ROUTED, "complaint.routed"),
            (DEPARTMENT_TOPIC[department[complaint_id]], "workorder.assigned"),
        }
        got = {(t, e): len(v) for (t, k, e), v in ids.items() if k == complaint_id}
        if got != dict.fromkeys(expected, 1):
            wrong.append((complaint_id, got))
    assert not wrong, f"{len(wrong)} complaints not published exactly once per event: {wrong[:3]}"
    return {"records": len(records), "redelivered_copies": copies}


async def reporting_snapshot(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {order}")]
        for table, order in REPORTING_TABLES.items()
    }


async def settle_and_check(platform: Platform, ledger: Ledger, scenario: str, began: float) -> None:
    """After a scenario's stream: wait until quiet, then the exact checks of the whole module's ledger."""
    posted = time.monotonic()
    try:
        await wait_quiet(platform)
    except AssertionError:
        ledger.unsettled = scenario
        raise
    quiet = time.monotonic()
    exact = await assert_exact(platform, ledger)
    published = await assert_topics(platform, ledger)
    print(
        f"\n[{scenario}] {time.monotonic() - began:.1f}s (quiet after {quiet - posted:.1f}s, "
        f"checks {time.monotonic() - quiet:.1f}s); {exact}; {published}"
    )


async def assert_rebuild_equals_live(platform: Platform, ledger: Ledger) -> None:
    """Reporting rebuilt from offset 0 into a side schema equals the live read models, row by row, table
    by table. Compared once the platform is quiet, and nothing may move while the rebuild runs."""
    if ledger.unsettled:
        raise AssertionError(f"the platform never settled after {ledger.unsettled!r}: nothing stable to compare")
    began = time.monotonic()
    quiet = await wait_quiet(platform)
    counts = await rebuild(platform.dsn, platform.bootstrap, "reporting_check", "Asia/Shanghai")
    conn = await asyncpg.connect(platform.dsn)
    try:
        live = await reporting_snapshot(conn, "reporting")
        rebuilt = await reporting_snapshot(conn, "reporting_check")
    finally:
        await conn.close()
    assert await wait_quiet(platform) == quiet, "nothing moved while rebuilding"
    for table in REPORTING_TABLES:
        only_live = set(live[table]) - set(rebuilt[table])
        only_rebuilt = set(rebuilt[table]) - set(live[table])
        assert rebuilt[table] == live[table], (
            f"{table} differs after the rebuild: {len(live[table])} live rows, {len(rebuilt[table])} rebuilt",
            sorted(only_live, key=repr)[:3],
            sorted(only_rebuilt, key=repr)[:3],
        )
    assert counts["skipped_invalid"] == sum(n for t, n in ledger.undecodable.items() if t in READ_TOPICS), counts
    assert len(live["cases"]) == len(ledger) + len(ledger.orphans)
    assert len(live["timeline"]) == 3 * len(ledger) + len(ledger.orphans)
    print(f"\n[rebuild] {counts}; {len(live['timeline'])} events; {time.monotonic() - began:.1f}s")


async def assert_no_personal_data(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """After the module's faults: no customer phone number or name in any log line of any process (services,
    replicas, runner), in any dead letter, or on any topic but the restricted ones (departments get masked
    contact data on their work-order topics)."""
    assert ledger.personal, "nothing to look for"
    # JSON may carry a name escaped (\\uXXXX) as well as raw: look for both spellings.
    needles = any_of({value for item in ledger.personal for value in (item, json.dumps(item)[1:-1])})
    logs = [*platform.logs_dir.glob("*.log"), *platform.workdir.glob("*.log"), platform.workdir / "runner.out"]
    leaks = [
        (path.name, needle)
        for path in logs
        for needle in sorted({m.group() for m in needles.finditer(path.read_text(errors="replace"))})
    ]
    assert not leaks, f"personal data in logs: {leaks[:5]}"
    shared_topics = [t for t in topics.ALL_TOPICS if t not in topics.RESTRICTED_TOPICS]
    records = await read_topics(platform.bootstrap, shared_topics)
    leaked = [
        (r.topic, r.offset, m.group())
        for r in records
        for m in [needles.search((r.value or b"").decode(errors="replace") + repr(r.headers))]
        if m
    ]
    assert not leaked, f"personal data on topics other departments read, or in dead letters: {leaked[:5]}"
    return {"log_files": len(logs), "records": len(records), "values_searched": len(ledger.personal)}


def any_of(needles: Iterable[str]) -> re.Pattern[str]:
    """One pattern that matches wherever any of the literal `needles` occurs. Built as a trie (`139(?:12|34)`),
    so a scan costs about the text's length instead of text length x thousands of needles."""
    trie: dict[str, Any] = {}
    for needle in needles:
        assert needle, "an empty needle matches everywhere"
        node = trie
        for char in needle:
            node = node.setdefault(char, {})
        node[""] = {}  # a needle ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a needle ends here; longer ones go on
            return body + "?" if len(branches) > 1 else "(?:" + body + ")?"
        return body

    assert trie, "nothing to look for"
    return re.compile(pattern(trie))
