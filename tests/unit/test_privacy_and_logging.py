"""Personal data never reaches a log line, and user text cannot forge one."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from shared.logging import bind_case, clear_case, configure_logging, get_logger
from shared.privacy import mask_name, mask_phone, mask_phones_in_text


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("电话13812345678请回电", "13812345678"),
        ("call +86 138-1234-5678 now", "1234-5678"),
        ("座机 024-88812345", "88812345"),
        ("mobile 0086 13912345678", "13912345678"),
    ],
)
def test_phone_numbers_in_text_are_masked(text: str, raw: str) -> None:
    masked = mask_phones_in_text(text)
    assert raw not in masked and "*" in masked


def test_reference_numbers_and_masks() -> None:
    assert mask_phones_in_text("TS-20261123-000042") == "TS-20261123-000042"
    uuid_text = "case 71059222-eb6b-4e17-949d-138123456789 phone 13812345678"
    assert mask_phones_in_text(uuid_text) == "case 71059222-eb6b-4e17-949d-138123456789 phone 138******78"
    assert mask_phone("+86 139 1234 5678") == "139******78"
    assert mask_name("王小明") == "王**"
    assert mask_name("John") == "J***"


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    structlog.reset_defaults()
    configure_logging("test", "INFO")
    yield buffer
    clear_case()
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_log_lines_are_json_masked_and_carry_the_case(captured_logs: io.StringIO) -> None:
    bind_case(complaint_id="c-1", correlation_id="k-1")
    get_logger("t").info(
        "complaint accepted",
        phone="13912345678",
        name="王小明",
        text='no heat\n{"event": "forged", "level": "critical"}\r\nagain 13812345678',
    )
    logging.getLogger("uvicorn.error").info("stdlib line with 13700001111")
    # Only this test's lines: in the whole suite a task an earlier test left behind may log to stdout meanwhile.
    written = captured_logs.getvalue().splitlines()
    assert not any(line.startswith(('{"event": "forged"', "again")) for line in written), "CR/LF forged a line"
    lines = [line for line in written if '"complaint accepted"' in line]
    assert len(lines) == 1, "CR/LF inside a value must not start a new line"
    first = json.loads(lines[0])
    assert first["complaint_id"] == "c-1" and first["correlation_id"] == "k-1"
    assert first["phone"] == "139******78" and first["name"] == "王**"
    assert "13812345678" not in lines[0] and "13912345678" not in lines[0]
    # The stdlib line (uvicorn's logger) goes through the same masking; an earlier test may have rerouted it.
    assert not any("13700001111" in line for line in written)


def test_lines_without_a_case_still_have_the_keys(captured_logs: io.StringIO) -> None:
    get_logger("t").info("started")
    line = json.loads(captured_logs.getvalue().splitlines()[0])
    assert line["complaint_id"] is None and line["correlation_id"] is None


def test_a_kafka_client_repeating_itself_is_logged_once_per_ten_seconds_with_the_count_left_out() -> None:
    """While the broker is down aiokafka logs every 100 ms retry of every client: 150-200 lines a second."""
    import logging

    from shared.logging import RepeatLimit

    now = [0.0]
    limit = RepeatLimit(every_s=10, clock=lambda: now[0])

    def record(name: str, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)

    unable = "Unable connect to node with id %s: %s"
    shown = []
    for tick in range(150):  # 15 s of a retry every 100 ms
        now[0] = tick / 10
        line = record("aiokafka.client", unable, 1, "refused")
        if limit.filter(line):
            shown.append(line.getMessage())
    assert shown == [
        "Unable connect to node with id 1: refused",
        "Unable connect to node with id 1: refused (and 99 more like it in the last 10 s)",
    ]
    assert limit.filter(record("aiokafka.consumer", "Heartbeat failed"))  # another complaint: its own count
    assert all(limit.filter(record("services.dispatch", "routed")) for _ in range(5)), "our own lines: never limited"
