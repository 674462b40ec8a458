"""`operations.reconcile` reading `complaint.received` after a restore: each day's highest reference number, and
records that are no complaint (a poison someone published there) counted and left alone, never a crash."""

from __future__ import annotations

import json
import uuid
from datetime import date

from operations.reconcile import Plan, _note


def received(reference: str, complaint_id: uuid.UUID | None = None) -> bytes:
    payload = {"complaint_id": str(complaint_id or uuid.uuid4()), "reference_no": reference, "channel": "web"}
    return json.dumps({"event_type": "complaint.received", "correlation_id": "c-1", "payload": payload}).encode()


def test_the_highest_reference_of_each_day_is_what_the_sequence_moves_past() -> None:
    plan = Plan()
    for value in (
        received("TS-20261205-000041"),
        received("TS-20261206-000007"),
        received("TS-20261205-000003"),
        received("TS-20261206-1000002"),
    ):
        _note(plan, value)
    assert plan.highest == {date(2026, 12, 5): 41, date(2026, 12, 6): 1000002}
    assert len(plan.received) == 4 and plan.skipped == 0


def test_records_that_are_no_complaint_are_counted_not_fatal() -> None:
    plan = Plan()
    known = uuid.uuid4()
    for value in (
        b"not json",
        None,
        b"[1, 2]",
        json.dumps({"payload": {"complaint_id": "x", "reference_no": "TS-20261206-000001"}}).encode(),
        received("INC-20261206-000009"),
        received("TS-20261206-000005", known),
    ):
        _note(plan, value)
    assert plan.skipped == 5
    assert list(plan.received) == [str(known)] and plan.correlation[str(known)] == "c-1"
    assert plan.highest == {date(2026, 12, 6): 5}


def test_the_tools_refuse_a_time_without_its_utc_offset_before_doing_anything() -> None:
    """One argparse type for `reconcile --since`, `consumer_groups reset --to` and `backup restore --target-time`."""
    import argparse
    from datetime import datetime, timedelta, timezone

    import pytest

    from operations import backup, consumer_groups, reconcile
    from operations.times import aware_datetime

    assert aware_datetime("2026-12-01T08:00:00+08:00") == datetime(2026, 12, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    for naive in ("2026-12-01T08:00:00", "2026-12-01"):
        with pytest.raises(argparse.ArgumentTypeError, match="needs its UTC offset"):
            aware_datetime(naive)
    with pytest.raises(argparse.ArgumentTypeError, match="not an ISO 8601 time"):
        aware_datetime("yesterday")
    for parse, argv in (
        (reconcile._parse, ["--since", "2026-12-01T08:00:00"]),
        (consumer_groups._parse, ["reset", "--group", "g", "--topics", "t", "--to", "2026-12-01T08:00:00"]),
        (backup._parse, ["restore", "--backup", "b", "--data-dir", "d", "--target-time", "2026-12-01T08:00:00"]),
    ):
        with pytest.raises(SystemExit) as refused:
            parse(argv)
        assert refused.value.code == 2
