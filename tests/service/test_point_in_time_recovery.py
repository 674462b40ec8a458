"""Point-in-time recovery with `operations.backup` on a real PostgreSQL of the test's own: a base backup, WAL archived
by `archive_command` or streamed by `pg_receivewal`, restored to a target time or to the end of the archive."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from embedded._process import run_sync
from embedded.postgres import EmbeddedPostgres
from operations import backup

pytestmark = pytest.mark.timeout(180)


def sql(postgres: EmbeddedPostgres, query: str) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(postgres.dsn, timeout=10)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    return run_sync(fetch)


def numbers(postgres: EmbeddedPostgres) -> list[int]:
    return [row[0] for row in sql(postgres, "SELECT n FROM drill ORDER BY n")]


def writable_dir(path: Path) -> Path:
    """A directory the server's own user (`pgserver` when we are root) can write WAL into."""
    path.mkdir()
    path.chmod(0o777)
    return path


def wait_archived(postgres: EmbeddedPostgres, segment: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (last := sql(postgres, "SELECT last_archived_wal FROM pg_stat_archiver")[0][0]) != segment:
        assert time.monotonic() < deadline, f"{segment} not archived; last archived: {last}"
        time.sleep(0.1)


def start_restored(postgres: EmbeddedPostgres, timeout: float = 60.0) -> None:
    """Start a restored cluster and wait for the end of its recovery: it accepts connections (hot standby) while it
    still replays, and is promoted only once it has reached its target."""
    postgres.start()
    deadline = time.monotonic() + timeout
    while sql(postgres, "SELECT pg_is_in_recovery()")[0][0]:
        assert time.monotonic() < deadline, "still in recovery"
        time.sleep(0.1)


@pytest.fixture
def archiving(tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, Path]]:
    """A server archiving every finished WAL segment into `wal/` (archive_command), with a table `drill`."""
    archive = writable_dir(tmp_path / "wal")
    postgres = EmbeddedPostgres(tmp_path / "pg" / "data", durable=False, log_path=tmp_path / "postgres.log")
    postgres.start()
    try:
        sql(postgres, "ALTER SYSTEM SET archive_mode = 'on'")
        sql(postgres, f"ALTER SYSTEM SET archive_command = 'cp %p {archive}/%f'")
        postgres.restart()
        sql(postgres, "CREATE TABLE drill (n int PRIMARY KEY)")
        yield postgres, archive
    finally:
        postgres.stop()


def test_a_restore_replays_the_archive_to_its_end_or_to_a_target_time(
    archiving: tuple[EmbeddedPostgres, Path], tmp_path: Path
) -> None:
    postgres, archive = archiving
    assert backup.main(["base", "--dsn", postgres.dsn, "--to", str(tmp_path / "base")]) == 0
    started = backup.backup_started_at(tmp_path / "base")
    sql(postgres, "INSERT INTO drill SELECT generate_series(1, 10)")
    target: datetime = sql(postgres, "SELECT clock_timestamp()")[0][0]
    sql(postgres, "INSERT INTO drill SELECT generate_series(11, 20)")
    segment = sql(postgres, "SELECT pg_walfile_name(pg_switch_wal())")[0][0]
    wait_archived(postgres, segment)
    postgres.stop()
    assert started <= target

    restore = ["restore", "--backup", str(tmp_path / "base"), "--data-dir", str(postgres.data_dir)]
    assert backup.main([*restore, "--wal-archive", str(archive)]) == 0
    start_restored(postgres)
    assert numbers(postgres) == list(range(1, 21)), "without a target: to the end of the archive"
    sql(postgres, "INSERT INTO drill VALUES (21)")  # promoted: it takes writes again
    kept = sorted(postgres.data_dir.parent.glob("data.before-restore-*"))
    assert len(kept) == 1 and (kept[0] / "PG_VERSION").exists(), "the data it replaced is kept"

    # The promoted server began a new timeline (its history is archived too); the target lies before its branch.
    postgres.stop()
    assert backup.main([*restore, "--wal-archive", str(archive), "--target-time", target.isoformat()]) == 0
    start_restored(postgres)
    assert numbers(postgres) == list(range(1, 11)), "replayed up to the target time, not past it"


def test_a_restore_from_a_streamed_archive_loses_nothing_committed(tmp_path: Path) -> None:
    """`pg_receivewal` streams the segment being written (`.partial`): what committed just before the loss is in the
    archive although its segment never finished."""
    archive = writable_dir(tmp_path / "stream")
    postgres = EmbeddedPostgres(tmp_path / "pg" / "data", durable=False, log_path=tmp_path / "postgres.log")
    postgres.start()
    receiver: subprocess.Popen[bytes] | None = None
    try:
        sql(postgres, "CREATE TABLE drill (n int PRIMARY KEY)")
        assert backup.main(["base", "--dsn", postgres.dsn, "--to", str(tmp_path / "base")]) == 0
        receiver = subprocess.Popen(
            [
                str(backup.postgres_bin("pg_receivewal")),
                "-d",
                postgres.dsn,
                "-D",
                str(archive),
                "--no-loop",
                "--synchronous",
            ],
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
            stderr=subprocess.PIPE,
        )
        sql(postgres, "INSERT INTO drill SELECT generate_series(1, 5)")
        flushed = sql(postgres, "SELECT pg_current_wal_flush_lsn()::text")[0][0]
        deadline = time.monotonic() + 30
        while not sql(postgres, f"SELECT 1 FROM pg_stat_replication WHERE flush_lsn >= '{flushed}'"):
            assert receiver.poll() is None and time.monotonic() < deadline, "pg_receivewal did not catch up"
            time.sleep(0.1)
    finally:
        postgres.stop()
        if receiver is not None:
            receiver.wait(timeout=30)
    assert list(archive.glob("*.partial")), "the last segment is still being written"

    args = ["restore", "--backup", str(tmp_path / "base"), "--data-dir", str(postgres.data_dir)]
    assert backup.main([*args, "--wal-archive", str(archive)]) == 0
    start_restored(postgres)
    try:
        assert numbers(postgres) == [1, 2, 3, 4, 5]
    finally:
        postgres.stop()
