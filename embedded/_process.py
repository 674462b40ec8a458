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
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


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

    def _spawn(self, args: list[str], **popen: Any) -> None:
        """Start `args` in its own session, so a terminal Ctrl-C reaches only our supervisor; output to the log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - our own servers' binaries and scripts
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )

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
