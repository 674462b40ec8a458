"""Issue 24: the category model's candidates on the in-memory repository — the gate decides a promotion on the
figures kept with the candidate, a candidate scored against another model than the one serving must be retrained,
and the served model follows what is promoted. Pure gate helpers too: held-out corrections, the figures' round
trip, the interval around the accuracy."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.dispatch.candidates import ModelCandidate
from services.dispatch.gate import BlindScores, ClassFigure, held_out, wilson
from services.dispatch.handlers import models
from services.dispatch.learning.examples import Example
from services.dispatch.learning.model import load_model
from services.dispatch.model import Actor, Conflict, NotFound
from services.dispatch.retraining import Retraining
from shared.contracts import Category
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver

WU = Actor(name="supervisor.wu", supervisor=True, display_name="吴静")


def _scores(category_right: int, department_right: int, n: int = 100) -> BlindScores:
    return BlindScores(
        category_accuracy=category_right / n,
        department_accuracy=department_right / n,
        severity_accuracy=0.0,
        auto_category_accuracy=0.0,
        triage_share=0.05,
        category_right=category_right,
        department_right=department_right,
        n=n,
        per_class=(ClassFigure(Category.BILLING, n, category_right),),
    )


async def _candidate(
    dispatcher: DispatchDriver, store: FakeTransactions, scores: BlindScores, *, baseline: str | None = None
) -> uuid.UUID:
    """A scored candidate (the shipped model under a version of its own), as a finished training leaves it."""
    candidate = await dispatcher.door.run(models.ask_for_training, models.AskTraining("supervisor.wu", "吴静"))
    version = f"candidate-{uuid.uuid4().hex[:6]}"
    outcome = {
        "version": version,
        "figures": scores.as_figures(),
        "baseline_version": baseline or dispatcher.context.served.version,
        "baseline_figures": _scores(90, 95).as_figures(),
        "passes": scores.no_worse_than(_scores(90, 95)),
    }
    model = replace(load_model(), version=version).to_bytes()
    await dispatcher.door.run(models.finish_training, models.TrainingDone(candidate.candidate_id, model, outcome))
    return candidate.candidate_id


async def test_the_gate_refuses_a_worse_candidate_and_promotes_one_no_worse(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    worse = await _candidate(dispatcher, store, _scores(88, 95))  # two complaints fewer: beyond the noise
    with pytest.raises(Conflict, match="gate refuses it"):
        await dispatcher.door.run(models.promote, models.Promote(worse, WU))

    shipped = dispatcher.context.served.version
    no_worse = await _candidate(dispatcher, store, _scores(89, 95))  # one fewer: within the blind set's resolution
    promoted = await dispatcher.door.run(models.promote, models.Promote(no_worse, WU))
    assert (promoted.status, promoted.promoted_by) == ("current", "supervisor.wu")
    assert dispatcher.context.served.version == shipped, "the process swaps when it follows, not before the commit"
    assert await dispatcher.door.run(models.follow_served, None)
    assert dispatcher.context.served.version == promoted.version

    with pytest.raises(Conflict, match="not a scored candidate"):
        await dispatcher.door.run(models.promote, models.Promote(no_worse, WU))
    with pytest.raises(NotFound):
        await dispatcher.door.run(models.promote, models.Promote(uuid.uuid4(), WU))


async def test_a_candidate_scored_against_another_model_must_be_retrained(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    stale = await _candidate(dispatcher, store, _scores(95, 99), baseline="ngram-lr-older")
    with pytest.raises(Conflict, match="retrain to compare again"):
        await dispatcher.door.run(models.promote, models.Promote(stale, WU))


async def test_one_training_at_a_time_and_an_abandoned_one_no_longer_blocks(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    ask = models.AskTraining("supervisor.wu", "吴静")
    first = await dispatcher.door.run(models.ask_for_training, ask)
    with pytest.raises(Conflict, match="already running"):
        await dispatcher.door.run(models.ask_for_training, ask)
    clock.advance(models.TRAINING_ABANDONED_AFTER + timedelta(seconds=1))
    await dispatcher.door.run(models.ask_for_training, ask)
    abandoned: ModelCandidate = store.state.candidates[first.candidate_id]
    assert (abandoned.status, abandoned.error) == ("failed", "abandoned: its process ended")


def test_corrections_worded_like_a_blind_complaint_are_held_out() -> None:
    blind = [Example(text="暖气不热，室温只有１６度", channel="phone", category=Category.HEATING_TEMPERATURE)]
    corrections = [
        Example(text="暖气不热，室温只有16度", channel="web", category=Category.EQUIPMENT_FAULT),  # same, normalised
        Example(text="电费多扣了", channel="web", category=Category.BILLING),
    ]
    kept, dropped = held_out(corrections, blind)
    assert [e.text for e in kept] == ["电费多扣了"] and dropped == 1


def test_the_figures_round_trip_with_their_interval() -> None:
    scores = _scores(90, 95)
    figures = scores.as_figures()
    interval = figures["category_interval"]
    assert isinstance(interval, list)
    low, high = interval
    assert low < 0.9 < high and (low, high) == tuple(round(x, 4) for x in wilson(90, 100))
    back = BlindScores.from_figures(figures)
    assert (back.category_right, back.department_right, back.n, back.per_class) == (90, 95, 100, scores.per_class)


async def test_the_gate_compares_with_what_the_database_says_serves(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    """A promotion made on another replica counts at once, before this one has followed it: a candidate scored
    against the model that served before must be retrained."""
    first = await _candidate(dispatcher, store, _scores(90, 95))
    second = await _candidate(dispatcher, store, _scores(90, 95))
    await dispatcher.door.run(models.promote, models.Promote(first, WU))  # this process has not followed it
    with pytest.raises(Conflict, match="retrain to compare again"):
        await dispatcher.door.run(models.promote, models.Promote(second, WU))


async def test_the_schedule_asks_for_a_training_each_interval_and_skips_one_while_another_runs(
    dispatcher: DispatchDriver,
) -> None:
    """`DISPATCH_RETRAIN_EVERY_HOURS`: the schedule's worker asks as a supervisor would; a Conflict (one running)
    is skipped, not fatal; it ends when the service stops."""
    asked: list[str] = []
    stop = asyncio.Event()

    class Counting(Retraining):
        async def start(self, door: Any, actor_id: str, actor_name: str) -> Any:
            asked.append(actor_id)
            if len(asked) == 2:
                raise Conflict("a retraining is already running")
            if len(asked) == 3:
                stop.set()

    worker = Counting().scheduled(dispatcher.door, timedelta(milliseconds=10))
    await asyncio.wait_for(worker(stop), timeout=5)
    assert asked == ["dispatch", "dispatch", "dispatch"]
