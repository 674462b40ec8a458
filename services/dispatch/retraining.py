"""Retraining the category model between units of work: a supervisor's request (or the schedule) makes a candidate
row, the fitting runs in a child process (seconds of CPU that must not stall the event loop: scikit-learn, the
`learning` extra), and its outcome — the candidate's and the current model's blind-set figures — is kept through the
door. Promotion is a supervisor's act (`handlers/models.promote`, the gate); each replica follows the promoted model
(`follow_loop`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.dispatch.candidates import ModelCandidate
from services.dispatch.handlers import models
from services.dispatch.handlers.context import DispatchDoor
from services.dispatch.learning.examples import BLIND_PATH, SEED_PATH, Example, read_examples
from services.dispatch.model import Actor
from shared.errors import Conflict
from shared.logging import get_logger
from shared.runtime import Worker

log = get_logger(__name__)


def fit_in_child(
    seed_path: str, blind_path: str, rules_path: str | None, corrections: list[Example], current: bytes | None
) -> tuple[bytes, dict[str, Any]]:
    """In the child process: fit the candidate, score it and the current model on the blind set (`gate`)."""
    from services.dispatch.classification import load_rules  # the child's own imports
    from services.dispatch.gate import fit_candidate
    from services.dispatch.learning.model import load_model, model_from_bytes

    rules = load_rules(rules_path)
    serving = model_from_bytes(current) if current is not None else load_model()
    found = fit_candidate(
        read_examples(seed_path), corrections, read_examples(blind_path), current=serving, rules=rules
    )
    return found.model.to_bytes(), {
        "version": found.model.version,
        "trained_on": found.trained_on,
        "corrections": found.corrections,
        "held_out": found.held_out,
        "figures": found.scores.as_figures(),
        "baseline_version": found.current_version,
        "baseline_figures": found.current_scores.as_figures(),
        "passes": found.passes,
    }


@dataclass
class Retraining:
    """Trainings of this process: asked for, fitted in a child process, kept; and the schedule."""

    rules_path: str | None = None
    blind_path: str | None = None
    seed_path: str | None = None
    running: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def blind(self) -> Path:
        return Path(self.blind_path) if self.blind_path else BLIND_PATH

    async def start(self, door: DispatchDoor, actor_id: str, actor_name: str) -> ModelCandidate:
        """A candidate row now, the fitting in the background; Conflict while another one runs."""
        candidate = await door.run(models.ask_for_training, models.AskTraining(actor_id, actor_name))
        task = asyncio.create_task(self._train(door, candidate.candidate_id), name="dispatch:retrain")
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return candidate

    async def _train(self, door: DispatchDoor, candidate_id: Any) -> None:
        model: bytes | None = None
        try:
            model, outcome = await self._fit(door)
        except asyncio.CancelledError:  # the service stops: say so, so the next request need not wait it out
            outcome = {"error": "stopped: the service shut down during the training"}
            await door.run(models.finish_training, models.TrainingDone(candidate_id, None, outcome))
            raise
        except ImportError as e:
            outcome = {"error": f"retraining needs scikit-learn (the learning extra): {e}"}
        except Exception as e:  # a failed training is kept with its reason, never lost in a task
            log.exception("model retraining failed")
            outcome = {"error": f"{type(e).__name__}: {e}"[:500]}
        await door.run(models.finish_training, models.TrainingDone(candidate_id, model, outcome))
        log.info("model retraining finished", candidate=str(candidate_id), failed=model is None)

    async def _fit(self, door: DispatchDoor) -> tuple[bytes, dict[str, Any]]:
        """The corrections read through the door, the fitting in a child process (killed if the wait is cancelled:
        a shutdown never waits for scikit-learn)."""
        if not self.blind.exists():
            raise FileNotFoundError(f"no blind set at {self.blind} (DISPATCH_BLIND_SET_PATH)")
        corrections = await door.run(models.corrections_for_training, None)
        served = door.context.served
        current = served.promoted.to_bytes() if served.promoted is not None else None
        seed = str(self.seed_path or SEED_PATH)
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, fit_in_child, seed, str(self.blind), self.rules_path, corrections, current
            )
        finally:
            for child in list(getattr(pool, "_processes", {}).values()):  # the executor has no public kill
                child.terminate()
            pool.shutdown(wait=False, cancel_futures=True)

    async def stop(self) -> None:
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)

    async def stop_with(self, stop: asyncio.Event) -> None:
        """A worker that ends the trainings still running when the service stops (each row says so)."""
        await stop.wait()
        await self.stop()

    def scheduled(self, door: DispatchDoor, every: timedelta) -> Worker:
        """The schedule's worker: a training every `every` (skipped while one runs elsewhere)."""

        async def retrain_on_schedule(stop: asyncio.Event) -> None:
            while not await _stopped(stop, every.total_seconds()):
                try:
                    await self.start(door, "dispatch", "schedule")
                except Conflict:
                    log.info("scheduled retraining skipped: one is running")

        return retrain_on_schedule


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def follow_loop(door: DispatchDoor, every_seconds: float) -> Worker:
    """The worker that keeps this replica serving the promoted model (checked every `every_seconds`)."""

    async def follow_promoted_model(stop: asyncio.Event) -> None:
        while True:
            await door.run(models.follow_served, None)
            if await _stopped(stop, every_seconds):
                return

    return follow_promoted_model


async def promote(door: DispatchDoor, candidate_id: Any, actor: Actor) -> ModelCandidate:
    """Promote through the gate, and serve it in this process at once (the others follow)."""
    promoted = await door.run(models.promote, models.Promote(candidate_id, actor))
    await door.run(models.follow_served, None)
    return promoted
