"""Run a stand-in as its own OS process, as the runner and the tests do: start, wait for its ready file, stop."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from embedded._process import ChildServer, child_preexec, log_tail


class StandInError(RuntimeError):
    """A stand-in did not start."""


class StandInProcess(ChildServer):
    """`python -m embedded.standins.<module>`; `ready` is what it wrote to its ready file (its `url`, ...)."""

    def __init__(
        self,
        module: str,
        work_dir: Path,
        *,
        args: tuple[str, ...] = (),
        env: Mapping[str, str] | None = None,
        # Generous: a start-up on a loaded 2-core machine (three stand-ins importing their stacks side by side, beside
        # Kafka and Keycloak) took over 30 s; a healthy start is a second or two, a dead one is seen at once.
        timeout: float = 90.0,
    ) -> None:
        self.module = module
        self.name = module.rsplit(".", 1)[-1]
        self.work_dir = work_dir
        self.log_path = work_dir / f"{self.name}.log"
        self.ready_file = work_dir / f"{self.name}.ready.json"
        self.args = args
        self.env = env
        self.timeout = timeout
        self.ready: dict[str, Any] = {}
        self._launched_at = 0.0

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (several stand-ins come up side by side)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", self.module, "--port", "0", "--ready-file", str(self.ready_file)]
        command += ["--data-dir", str(self.work_dir), *self.args]
        # Dies with whoever started it (the runner, a test), even when that one is SIGKILLed: never an orphan.
        self._spawn(command, env={**os.environ, **(self.env or {})}, preexec_fn=child_preexec(signal.SIGTERM))
        self._launched_at = time.monotonic()

    def wait_ready(self) -> None:
        """Until its ready file names its address; the log's tail in the error when it dies or takes too long."""
        deadline = self._launched_at + self.timeout
        while True:  # the file is read at least once: the caller may come for it after the deadline (Keycloak slow)
            if self.ready_file.is_file():
                try:
                    self.ready = json.loads(self.ready_file.read_text())
                    return
                except json.JSONDecodeError:
                    pass  # being written
            if not self.is_running() or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        tail = log_tail(self.log_path)
        self.stop()
        raise StandInError(f"stand-in {self.module} did not become ready in {self.timeout:.0f}s:\n{tail}")

    def stop(self) -> None:
        self._stop_child(sig=signal.SIGTERM, timeout=5.0, group=True)
