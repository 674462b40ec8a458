"""Lingering fetches only while records flow: a batch subscriber's consumer long-polls while its topics are quiet
and lingers for a batch once they are not.

Why: a linger (`subscription.fetch_linger`: the broker holds a fetch until about a batch is there or `linger_ms`
passed) is what makes batches form under load, but on a quiet topic the broker answers every fetch empty after
`linger_ms`, and the consumer asks again at once. With the platform's nineteen batch consumers (10 ms on the routed
path, 100 ms off it) that was about 300 empty fetches a second, each through TLS: an idle platform cost Kafka 237 ms
and the four services 131 ms of CPU every second (measured 2026-12-06: `bench/README.md`), a fifth of the machine
for nothing, and a share of every complaint's cost in the benches.

So the consumer starts in the idle mode, Kafka's own long poll (`fetch.min.bytes` 1, `fetch.max.wait.ms` 500: the
broker answers as soon as one record is there, else after half a second), and a batch switches it to the linger
for the next fetches; a quiet second switches it back. The first record after a quiet spell is answered at once,
sooner than under a linger; what follows it forms batches as before.

aiokafka reads the two values from its fetcher for every fetch request it builds (`Fetcher._fetch_min_bytes`,
`_fetch_max_wait_ms`, aiokafka 0.14; `tests/unit/test_fetch_pacing.py` fails if a new version renames them). A
consumer without them (a test broker's stand-in) is left as it was configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

#: Kafka's long poll, the idle mode: answered as soon as one record is there, else after 500 ms.
IDLE_FETCH = {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500}
#: How long without a batch before the consumer goes back to the long poll.
IDLE_AFTER_S = 1.0


class FetchPacer:
    """One batch subscription's switch between the long poll and its linger (`busy`: the consumer options of
    `fetch_linger`)."""

    def __init__(
        self,
        busy: Mapping[str, int],
        *,
        idle_after_s: float = IDLE_AFTER_S,
        call_later: Callable[[float, Callable[[], None]], Any] | None = None,
    ) -> None:
        self.busy_min_bytes, self.busy_max_wait_ms = busy["fetch_min_bytes"], busy["fetch_max_wait_ms"]
        self.idle_after_s = idle_after_s
        self._call_later = call_later
        self._timer: Any = None
        self.lingering = False

    def batch_arrived(self, consumer: Any) -> None:
        """Records are flowing: linger for the next fetches, and go back to the long poll after a quiet spell
        counted from this call (the subscriber calls it as a batch arrives and again when it is handled)."""
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is None or not hasattr(fetcher, "_fetch_min_bytes"):
            return
        if not self.lingering:
            self._set(fetcher, self.busy_min_bytes, self.busy_max_wait_ms)
            self.lingering = True
        if self._timer is not None:
            self._timer.cancel()
        call_later = self._call_later or asyncio.get_running_loop().call_later
        self._timer = call_later(self.idle_after_s, lambda: self._go_idle(fetcher))

    def _go_idle(self, fetcher: Any) -> None:
        self._set(fetcher, IDLE_FETCH["fetch_min_bytes"], IDLE_FETCH["fetch_max_wait_ms"])
        self.lingering = False
        self._timer = None

    @staticmethod
    def _set(fetcher: Any, min_bytes: int, max_wait_ms: int) -> None:
        fetcher._fetch_min_bytes = min_bytes
        fetcher._fetch_max_wait_ms = max_wait_ms
