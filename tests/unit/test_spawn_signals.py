"""The runner's stop waits while a child is being spawned: a Ctrl-C raised between the fork and the moment the child
is recorded left it unrecorded, and the shutdown never stopped it (orphaned services after CI runs)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from embedded._process import defer_if_spawning, signals_deferred


class Stop(Exception):
    """What the runner's handler raises (`_Shutdown` in embedded.platform)."""


def _stop_unless_spawning(signum: int, frame: FrameType | None) -> None:
    if defer_if_spawning(signum):
        return
    raise Stop(signum)


@pytest.fixture
def runner_handler() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, _stop_unless_spawning)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("runner_handler")
def test_a_ctrl_c_during_a_spawn_stops_the_runner_once_the_child_is_recorded() -> None:
    recorded: list[str] = []
    with pytest.raises(Stop), signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)  # arrives while Popen waits for the child's exec
        recorded.append("child")  # svc.proc = Popen(...) completes
    assert recorded == ["child"]


@pytest.mark.usefixtures("runner_handler")
def test_nested_spawns_hold_the_stop_until_the_outer_one_ends() -> None:
    recorded: list[str] = []
    with pytest.raises(Stop), signals_deferred():
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            recorded.append("inner")
        recorded.append("outer")
    assert recorded == ["inner", "outer"]


@pytest.mark.usefixtures("runner_handler")
def test_outside_a_spawn_the_stop_is_at_once() -> None:
    recorded: list[str] = []
    with pytest.raises(Stop):
        os.kill(os.getpid(), signal.SIGINT)
        recorded.append("after")
    assert recorded == []
    with signals_deferred():  # nothing pending: the block ends quietly
        recorded.append("spawned")
    assert recorded == ["spawned"]
