"""`GET /live` on the real broker: the console under uvicorn (its real lifespan, its own consumer group from the
latest offset) turns an event published on a public topic into a change notice on a signed-in person's stream —
kinds and ids only, within a second or two — refuses a signed-out browser, and refuses a stream beyond its limit.

The page side (console.js re-reading a region) is driven in a real browser by tests/e2e/supervision/."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn

from services.console.bootstrap import create_app
from services.console.model import Session, id_hash
from services.console.repository import PostgresConsoleRepository
from services.console.settings import ConsoleSettings
from shared import topics
from shared.db import create_pool, transactions
from shared.http.person import Person
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce
from tests.support.ports import bound_socket, port_of
from tests.support.tokens import LocalIssuer


@contextmanager
def serving_console(infra: Infrastructure, issuer: LocalIssuer) -> Iterator[str]:
    sock = bound_socket()
    port = port_of(sock)
    settings = ConsoleSettings(
        app_env="test",
        database_url=infra.database_url,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        oidc_issuer=issuer.issuer,
        console_public_url=f"http://127.0.0.1:{port}",
        console_live_max_streams=1,
        console_live_heartbeat_s=1,
    )
    app = create_app(settings, persons=issuer.verifier())
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"console-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the console did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def _session(database_url: str, issuer: LocalIssuer) -> str:
    token = issuer.mint("duty.zheng", roles=("duty_manager",), name="郑", expires_in=1800)
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with transactions(pool, PostgresConsoleRepository)() as work:
            await work.repo.add_session(
                Session(
                    session_hash=id_hash(session_id),
                    person=Person("duty.zheng", "郑", frozenset({"duty_manager"})),
                    access_token=token,
                    access_expires_at=now + timedelta(minutes=30),
                    refresh_token=None,
                    refresh_expires_at=None,
                    id_token="not-used",
                    csrf_token=secrets.token_urlsafe(16),
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
            work.commit()
    finally:
        await pool.close()
    return session_id


async def _lines(response: httpx.Response) -> AsyncIterator[str]:
    async for line in response.aiter_lines():
        yield line


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer()


async def test_an_event_reaches_a_signed_in_stream_as_a_notice_of_kinds_and_ids(
    migrated: Infrastructure, issuer: LocalIssuer
) -> None:
    session_id = await _session(migrated.database_url, issuer)
    with serving_console(migrated, issuer) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            signed_out = await client.get("/live")
            assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
            cookies = {"console_session": session_id}
            async with client.stream("GET", "/live", cookies=cookies) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = _lines(stream)
                assert await anext(lines) == "retry: 2000"
                second = await client.get("/live", cookies=cookies)  # the limit here is one stream
                assert second.status_code == 503 and second.headers["retry-after"]
                complaint = str(uuid.uuid4())
                reference = f"TS-LIVE-{secrets.token_hex(3)}"
                event = {
                    "event_type": "complaint.escalated",
                    "complaint_id": complaint,
                    "payload": {"reference_no": reference, "text": "小区停暖", "phone": "13955550000"},
                }
                notice, took = await _notice_after_publishing(migrated, lines, complaint, event)
    assert notice["kinds"] == ["case", "duty", "escalation"]
    assert notice == {
        "kinds": notice["kinds"],
        "event_type": "complaint.escalated",
        "complaint_id": complaint,
        "reference_no": reference,
    }
    assert took < 2.0, f"the notice took {took:.2f} s"


async def _notice_after_publishing(
    infra: Infrastructure, lines: AsyncIterator[str], complaint: str, event: dict[str, object]
) -> tuple[dict[str, object], float]:
    """Publish until the console's fresh group is assigned its partitions (it reads from the latest offset), then
    the time from the last publish to its notice."""
    notices: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def read() -> None:
        async for line in lines:
            if line.startswith("data: ") and complaint in line:
                notices.put_nowait(json.loads(line[6:]))

    reader = asyncio.create_task(read())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = time.monotonic()
            message = (complaint.encode(), json.dumps(event).encode())
            await produce(infra.kafka_bootstrap_servers, topics.COMPLAINT_ESCALATED, [message])
            try:
                notice = await asyncio.wait_for(notices.get(), timeout=3)
            except TimeoutError:
                continue
            return notice, time.monotonic() - sent
        raise AssertionError("no notice within 60 s")
    finally:
        reader.cancel()
