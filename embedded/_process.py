"""Process and port helpers shared by the embedded Postgres, broker, Keycloak and supervisor.

Stdlib only, so that importing any part of `embedded` stays cheap and works in the
production image (where the dev-only binaries are not installed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1

#: How many ports a server that lost the race for the one it was told to listen on tries in all (see
#: `ChildServer.lost_port_race`). Losing it twice in a row is already rare; five is a run of bad luck, not a loop.
PORT_ATTEMPTS = 5
#: What a server writes when the port it was told to listen on is taken: PostgreSQL "could not bind IPv4 address
#: ...: Address already in use", Kafka's java.net.BindException "Address already in use", Keycloak's (Quarkus')
#: QuarkusBindException "Port(s) already bound: N: Address already in use".
BIND_CONFLICT_MARKERS = ("Address already in use", "already bound")


def find_free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port (bind to port 0), so parallel runs never collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port, checked by trying to bind it ourselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def listens_on(pid: int, port: int) -> bool:
    """True when process `pid` or one of its descendants listens on TCP `port`: the server we started holds the
    port, not whoever else may have taken it meanwhile (a server such as Keycloak runs as a script's child)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return False
    for proc in processes:
        try:
            connections = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            return True
    return False


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    Works both from a thread without an event loop (plain `asyncio.run`) and from inside a
    running loop (e.g. a sync call made by an async pytest fixture), where `asyncio.run` would
    refuse: there the coroutine runs on a private loop in a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


class _Spawning:
    """How many spawns are under way (`signals_deferred`), and the stop signal that came meanwhile."""

    depth = 0
    pending: int | None = None


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back the runner's stop while a child is forked and recorded; a signal that came meanwhile is raised
    again when the block ends, and stops the runner then.

    Why: the runner stops by raising from its signal handler (`defer_if_spawning` lets it hold back). Raised while
    `Popen` waited for the child's exec, the stop left a child started and never recorded, which the shutdown then
    did not stop: an orphan (seen after CI runs, a notify or channels process whose parent was 1)."""
    _Spawning.depth += 1
    try:
        yield
    finally:
        _Spawning.depth -= 1
        if not _Spawning.depth and _Spawning.pending is not None:
            signum, _Spawning.pending = _Spawning.pending, None
            signal.raise_signal(signum)


def defer_if_spawning(signum: int) -> bool:
    """For a signal handler that stops the runner: True while a child is being spawned (the signal is then kept
    and raised again once the child is recorded), False when the handler may stop the runner now."""
    if _Spawning.depth:
        _Spawning.pending = signum
        return True
    return False


def child_preexec(die_with_parent: int | None) -> Callable[[], None] | None:
    """Return a preexec_fn asking Linux to send `die_with_parent` to the child when we die.

    This is what keeps a SIGKILLed supervisor from leaving orphans behind. It is tied to the
    *thread* that spawned the child, so only use it when spawning from a long-lived thread.
    """
    if die_with_parent is None or not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    sig = int(die_with_parent)

    def _preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # parent already gone before prctl took effect
            os.kill(os.getpid(), sig)

    return _preexec


def signal_process(proc: subprocess.Popen[bytes], sig: int, *, group: bool) -> None:
    """Send `sig` to the child (or its whole process group), ignoring an already-gone child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def terminate_process(
    proc: subprocess.Popen[bytes],
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
    group: bool = True,
) -> int:
    """Stop a child politely with `sig`, then SIGKILL once `timeout` expires; return its exit code.

    `group=True` also reaches grandchildren (the child must lead its own session/group).
    """
    if proc.poll() is not None:
        if group:  # leftovers of the group may still run (e.g. workers of a crashed server)
            signal_process(proc, signal.SIGKILL, group=True)
        return proc.returncode
    signal_process(proc, sig, group=group)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_process(proc, signal.SIGKILL, group=group)
        code = proc.wait(timeout=10)
    if group:
        signal_process(proc, signal.SIGKILL, group=True)
    return code


_spawner: concurrent.futures.ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def spawn_lasting(spawn: Callable[[], T]) -> T:
    """Run `spawn` (a Popen) on one thread that lives as long as this process.

    A child asked to die with its parent (`child_preexec`) dies with the *thread* that forked it. A server started
    again after losing its port race may be started from a short-lived thread (the runner waits for Kafka in a pool
    thread): forked from there it would die when that thread ends.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-spawner")
        pool = _spawner
    return pool.submit(spawn).result()


def log_tail(path: Path, lines: int = 30) -> str:
    """Last lines of a log file, to put the real cause into an exception message."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16_384))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ChildServer:
    """A server run as our child process in its own session, its output appended to `log_path`.

    What the embedded Postgres, Kafka and Keycloak share: launching, stopping and killing the process, and the context
    manager. Each subclass says how it starts (`start`, calling `_spawn`) and how it stops (`stop`, calling
    `_stop_child` with its signal and grace).
    """

    log_path: Path
    _proc: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None
    #: Size of the log when the child was spawned: what it wrote since starts there (`lost_port_race`).
    _log_offset: int = 0

    @property
    def pid(self) -> int | None:
        """PID of our child process while it runs."""
        return self._proc.pid if self.is_running() and self._proc else None

    def is_running(self) -> bool:
        """True while our child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a crash would. For fault tests."""
        if self._proc is not None:
            signal_process(self._proc, signal.SIGKILL, group=True)
            self._proc.wait(timeout=10)
        self.stop()

    def lost_port_race(self) -> bool:
        """True when our child has exited saying, in what it logged since it was spawned, that its port is taken.

        The port was free when we chose it, but a server binds it only seconds later, and another process starting
        meanwhile (another runner, a test's server) can take it: the caller then starts it again on another port.
        """
        if self._proc is None or self._proc.poll() is None:
            return False
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                logged = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return False
        return any(marker in logged for marker in BIND_CONFLICT_MARKERS)

    def _spawn(self, args: list[str], *, lasting: bool = False, **popen: Any) -> None:
        """Start `args` in its own session, so a terminal Ctrl-C reaches only our supervisor; output to the log.

        `lasting`: fork from the process' lasting thread (`spawn_lasting`), for a start again from any thread.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._log_offset = self._log_file.tell()
        log_file = self._log_file

        def popen_child() -> subprocess.Popen[bytes]:
            return subprocess.Popen(  # noqa: S603 - our own servers' binaries and scripts
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **popen,
            )

        with signals_deferred():
            self._proc = spawn_lasting(popen_child) if lasting else popen_child()

    def _stop_child(self, *, sig: int, timeout: float, group: bool) -> None:
        """`terminate_process` on our child (if any), then close its log file."""
        proc, self._proc = self._proc, None
        try:
            if proc is not None:
                terminate_process(proc, sig=sig, timeout=timeout, group=group)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
