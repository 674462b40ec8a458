"""`python -m operations.backup base|restore`: Postgres base backups and their restore, the first half of a restore
(issue 26; the second half, which makes Kafka and the restored database agree again, is `operations.reconcile`).

- `base --to DIR` takes a base backup of the running cluster with `pg_basebackup` (plain format, the WAL it needs
  streamed alongside, a fast checkpoint) and writes `DIR/backup.json`: when it started — the point the restored
  database is at least as new as, and so the time `operations.reconcile` rewinds the consumer groups to.
- `restore --backup DIR --data-dir PGDATA` puts that backup in the place of a stopped cluster's data directory; the
  old directory is kept beside it (`PGDATA.before-restore-<time>`), never deleted. With `--wal-archive ARCHIVE`
  (a `pg_receivewal` directory, or `archive_command`'s target) the server replays the archived WAL on its next start
  — point-in-time recovery — up to `--target-time` or, without it, to the end of the archive; then it is promoted.

Why a tool and not a runbook of shell lines: the steps that are easy to get wrong under pressure (replaying a
`pg_receivewal` `.partial` segment, writing `recovery.signal`, keeping the old data) are done the same way every
time, and a drill (`tests/faults/test_restore_drill.py`) runs exactly what an operator runs. The runbook is in
`deploy/README.md` ("Backup and restore").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from operations.times import aware_datetime

#: What `base` writes beside the backup's files.
MANIFEST = "backup.json"
#: `pg_basebackup`'s plain-format label, whose START TIME line is when the backup began.
_LABEL = "backup_label"


class BackupError(RuntimeError):
    """A backup could not be taken or restored; the message says what to fix."""


def postgres_bin(name: str, bin_dir: Path | None = None) -> Path:
    """A PostgreSQL client binary: from `bin_dir`, else the embedded wheel's (the version `make run`'s server is:
    `pg_basebackup` refuses a server of another major version), else on PATH (a production image)."""
    if bin_dir is not None:
        return bin_dir / name
    try:
        from embedded.postgres import _bin_dir

        return _bin_dir(None) / name
    except ImportError:  # no embedded wheel: a production image, whose PATH has the server's own tools
        return Path(shutil.which(name) or name)


def take_base_backup(dsn: str, target: Path, bin_dir: Path | None = None) -> datetime:
    """Back the cluster behind `dsn` up into `target` (which must not exist); returns when the backup started."""
    if target.exists():
        raise BackupError(f"{target} exists: a base backup goes into a new directory")
    data = target / "data"
    data.parent.mkdir(parents=True)
    args = [str(postgres_bin("pg_basebackup", bin_dir)), "-d", dsn, "-D", str(data), "-Fp", "-X", "stream"]
    args += ["-c", "fast", "-l", f"operations.backup {datetime.now(UTC).isoformat()}", "--no-password"]
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 - our arguments
    if result.returncode != 0:
        raise BackupError(f"pg_basebackup failed (exit {result.returncode}): {result.stderr.strip()}")
    started = _label_start(data / _LABEL)
    (target / MANIFEST).write_text(json.dumps({"started_at": started.isoformat(), "format": "plain"}) + "\n")
    return started


def backup_started_at(backup: Path) -> datetime:
    """When the base backup in `backup` began (its manifest)."""
    return datetime.fromisoformat(json.loads((backup / MANIFEST).read_text())["started_at"])


def _label_start(label: Path) -> datetime:
    """The START TIME of a backup label: `START TIME: 2026-12-06 12:40:01 UTC`."""
    for line in label.read_text().splitlines():
        if line.startswith("START TIME:"):
            return datetime.strptime(line.split(":", 1)[1].strip(), "%Y-%m-%d %H:%M:%S %Z").replace(tzinfo=UTC)
    raise BackupError(f"{label} has no START TIME line")


def restore(
    backup: Path,
    data_dir: Path,
    *,
    wal_archive: Path | None = None,
    target_time: datetime | None = None,
) -> Path | None:
    """Put `backup` in place of the stopped cluster in `data_dir`; returns where the old data was kept (None: there
    was none). With `wal_archive`, the server's next start replays it (to `target_time`, else to its end) and then
    promotes."""
    if (data_dir / "postmaster.pid").exists():
        raise BackupError(f"{data_dir}/postmaster.pid exists: stop the server first (or remove a stale pid file)")
    if target_time is not None and wal_archive is None:
        raise BackupError("--target-time needs --wal-archive: a base backup alone restores to its own end")
    kept = _keep_aside(data_dir) if data_dir.exists() else None
    shutil.copytree(backup / "data", data_dir, symlinks=True)
    data_dir.chmod(0o700)
    if kept is not None:
        _own_like(data_dir, kept)
    if wal_archive is not None:
        _recover_from(data_dir, wal_archive.resolve(), target_time)
    return kept


def _keep_aside(data_dir: Path) -> Path:
    """Move the data directory out of the way under a name of its own (`<data>.before-restore-<time>[-n]`: a second
    restore within the same second keeps the first's too)."""
    stem = f"{data_dir.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    kept, n = data_dir.with_name(stem), 1
    while kept.exists():
        n += 1
        kept = data_dir.with_name(f"{stem}-{n}")
    data_dir.rename(kept)
    return kept


def _recover_from(data_dir: Path, archive: Path, target_time: datetime | None) -> None:
    """Ask for archive recovery on the next start. `pg_receivewal` keeps the segment it is writing as `.partial`;
    recovery only reads whole names, so the newest partial segment is offered under its own name (a copy: the
    archive itself is never changed)."""
    staged = data_dir / "restore_wal"
    staged.mkdir()
    for partial in sorted(archive.glob("*.partial"))[-1:]:
        shutil.copy2(partial, staged / partial.name.removesuffix(".partial"))
    command = f"cp '{archive}/%f' '%p' 2>/dev/null || cp '{staged}/%f' '%p'"
    settings = [f"restore_command = '{command.replace(chr(39), chr(39) * 2)}'", "recovery_target_action = 'promote'"]
    if target_time is not None:
        settings.append(f"recovery_target_time = '{target_time.isoformat()}'")
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n# operations.backup restore\n" + "\n".join(settings) + "\n")
    (data_dir / "recovery.signal").touch()
    _own_like(staged, data_dir)


def _own_like(path: Path, model: Path) -> None:
    """Give `path` (recursively) the owner of `model`: the server runs as its own user (`pgserver` as root)."""
    if os.geteuid() != 0:
        return
    owner = model.stat()
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(root, name), owner.st_uid, owner.st_gid)
    os.chown(path, owner.st_uid, owner.st_gid)


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m operations.backup", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    base = commands.add_parser("base", help="take a base backup of the running cluster")
    base.add_argument("--dsn", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    base.add_argument("--to", required=True, type=Path, help="a new directory for the backup")
    put = commands.add_parser("restore", help="put a base backup in place of a stopped cluster's data")
    put.add_argument("--backup", required=True, type=Path)
    put.add_argument("--data-dir", required=True, type=Path, help="the stopped cluster's data directory")
    put.add_argument("--wal-archive", type=Path, help="replay this WAL archive after the backup (PITR)")
    put.add_argument("--target-time", type=aware_datetime, help="ISO 8601 with its UTC offset")
    for command in (base, put):
        command.add_argument("--bin-dir", type=Path, help="PostgreSQL's binaries (default: PATH, then embedded)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    try:
        if args.command == "base":
            if not args.dsn:
                raise BackupError("--dsn or DATABASE_URL is needed")
            started = take_base_backup(args.dsn, args.to, args.bin_dir)
            print(f"base backup in {args.to}, started {started.isoformat()}")
            return 0
        kept = restore(args.backup, args.data_dir, wal_archive=args.wal_archive, target_time=args.target_time)
    except BackupError as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    print(f"restored {args.backup} into {args.data_dir}" + (f"; the old data is kept in {kept}" if kept else ""))
    print(f"next: start Postgres and Kafka only, then python -m operations.reconcile --since {_since(args)}")
    return 0


def _since(args: argparse.Namespace) -> str:
    """The time to reconcile from: the target time of a PITR, else the backup's start."""
    return (args.target_time or backup_started_at(args.backup)).isoformat()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
