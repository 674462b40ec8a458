"""Issue 26, must-show 2 (the readiness half): one subscriber of a running service stops — its consume loop ends
while the process, its HTTP and its other subscribers carry on, as after a consumer that reported itself stopped —
and /readyz answers 503 naming it (`shared.kafka.liveness`), so the orchestrator restarts the process; before, it
said ready, with Postgres reachable."""

from __future__ import annotations

import uuid

import httpx

from services.dispatch import consumers
from shared.kafka.liveness import stopped_subscribers
from tests.support.dispatch import running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import start_groups_at_end, wait_until


async def test_a_stopped_consumer_makes_the_service_not_ready_within_30_s(migrated: Infrastructure) -> None:
    kafka, prefix = migrated.kafka_bootstrap_servers, f"liveness-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(kafka, consumers.SUBSCRIPTIONS, prefix)
    async with running_dispatch(migrated.database_url, kafka, dispatch_consumer_group=prefix) as (app, http):

        async def ready() -> httpx.Response | None:
            answer = await http.get("/readyz")
            return answer if answer.status_code == 200 and app.state.kafka["kafka"] == "connected" else None

        await wait_until(ready, timeout=60, interval=0.2)
        broker = app.state.broker
        victim = next(s for s in broker.subscribers if getattr(s, "consumer", None) is not None)
        assert stopped_subscribers(broker) == []
        await victim.consumer.stop()  # its loop sees the consumer stopped and returns; nothing restarts it

        async def not_ready() -> httpx.Response | None:
            answer = await http.get("/readyz")
            return answer if answer.status_code == 503 else None

        refused = await wait_until(not_ready, timeout=30, interval=0.2)
        stopped = refused.json()["stopped_consumers"]
        assert stopped == [f"{victim.group_id}: {', '.join(victim.topic_names)}"], "it names the stopped one only"
        assert (await http.get("/healthz")).status_code == 200, "the process itself is alive"
