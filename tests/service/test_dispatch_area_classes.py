"""Area classes from configuration alone, through the real consumer, Postgres and the broker: with a policy file
that lists a district as rural, an emergency outage there must have a crew on site within 90 minutes; the same
complaint in a city district within 45.

Its own module: the dispatch instance here is the only one routing while it runs (another, on the shipped policy,
would race it for the same complaints)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from shared.sla.policy import DEFAULT_PATH
from tests.support.dispatch import received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

BLACKOUT = "整个小区大面积停电了，家里有卧床老人靠制氧机，请马上派人来"
VILLAGE = "Hamlet-Vale"


def _policy_listing_rural(directory: Path, district: str) -> Path:
    """The shipped policy with only `[areas]` changed: `district` is rural, every other district city."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    start = text.index("[areas]")
    end = text.index("\n[", start + 1)
    policy = directory / "policy.toml"
    areas = f'[areas]\ndefault = "city"\nrural = ["{district}"]\nremote = []\n'
    policy.write_text(text[:start] + areas + text[end + 1 :], encoding="utf-8")
    return policy


@pytest.fixture(scope="module")
async def dispatch(
    migrated: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    policy = _policy_listing_rural(tmp_path_factory.mktemp("sla"), VILLAGE)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SLA_POLICY_PATH", str(policy))  # read when the app is created
        async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as running:
            app, _ = running
            await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
            yield running


async def test_a_rural_district_gets_90_minutes_on_site_and_a_city_one_45(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    village = received(BLACKOUT, location={"address": "村东头1号", "district": VILLAGE.lower()})
    city = received(
        BLACKOUT, location={"address": f"和平区测试路{village.complaint_id.int % 1000}号", "district": "heping"}
    )
    await produce(
        bootstrap, topics.COMPLAINT_RECEIVED, [(e.key, e.model_dump_json().encode()) for e in (village, city)]
    )

    async def order_of(complaint_id: object) -> asyncpg.Record | None:
        return await db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", complaint_id)

    rural = await wait_until(lambda: order_of(village.complaint_id), timeout=30)
    urban = await wait_until(lambda: order_of(city.complaint_id), timeout=30)
    assert (rural["category"], rural["severity"]) == ("outage", "emergency")
    assert (rural["on_site_by"] - rural["starts_at"], rural["area_class"]) == (timedelta(minutes=90), "rural")
    assert (urban["on_site_by"] - urban["starts_at"], urban["area_class"]) == (timedelta(minutes=45), "city")

    records = await read_topic(
        bootstrap, topics.WORKORDERS_REPAIR, until=lambda rs: any(r.key == village.key for r in rs)
    )
    assigned = next(r.json()["payload"] for r in records if r.key == village.key)
    assert assigned["area_class"] == "rural"
    assert assigned["deadlines"]["policy_id"].endswith("/rural")
