"""Intake's process metrics: the one place where what intake committed becomes numbers.

`count_committed` is registered with `shared.observability.committed` by the composition root and sees every
event intake's transactions committed; nothing else in intake touches a counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from shared.contracts import ComplaintReceived

COMPLAINTS_RECEIVED = Counter(
    "complaints_received_total", "Complaints accepted (new, not replays), by channel.", ["channel"]
)


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        if isinstance(item, ComplaintReceived):
            COMPLAINTS_RECEIVED.labels(item.payload.channel.value).inc()
