"""Issue 24: the category model retrained from supervisors' corrections, on real Postgres with two dispatch replicas
in-process. A retraining asked for over the API is fitted in a child process and kept with its blind-set figures
beside the serving model's; the gate refuses a worse candidate (409 naming the figures); a candidate that passes,
promoted on one replica, is what both classify with within their refresh interval — no restart.

The retraining here learns from a small slice of the seed set (DISPATCH_SEED_SET_PATH: seconds, not tens), so its
candidate is worse than the shipped model and the gate must refuse it; the promoted candidate is the shipped model
under another version, written as a scored candidate row.
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
from services.dispatch.learning.examples import SEED_PATH
from services.dispatch.learning.model import load_model
from services.dispatch.repository import PostgresDispatchRepository
from shared.db import transactions
from tests.support.dispatch import as_, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until


@pytest.fixture(scope="module")
def small_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every eighth seed example: enough for a model, far from the shipped one."""
    lines = SEED_PATH.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("seed") / "seed.jsonl"
    path.write_text("\n".join(lines[::8]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
async def replicas(
    migrated: Infrastructure, small_seed: Path
) -> AsyncIterator[tuple[tuple[FastAPI, httpx.AsyncClient], tuple[FastAPI, httpx.AsyncClient]]]:
    settings: dict[str, Any] = {"dispatch_model_refresh_seconds": 0.2, "dispatch_seed_set_path": str(small_seed)}
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
    assert figures["n"] == baseline["n"] == 361
    low, high = baseline["category_interval"]
    assert low < baseline["category_accuracy"] < high, "the accuracy inside its 95 % interval"
    assert {r["category"] for r in figures["per_class"]} == {r["category"] for r in baseline["per_class"]}
    assert done["passes"] is False, "an eighth of the seed set scores worse than the shipped model"

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
