"""Kafka requests per complaint: the broker's own request counters over the measured window.

The embedded broker exposes no metrics port (embedded/broker.py), so `jmx/KafkaRequests.java` attaches to its JVM
with the JDK's attach API — the same user, no port chosen by us, nothing changed in how the broker runs — and prints
each request type's cumulative count (`kafka.network:type=RequestMetrics,name=RequestsPerSec`) and the records and
bytes in and out. Read once before the window and once after; the difference, per complaint, is the row.
Each reading is a short JVM run (about 1 CPU-s), outside the window's CPU figures.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

READER = Path(__file__).with_name("jmx") / "KafkaRequests.java"
#: The broker counts every fetch as `Fetch` and once more as `FetchConsumer` or `FetchFollower`: not added twice.
_FETCH_BY_WHOM = ("request FetchConsumer", "request FetchFollower")


def broker_pid() -> int | None:
    """The bench's own Kafka node (a child of this process)."""
    for child in psutil.Process().children(recursive=True):
        try:
            if "kafka.Kafka" in child.cmdline():
                return child.pid
        except psutil.Error:
            continue
    return None


def read_counters() -> dict[str, int] | str:
    """The broker's counters now, or why they could not be read."""
    pid = broker_pid()
    if pid is None:
        return "no broker process found"
    try:
        java = Path(psutil.Process(pid).exe())  # the broker's own Java: attaching needs a matching JDK
        done = subprocess.run(
            [str(java), str(READER), str(pid)], capture_output=True, text=True, timeout=60, check=False
        )
    except (psutil.Error, OSError, subprocess.TimeoutExpired) as exc:
        return f"not read: {exc!r}"
    if done.returncode != 0:
        return f"not read: {(done.stderr.strip().splitlines() or ['exit ' + str(done.returncode)])[-1]}"
    counters = {}
    for line in done.stdout.splitlines():
        name, _, count = line.rpartition("\t")
        counters[name] = int(count)
    return counters


def per_complaint(before: dict[str, int] | str, after: dict[str, int] | str, complaints: int) -> str:
    """Requests per complaint over the window, in all and by type (most first), with records and bytes in."""
    if isinstance(before, str) or isinstance(after, str):
        return before if isinstance(before, str) else str(after)
    per = max(complaints, 1)
    moved = {name: count - before.get(name, 0) for name, count in after.items()}
    requests = {
        name.removeprefix("request "): n
        for name, n in moved.items()
        if name.startswith("request ") and n and name not in _FETCH_BY_WHOM
    }
    shown = ", ".join(f"{name} {n / per:.2f}" for name, n in sorted(requests.items(), key=lambda item: -item[1])[:8])
    records = moved.get("MessagesInPerSec", 0) / per
    kb_in, kb_out = moved.get("BytesInPerSec", 0) / per / 1024, moved.get("BytesOutPerSec", 0) / per / 1024
    return (
        f"{sum(requests.values()) / per:.1f} requests ({shown}); records in {records:.1f}, "
        f"bytes in / out {kb_in:.1f} / {kb_out:.1f} KB"
    )
