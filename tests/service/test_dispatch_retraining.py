"""Issue 24: the category model retrained from supervisors' corrections, on real Postgres with two dispatch replicas
in-process. A retraining asked for over the API is fitted in a child process and kept with its blind-set figures
beside the serving model's; the gate refuses a worse candidate (409 naming the figures); a candidate that passes,
promoted on one replica, is what both classify with within their refresh interval — no restart.

The retraining here learns from a thin slice of the seed set and is scored on a sixth of the blind set
(DISPATCH_SEED_SET_PATH, DISPATCH_BLIND_SET_PATH: a fraction of a second of fitting instead of tens of seconds on a
loaded machine), so its candidate is worse than the shipped model and the gate must refuse it; the promoted candidate
is the shipped model under another version, written as a scored candidate row. The real sets are the browser
drill's (tests/e2e/supervision/test_triage_browser.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.dispatch.candidates import ModelCandidate
from services.dispatch.learning.examples import BLIND_PATH, SEED_PATH
from services.dispatch.learning.model import load_model
from services.dispatch.repository import PostgresDispatchRepository
from shared.db import transactions
from tests.support.dispatch import as_, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until


def _slice(source: Path, every: int, target: Path) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join(lines[::every]) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every 32nd seed example (a model far from the shipped one, fitted at once) and every 6th blind complaint."""
    folder = tmp_path_factory.mktemp("sets")
    return _slice(SEED_PATH, 32, folder / "seed.jsonl"), _slice(BLIND_PATH, 6, folder / "blind.jsonl")


@pytest.fixture(scope="module")
async def replicas(
    migrated: Infrastructure, small_sets: tuple[Path, Path]
) -> AsyncIterator[tuple[tuple[FastAPI, httpx.AsyncClient], tuple[FastAPI, httpx.AsyncClient]]]:
    seed, blind = small_sets
    settings: dict[str, Any] = {
        "dispatch_model_refresh_seconds": 0.2,
        "dispatch_seed_set_path": str(seed),
        "dispatch_blind_set_path": str(blind),
    }
    url, kafka = migrated.database_url, migrated.kafka_bootstrap_servers
    async with running_dispatch(url, kafka, **settings) as one, running_dispatch(url, kafka, **settings) as two:
        yield one, two


async def _models(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/v1/models", headers=as_("supervisor"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_a_retrained_candidate_is_scored_and_the_gate_refuses_a_worse_one(replicas: Any) -> None:
    (_, one), _ = replicas
    shipped = load_model().version
    assert (await _models(one))["serving"] == shipped
    assert (await one.post("/v1/models/candidates", headers=as_("repair"))).status_code == 403

    asked = await one.post("/v1/models/candidates", headers=as_("supervisor"))
    assert asked.status_code == 202, asked.text
    candidate_id = asked.json()["candidate_id"]
    again = await one.post("/v1/models/candidates", headers=as_("supervisor"))
    assert again.status_code == 409, "one retraining at a time"

    async def scored() -> dict[str, Any] | None:
        found = next(c for c in (await _models(one))["candidates"] if c["candidate_id"] == candidate_id)
        return found if found["status"] != "training" else None

    done = await wait_until(scored, timeout=90, interval=0.5)
    assert done["status"] == "candidate", done["error"]
    assert done["baseline_version"] == shipped and done["version"] != shipped
    figures, baseline = done["figures"], done["baseline_figures"]
    assert figures["n"] == baseline["n"] == 61
    low, high = baseline["category_interval"]
    assert low < baseline["category_accuracy"] < high, "the accuracy inside its 95 % interval"
    assert {r["category"] for r in figures["per_class"]} == {r["category"] for r in baseline["per_class"]}
    assert done["passes"] is False, "a 32nd of the seed set scores worse than the shipped model"

    refused = await one.post(f"/v1/models/candidates/{candidate_id}/promote", headers=as_("supervisor"))
    assert refused.status_code == 409 and "gate refuses" in refused.json()["detail"], refused.text
    assert (await _models(one))["serving"] == shipped


async def test_a_promoted_candidate_serves_on_every_replica(replicas: Any) -> None:
    (app, one), (_, two) = replicas
    shipped = load_model()
    promoted = replace(shipped, version=f"test-promoted-{uuid.uuid4().hex[:8]}")
    serving = await _models(one)
    figures = next(c["baseline_figures"] for c in serving["candidates"] if c["baseline_figures"])
    candidate_id = uuid.uuid4()
    async with transactions(app.state.pool, PostgresDispatchRepository)() as work:
        await work.repo.add_candidate(
            ModelCandidate(candidate_id, "training", "supervisor.wu", "吴静", datetime.now(UTC))
        )
        await work.repo.finish_candidate(
            candidate_id,
            promoted.to_bytes(),
            status="candidate",
            version=promoted.version,
            figures=figures,
            baseline_version=shipped.version,
            baseline_figures=figures,
            passes=True,
            trained_at=datetime.now(UTC),
        )
        work.commit()

    answer = await one.post(f"/v1/models/candidates/{candidate_id}/promote", headers=as_("supervisor"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "current" and answer.json()["promoted_by"] == "supervisor"
    assert (await _models(one))["serving"] == promoted.version, "the promoting replica at once"

    async def swapped() -> bool:
        return bool((await _models(two))["serving"] == promoted.version)

    await wait_until(swapped, timeout=10, interval=0.2)
    again = await one.post(f"/v1/models/candidates/{candidate_id}/promote", headers=as_("supervisor"))
    assert again.status_code == 409, "a current model is not a candidate"
