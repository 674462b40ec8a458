"""A batch consumer lingers only while records flow (`shared.kafka.fetch_pacing`): the values aiokafka's fetcher
builds its next fetch request from, switched by a batch and back by a quiet spell."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from aiokafka.consumer.fetcher import Fetcher

from shared.kafka.fetch_pacing import IDLE_FETCH, FetchPacer
from shared.kafka.subscription import fetch_linger


class _Timers:
    """`call_later` that runs nothing by itself: the test fires the quiet spell's end."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], SimpleNamespace]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Any:
        handle = SimpleNamespace(cancelled=False)
        handle.cancel = lambda: setattr(handle, "cancelled", True)
        self.pending.append((delay, callback, handle))
        return handle

    def fire_live(self) -> None:
        for _, callback, handle in self.pending:
            if not handle.cancelled:
                callback()


def _consumer() -> SimpleNamespace:
    return SimpleNamespace(_fetcher=SimpleNamespace(_fetch_min_bytes=1, _fetch_max_wait_ms=500))


def test_a_batch_makes_the_next_fetches_linger_and_a_quiet_second_brings_back_the_long_poll() -> None:
    timers, consumer = _Timers(), _consumer()
    pacer = FetchPacer(fetch_linger(10, 500), call_later=timers)
    pacer.batch_arrived(consumer)
    assert (consumer._fetcher._fetch_min_bytes, consumer._fetcher._fetch_max_wait_ms) == (500 * 1024, 10)
    pacer.batch_arrived(consumer)  # records keep flowing: the quiet spell starts again from this batch
    assert [h.cancelled for _, _, h in timers.pending] == [True, False]
    assert timers.pending[-1][0] == 1.0
    timers.fire_live()
    assert (consumer._fetcher._fetch_min_bytes, consumer._fetcher._fetch_max_wait_ms) == (1, 500)
    assert not pacer.lingering
    pacer.batch_arrived(consumer)
    assert consumer._fetcher._fetch_max_wait_ms == 10, "the next batch lingers again"


def test_a_consumer_without_a_fetcher_is_left_alone() -> None:
    timers = _Timers()
    FetchPacer(fetch_linger(None, 500), call_later=timers).batch_arrived(SimpleNamespace())
    assert timers.pending == []


def test_the_pinned_aiokafka_builds_each_fetch_request_from_the_values_paced() -> None:
    """If a new aiokafka renames them, pacing would silently do nothing: this fails instead."""
    source = inspect.getsource(Fetcher)
    assert "self._fetch_min_bytes = fetch_min_bytes" in source
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in source
    request = inspect.getsource(Fetcher._get_actions_per_node)
    assert "self._fetch_max_wait_ms" in request and "self._fetch_min_bytes" in request
    assert IDLE_FETCH == {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500}
