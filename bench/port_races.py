"""Issue 26, must-show 9: several whole embedded platforms (`python -m embedded`, as `make run`) started at once,
round after round, and none fails with "address already in use".

Each platform chooses ports for PostgreSQL, Kafka (client and controller), Keycloak, the gateways' stand-ins and
seven services, all at the same moment as the others: the port races issue 26 names. A round passes when every
runner writes its ready file (all its services answer /readyz) and no runner says "address already in use". The
races that were lost and won again (a server's log saying its first bind failed, a runner moving a service to
another port) are counted too: they show the race happened and was survived.

Too long for `make test` (four Keycloak JVMs and four Kafka JVMs a round on 2 cores), so run by hand:

    .venv/bin/python -m bench.port_races --platforms 4 --rounds 10
    .venv/bin/python -m bench.port_races --platforms 4 --rounds 10 --identity shared

`--identity shared` starts one Keycloak for all (OIDC_ISSUER, as the test suite does) instead of one per platform:
four Keycloak starts a round take both cores of a loaded machine past the runner's own time limits (Kafka's 90 s),
which says nothing about ports. Keycloak's own race is tested in tests/service/test_port_races.py.

Prints one line per round and ends with ONE JSON line: {"platforms", "rounds", "rounds_ready", "bind_failures",
"races_survived", "seconds"}. Exit status 0 only when every round was ready with no bind failure. The data folders
are kept across rounds (later starts skip initdb, Kafka's format and the realm import) and deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAILURE = re.compile(r"address already in use", re.IGNORECASE)
#: A server's log when it lost the race for its port (embedded._process.BIND_CONFLICT_MARKERS): it started again.
SERVED = re.compile(r"Address already in use|already bound")
#: The runner's notice when a service's port was taken between its choice and its bind: the service moved.
MOVED = re.compile(r"taken meanwhile")
#: Ports and endpoints a runner must choose for itself here.
CLEARED = ("POSTGRES_PORT", "KAFKA_PORT", "KEYCLOAK_PORT", "OIDC_ISSUER", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")


@dataclass
class Runner:
    """One `python -m embedded` in its own data folder."""

    index: int
    data_dir: Path
    ready_file: Path
    output: Path
    proc: subprocess.Popen[bytes] | None = None
    offsets: dict[Path, int] = field(default_factory=dict)
    #: OIDC_ISSUER and the console's secret of a shared provider; empty: the runner starts its own Keycloak.
    identity: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.offsets = {path: path.stat().st_size for path in self._logs()}
        self.ready_file.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.endswith("_HTTP_PORT")}
        env |= {"PLATFORM_DATA_DIR": str(self.data_dir), "PYTHONPATH": str(REPO)}
        env.pop("PLATFORM_KAFKA_SECRETS_DIR", None)
        env |= self.identity
        with self.output.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "embedded", "--ready-file", str(self.ready_file), "--ready-timeout", "300"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        """SIGTERM (the runner stops everything in order); SIGKILL to its group if it hangs."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def _logs(self) -> list[Path]:
        servers = (
            sorted(path for path in self.data_dir.rglob("*.log") if path.is_file()) if self.data_dir.exists() else []
        )
        return ([self.output] if self.output.exists() else []) + servers

    def written_this_round(self) -> dict[Path, str]:
        """What the runner and each of its servers logged since this round's start."""
        written = {}
        for path in self._logs():
            with path.open("rb") as fh:
                fh.seek(self.offsets.get(path, 0))
                written[path] = fh.read().decode("utf-8", errors="replace")
        return written

    def outcome(self) -> tuple[bool, bool, int]:
        """(ready, failed on a bind, races survived) of this round: a server log saying its bind failed counts one
        race survived (it started again elsewhere), and so does each runner line moving a service."""
        ready = self.ready_file.is_file()
        written = self.written_this_round()
        said = written.get(self.output, "")
        failed = any(FAILURE.search(line) for line in said.splitlines() if "error" in line.lower())
        failed = failed or (not ready and any(FAILURE.search(text) for text in written.values()))
        servers = sum(1 for path, text in written.items() if path != self.output and SERVED.search(text))
        return ready, failed, servers + len(MOVED.findall(said))


def one_round(runners: list[Runner], timeout: float) -> tuple[int, int, int]:
    """Start every runner at once, wait for all ready files (or a runner's exit, or `timeout`), stop them all.
    Returns (runners ready, runners failed on a bind, races survived)."""
    for runner in runners:
        runner.start()
    deadline = time.monotonic() + timeout
    pending = list(runners)
    while pending and time.monotonic() < deadline:
        pending = [r for r in pending if not r.ready_file.is_file() and r.proc is not None and r.proc.poll() is None]
        time.sleep(0.5)
    outcomes = [runner.outcome() for runner in runners]  # before stopping: the ready file goes with the runner
    for runner in runners:
        runner.stop()
    return (
        sum(ready for ready, _, _ in outcomes),
        sum(failed for _, failed, _ in outcomes),
        sum(survived for _, _, survived in outcomes),
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.port_races", description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a round may take to be ready")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) at the end")
    parser.add_argument("--identity", choices=("own", "shared"), default="own", help="a Keycloak per platform or one")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the runners are stopped (SIGINT: KeyboardInterrupt)
    work = Path(tempfile.mkdtemp(prefix="uc-port-races-"))
    try:
        with contextlib.ExitStack() as stack:
            identity = stack.enter_context(shared_identity(work)) if args.identity == "shared" else {}
            return run_rounds(args, work, identity)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def shared_identity(work: Path) -> Iterator[dict[str, str]]:
    """One Keycloak with the demo realm for every platform; what a runner needs to use it instead of its own."""
    from embedded.demo_realm import generate_realm, load_staff
    from embedded.identity import EmbeddedKeycloak

    secret = secrets.token_urlsafe(24)
    keycloak = EmbeddedKeycloak(
        work / "keycloak", generate_realm(load_staff(), console_secret=secret), die_with_parent=True
    )
    keycloak.start()
    try:
        yield {"OIDC_ISSUER": keycloak.issuer, "CONSOLE_OIDC_CLIENT_SECRET": secret, "PLATFORM_DEMO_SIGN_INS": "1"}
    finally:
        keycloak.stop()


def run_rounds(args: argparse.Namespace, work: Path, identity: dict[str, str]) -> int:
    """The rounds, one line each, then the JSON summary; 0 when every round was ready with no bind failure."""
    runners = [
        Runner(i, work / f"p{i}", work / f"p{i}.ready.json", work / f"runner-{i}.out", identity=identity)
        for i in range(args.platforms)
    ]
    began = time.monotonic()
    totals = {"rounds_ready": 0, "bind_failures": 0, "races_survived": 0}
    try:
        for number in range(1, args.rounds + 1):
            round_began = time.monotonic()
            ready, failures, survived = one_round(runners, args.timeout)
            totals["rounds_ready"] += ready == len(runners)
            totals["bind_failures"] += failures
            totals["races_survived"] += survived
            print(
                f"round {number:>2}: {ready}/{len(runners)} ready, {failures} bind failures, "
                f"{survived} races lost and survived, {time.monotonic() - round_began:.0f}s",
                flush=True,
            )
    finally:
        for runner in runners:
            runner.stop()
    summary = {
        "platforms": args.platforms,
        "identity": args.identity,
        "rounds": args.rounds,
        **totals,
        "seconds": round(time.monotonic() - began),
    }
    print(json.dumps(summary))
    return 0 if totals["rounds_ready"] == args.rounds and totals["bind_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
