"""The live pages' pure parts: every event of a topic the console reads has its kinds, a notice carries only kinds
and ids (never a name, phone or text), and the hub fans out, bounds a slow stream and ends every stream at shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import uuid
from pathlib import Path

import pytest

from services.console.live import (
    RESYNC,
    STREAM_BACKLOG,
    LiveHub,
    Notice,
    TooManyStreams,
    close_on_exit_signals,
    notice_of,
)
from services.console.live_kinds import KINDS, KINDS_BY_EVENT, LIVE_TOPICS
from shared.contracts import EVENT_TYPES
from shared.kafka.principals import principal

#: Events of topics the console does not read (restricted, ingress, notify's requests and failures, erasures).
NOT_LIVE = ("channel.", "complaint.contact", "notification.requested", "notification.failed", "privacy.")


def test_every_event_the_console_may_read_has_its_kinds_and_every_kind_is_known() -> None:
    live_types = {t for t in EVENT_TYPES if not t.startswith(NOT_LIVE)}
    assert live_types <= set(KINDS_BY_EVENT), sorted(live_types - set(KINDS_BY_EVENT))
    assert set().union(*KINDS_BY_EVENT.values()) <= KINDS
    assert set(principal("console").reads) == set(LIVE_TOPICS)


def test_a_notice_carries_kinds_and_ids_only() -> None:
    complaint = str(uuid.uuid4())
    raw = json.dumps(
        {
            "event_type": "complaint.escalated",
            "complaint_id": complaint,
            "payload": {
                "reference_no": "TS-20261206-000001",
                "escalation_id": str(uuid.uuid4()),
                "text": "no heating at 幸福小区",
                "phone": "13800000000",
            },
        }
    ).encode()
    notice = notice_of(raw)
    assert notice is not None
    assert notice.kinds == ("case", "duty", "escalation")
    sent = notice.as_sse().decode()
    assert sent.startswith("event: change\ndata: ") and sent.endswith("\n\n")
    data = json.loads(sent.split("data: ", 1)[1])
    assert data["complaint_id"] == complaint and data["reference_no"] == "TS-20261206-000001"
    assert "幸福" not in sent and "13800000000" not in sent


def test_a_staff_notice_delivered_is_an_inbox_change_and_a_customers_message_none() -> None:
    """The inbox hears notify's public delivery status, never the restricted request (its text and addresses)."""
    notification = str(uuid.uuid4())

    def delivery(recipient_kind: str) -> bytes:
        payload = {"notification_id": notification, "recipient_kind": recipient_kind, "channel": "console"}
        return json.dumps(
            {"event_type": "notification.delivery", "payload": {**payload, "status": "delivered"}}
        ).encode()

    notice = notice_of(delivery("staff"))
    assert notice is not None and notice.kinds == ("inbox",) and notice.notification_id == notification
    assert notice_of(delivery("customer")) is None
    assert "notification.requested" not in LIVE_TOPICS and "notification.delivery" in LIVE_TOPICS


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"not json", b"[1]", b'{"event_type": 3}', b'{"event_type": "notification.requested", "payload": {}}'],
)
def test_what_is_no_event_of_ours_makes_no_notice(raw: bytes | None) -> None:
    assert notice_of(raw) is None


def test_the_hub_fans_out_bounds_a_slow_stream_and_closes_every_stream() -> None:
    async def run() -> None:
        hub = LiveHub(max_streams=2)
        notice = Notice(kinds=("duty",), event_type="duty_manager.called")
        with hub.stream() as first, hub.stream() as second:
            with pytest.raises(TooManyStreams), hub.stream():
                pass
            for _ in range(STREAM_BACKLOG + 1):
                hub.publish(notice)
            assert second.qsize() == 1 and second.get_nowait() == RESYNC  # told to re-read everything, once
            assert first.qsize() == 1
            hub.close_all()
            assert first.get_nowait() is None
            assert not hub.has_room()
        assert hub.open_streams == 0

    asyncio.run(run())


def test_a_stop_signal_ends_every_stream_and_still_reaches_the_servers_handler() -> None:
    """uvicorn waits for open responses before the lifespan's shutdown: the signal itself must end the streams."""
    told: list[int] = []

    async def run() -> None:
        previous = signal.signal(signal.SIGTERM, lambda sig, frame: told.append(sig))
        try:
            hub = LiveHub(max_streams=5)
            restore = close_on_exit_signals(hub)
            with hub.stream() as queue:
                signal.raise_signal(signal.SIGTERM)
                assert await asyncio.wait_for(queue.get(), timeout=5) is None
            restore()
            assert told == [signal.SIGTERM] and hub.closing
        finally:
            signal.signal(signal.SIGTERM, previous)

    asyncio.run(run())


def test_every_live_region_of_the_templates_listens_for_known_kinds() -> None:
    """A misspelt kind would leave a region that never updates: every `data-live` names kinds of `KINDS`."""
    templates = Path(__file__).resolve().parents[3] / "services" / "console" / "templates"
    named = {
        kind
        for page in templates.glob("*.html")
        for found in re.findall(r'data-live="([^"]*)"', page.read_text(encoding="utf-8"))
        for kind in found.split()
    }
    assert named and named <= KINDS, sorted(named - KINDS)
