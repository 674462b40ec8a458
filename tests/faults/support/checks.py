"""Quiet, then exact. "Quiet" is decided, not guessed: every outbox is empty, no timer is due, every consumer
group has committed up to the end offset (high watermark) of every partition it reads, and the databases'
counts did not move between two such polls. Only then do the exact assertions run (every read model against
what was accepted, the topics, a rebuild from offset 0, a sweep for personal data), so they cannot race late
deliveries."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError

from services.reporting.rebuild import rebuild
from shared import topics
from shared.observability.group_probe import GroupProbe
from shared.sla import load_sla_table
from tests.faults.support.kafka import GROUP_TOPICS, READ_TOPICS, consumer_lags, read_topics
from tests.faults.support.ledger import Ledger
from tests.support.platform import Platform

DEPARTMENT_TOPIC = {
    "repair": topics.WORKORDERS_REPAIR,
    "billing": topics.WORKORDERS_BILLING,
    "customer_service": topics.WORKORDERS_CUSTOMER_SERVICE,
}
#: The reporting tables compared after a rebuild, with a total order for each.
REPORTING_TABLES = {
    "timeline": "event_id",
    "cases": "complaint_id",
    "contacts": "complaint_id",
    "kpi_rollup": "dimension, day, key",
    "kpi_rollup_handling": "dimension, day, key, bucket",
    "hotspot_hourly": "hour, district, category",
    "messages": "complaint_id, notification_id",
}


# --- quiet, then exact ----------------------------------------------------------------------------------------


#: A counter complaint not settled at the counter calls the duty manager (seed 001): a step of its timeline too.
DUTY_CALL = "duty_manager.called"


def case_steps(channel: str | None) -> list[str]:
    """The timeline steps of one streamed complaint once routed (sorted), by the channel it came in on."""
    steps = ["complaint.received", "complaint.routed", "workorder.assigned"]
    return sorted([*steps, DUTY_CALL]) if channel == "counter" else steps


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM intake.outbox) AS intake_outbox,"
        " (SELECT count(*) FROM dispatch.outbox) AS dispatch_outbox,"
        " (SELECT count(*) FROM followup.outbox) AS followup_outbox,"
        " (SELECT count(*) FROM notify.outbox) AS notify_outbox,"
        " (SELECT count(*) FROM notify.deliveries WHERE status = 'queued' AND due_at <= now())"
        "   AS deliveries_due,"
        " (SELECT count(*) FROM followup.timers WHERE fired_at IS NULL AND cancelled_at IS NULL"
        "   AND due_at <= now()) AS timers_due,"
        " (SELECT count(*) FROM intake.complaints) AS complaints,"
        " (SELECT count(*) FROM dispatch.work_orders) AS work_orders,"
        " (SELECT count(*) FROM followup.timers) AS timers,"
        " (SELECT count(*) FROM followup.contacts) AS followup_contacts,"
        " (SELECT count(*) FROM reporting.timeline) AS timeline,"
        " (SELECT count(*) FROM reporting.cases) AS reporting_cases"
    )
    assert row is not None, "a SELECT of counts has one row"
    return dict(row)


async def wait_quiet(platform: Platform, timeout: float = 60.0) -> dict[str, int]:
    """Until nothing moves: outboxes empty, no timer due, every group committed to the end offset of every
    partition it reads, and the same counts in two polls in a row. Returns those counts. The groups are read by one
    probe kept for the whole wait (`GroupProbe`): three new Kafka clients a poll made each poll take over a second."""
    probe = GroupProbe(platform.bootstrap, GROUP_TOPICS, None)
    try:
        return await _wait_quiet(platform, probe, timeout)
    finally:
        await probe.close()


async def _wait_quiet(platform: Platform, probe: GroupProbe, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    previous: dict[str, int] | None = None
    lags: dict[tuple[str, str, int], int] = {}
    counts: dict[str, int] = {}
    while True:
        try:
            conn = await asyncpg.connect(platform.dsn, timeout=5)
            try:
                counts = await _counts(conn)
                lags = consumer_lags(await probe.read())
                after = await _counts(conn)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError, KafkaError) as exc:
            # A node just thawed or restarted may refuse the poll's admin client for a moment: poll again.
            counts, after, lags = {"error": repr(exc)}, {}, {}  # type: ignore[dict-item]
        busy = any(
            counts.get(k, 1)
            for k in (
                "intake_outbox",
                "dispatch_outbox",
                "followup_outbox",
                "notify_outbox",
                "deliveries_due",
                "timers_due",
            )
        )
        if not busy and not lags and counts == after and counts == previous:
            return counts
        previous = counts if counts == after else None
        if time.monotonic() > deadline:
            by_group: dict[str, int] = defaultdict(int)
            for (group, _, _), lag in lags.items():
                by_group[group] += lag
            raise AssertionError(
                f"platform not quiet in {timeout}s: counts={counts} lag by group={dict(by_group)}\n"
                f"runner:\n{platform.output_tail(1500)}"
            )
        await asyncio.sleep(0.3)


def expected_timers(order: asyncpg.Record, share: float) -> set[tuple[str, str, int, datetime, datetime | None]]:
    """(kind, stage, level, due_at, deadline) of the timers followup schedules for a freshly assigned work
    order: a warning at `share` of each stage's limit and a first-rung breach at the limit, for every stage
    the policy sets, plus an interim reply when one is due (phone complaints)."""
    expected = set()
    for stage in ("acknowledge", "on_site", "resolve"):
        deadline = order[f"{stage}_by"]
        if deadline is None:
            continue
        warn_at = order["starts_at"] + (deadline - order["starts_at"]) * share
        expected.add(("warning", stage, 0, warn_at, deadline))
        expected.add(("breach", stage, 1, deadline, deadline))
    if order["interim_reply_by"] is not None:
        expected.add(("interim_reply", "interim_reply", 0, order["interim_reply_by"], order["interim_reply_by"]))
    return expected


async def assert_exact(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """Every accepted complaint, exactly once everywhere; nothing else. Call after `wait_quiet`."""
    n = len(ledger)
    ids = ledger.ids
    conn = await asyncpg.connect(platform.dsn)
    try:
        # intake: one complaint per accepted submission, nothing more (a retry never created a second one)
        intake = {
            str(r["complaint_id"]): r for r in await conn.fetch("SELECT * FROM intake.complaints ORDER BY accepted_at")
        }
        assert set(intake) == set(ledger.channels), (
            f"intake holds {len(intake)} complaints, {n} were accepted; "
            f"unexpected {sorted(set(intake) - set(ledger.channels))[:5]}, "
            f"missing {sorted(set(ledger.channels) - set(intake))[:5]}"
        )
        for key, complaint_id in ledger.by_key.items():
            assert intake[complaint_id]["idempotency_key"] == key
        for complaint_id, reference in ledger.references.items():
            assert intake[complaint_id]["reference_no"] == reference

        # dispatch: one case and exactly one work order (cycle 1) per complaint
        cases = await conn.fetch("SELECT complaint_id, cycle, linked_to FROM dispatch.cases")
        assert len(cases) == n and {str(r["complaint_id"]) for r in cases} == set(ledger.channels)
        assert all(r["cycle"] == 1 and r["linked_to"] is None for r in cases)
        doubled = await conn.fetch(
            "SELECT complaint_id, cycle, count(*) FROM dispatch.work_orders GROUP BY 1, 2 HAVING count(*) > 1"
        )
        assert not doubled, f"{len(doubled)} complaints with more than one work order in a cycle: {doubled[:5]}"
        orders = {
            str(r["complaint_id"]): r
            for r in await conn.fetch(
                "SELECT work_order_id, complaint_id, cycle, department, category, severity, status, starts_at, "
                "acknowledge_by, on_site_by, resolve_by, interim_reply_by FROM dispatch.work_orders"
            )
        }
        assert len(orders) == n and set(orders) == set(ledger.channels), f"{len(orders)} work orders for {n}"
        assert {(r["cycle"], r["status"]) for r in orders.values()} == {(1, "assigned")}

        # followup: each work order tracked once, with exactly the timers its deadlines imply, none fired
        tracked = {
            r["work_order_id"]: r
            for r in await conn.fetch(
                "SELECT work_order_id, complaint_id, cycle, starts_at, acknowledge_by, on_site_by, resolve_by, "
                "interim_reply_by, status FROM followup.work_orders"
            )
        }
        assert set(tracked) == {r["work_order_id"] for r in orders.values()}
        share = load_sla_table().warning_share
        timers: dict[uuid.UUID, list[tuple[Any, ...]]] = defaultdict(list)
        for r in await conn.fetch(
            "SELECT subject_id, kind, stage, level, due_at, deadline, fired_at, cancelled_at FROM followup.timers"
            " WHERE stage <> 'duty_manager'"
        ):
            timers[r["subject_id"]].append(tuple(r)[1:])
        assert set(timers) <= set(tracked), "timers for work orders followup does not track"
        # The counter's complaints (none settled on the spot here) called the duty manager: one clock each.
        called = {
            str(r["subject_id"]): r["n"]
            for r in await conn.fetch(
                "SELECT subject_id, count(*) AS n FROM followup.timers WHERE stage = 'duty_manager' GROUP BY 1"
            )
        }
        counter = {c for c, channel in ledger.channels.items() if channel == "counter"}
        assert set(called) == counter and min(called.values(), default=2) >= 2, "duty-manager clocks"
        expected_total = 0
        for complaint_id, order in orders.items():
            mine = tracked[order["work_order_id"]]
            for column in ("starts_at", "acknowledge_by", "on_site_by", "resolve_by", "interim_reply_by"):
                assert mine[column] == order[column], (complaint_id, column)
            expected = expected_timers(order, share)
            expected_total += len(expected)
            actual = timers.get(order["work_order_id"], [])
            assert len(actual) == len(expected), (complaint_id, sorted(actual), sorted(expected))
            assert all(t[5] is None and t[6] is None for t in actual), f"a timer fired or was cancelled: {actual}"
            got = {t[:5] for t in actual}
            for kind, stage, level, due_at, deadline in expected:
                match = [g for g in got if g[:3] == (kind, stage, level)]
                assert len(match) == 1, (complaint_id, kind, stage, level, sorted(got))
                assert abs(match[0][3] - due_at) <= timedelta(milliseconds=1) and match[0][4] == deadline
        assert sum(len(v) for v in timers.values()) == expected_total
        contacts = await conn.fetchval("SELECT count(*) FROM followup.contacts WHERE complaint_id = ANY($1)", ids)
        assert contacts == n == await conn.fetchval("SELECT count(*) FROM followup.contacts")
        assert await conn.fetchval("SELECT count(*) FROM followup.cases") == n
        assert await conn.fetchval("SELECT count(*) FROM followup.escalations WHERE stage <> 'duty_manager'") == 0
        assert await conn.fetchval("SELECT count(*) FROM followup.callbacks") == 0

        # reporting: one case per complaint as dispatch routed it, three events each, KPIs counting each once
        seen = {
            str(r["complaint_id"]): r
            for r in await conn.fetch(
                "SELECT complaint_id, reference_no, channel, status, cycle, work_order_id, department, category, "
                "severity, accepted_at FROM reporting.cases"
            )
        }
        assert set(seen) == set(ledger.channels) | ledger.orphans, (
            f"reporting has {len(seen)} cases for {n} complaints (+{len(ledger.orphans)} orphans)"
        )
        for complaint_id, order in orders.items():
            case = seen[complaint_id]
            assert (case["status"], case["cycle"], case["work_order_id"]) == ("assigned", 1, order["work_order_id"])
            assert (case["department"], case["category"], case["severity"]) == (
                order["department"],
                order["category"],
                order["severity"],
            )
            assert case["reference_no"] == ledger.references[complaint_id]
            assert case["channel"] == ledger.channels[complaint_id]
        events: dict[str, list[str]] = defaultdict(list)
        for r in await conn.fetch(
            "SELECT complaint_id, event_type FROM reporting.timeline WHERE complaint_id = ANY($1)", ids
        ):
            events[str(r["complaint_id"])].append(r["event_type"])
        # Besides the case's own steps, each message notify sent about it (the receipt: queued, sent, delivered).
        steps = {c: sorted(e for e in es if e != "notification.delivery") for c, es in events.items()}
        wrong = {c: e for c, e in steps.items() if e != case_steps(ledger.channels.get(c))}
        assert len(events) == n and not wrong, (
            f"timelines not exactly {case_steps(None)} (+{DUTY_CALL} at the counter): {list(wrong.items())[:5]}"
        )
        assert await conn.fetchval("SELECT count(*) FROM reporting.contacts") == n
        rollup = await conn.fetch(
            "SELECT dimension, key, sum(received) AS received, sum(routed) AS routed, "
            "sum(acknowledged + resolved + callbacks_done + satisfied + dissatisfied + reopened + closed) AS later "
            "FROM reporting.kpi_rollup GROUP BY 1, 2"
        )
        by_dimension: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for r in rollup:
            assert r["later"] == 0, f"KPI counters beyond routing moved: {dict(r)}"
            by_dimension[r["dimension"]][r["key"]] = (r["received"], r["routed"])
        assert by_dimension["all"] == {"*": (n, n)}, f"kpi_rollup 'all': {by_dimension['all']} for {n} routed"
        departments = Counter(r["department"] for r in orders.values())
        assert by_dimension["department"] == {k: (v, v) for k, v in departments.items()}
        categories = Counter(r["category"] for r in orders.values())
        assert by_dimension["category"] == {k: (v, v) for k, v in categories.items()}
        channels = Counter(ledger.channels.values())
        assert by_dimension["channel"] == {k: (v, v) for k, v in channels.items()}
        assert sum(r[0] for r in by_dimension["district"].values()) == n
        assert await conn.fetchval("SELECT count(*) FROM reporting.kpi_rollup_handling") == 0
        assert await conn.fetchval("SELECT coalesce(sum(n), 0) FROM reporting.hotspot_hourly") == n
        return {"complaints": n, "timers": expected_total, **{f"dept_{k}": v for k, v in departments.items()}}
    finally:
        await conn.close()


async def assert_topics(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """On the topics: every accepted complaint was published once per event (one event id each; the same
    id redelivered is allowed, a second id is a doubled effect) and nothing else but injected poison."""
    names = [
        topics.COMPLAINT_RECEIVED,
        topics.COMPLAINT_CONTACT,
        topics.COMPLAINT_ROUTED,
        *DEPARTMENT_TOPIC.values(),
    ]
    records = await read_topics(platform.bootstrap, names)
    ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    copies = 0
    strangers = set()
    for r in records:
        if r.key in ledger.poison_keys:
            continue
        key = (r.key or b"").decode()
        if key not in ledger.channels:
            strangers.add((r.topic, key))
            continue
        event = json.loads(r.value)
        before = len(ids[(r.topic, key, event["event_type"])])
        ids[(r.topic, key, event["event_type"])].add(event["event_id"])
        copies += before == len(ids[(r.topic, key, event["event_type"])])
    assert not strangers, f"records for complaints nobody accepted: {sorted(strangers)[:5]}"
    conn = await asyncpg.connect(platform.dsn)
    try:
        department = {
            str(r["complaint_id"]): r["department"]
            for r in await conn.fetch("SELECT complaint_id, department FROM dispatch.work_orders")
        }
    finally:
        await conn.close()
    wrong = []
    for complaint_id in ledger.channels:
        expected = {
            (topics.COMPLAINT_RECEIVED, "complaint.received"),
            (topics.COMPLAINT_CONTACT, "complaint.contact"),
            (topics.COMPLAINT_ROUTED, "complaint.routed"),
            (DEPARTMENT_TOPIC[department[complaint_id]], "workorder.assigned"),
        }
        got = {(t, e): len(v) for (t, k, e), v in ids.items() if k == complaint_id}
        if got != dict.fromkeys(expected, 1):
            wrong.append((complaint_id, got))
    assert not wrong, f"{len(wrong)} complaints not published exactly once per event: {wrong[:3]}"
    return {"records": len(records), "redelivered_copies": copies}


async def reporting_snapshot(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {order}")]
        for table, order in REPORTING_TABLES.items()
    }


async def settle_and_check(platform: Platform, ledger: Ledger, scenario: str, began: float) -> None:
    """After a scenario's stream: wait until quiet, then the exact checks of the whole module's ledger."""
    posted = time.monotonic()
    try:
        await wait_quiet(platform)
    except AssertionError:
        ledger.unsettled = scenario
        raise
    quiet = time.monotonic()
    exact = await assert_exact(platform, ledger)
    published = await assert_topics(platform, ledger)
    print(
        f"\n[{scenario}] {time.monotonic() - began:.1f}s (quiet after {quiet - posted:.1f}s, "
        f"checks {time.monotonic() - quiet:.1f}s); {exact}; {published}"
    )


#: How many rebuilds `assert_rebuild_equals_live` tries for one during which nothing moved.
REBUILD_ATTEMPTS = 3


async def assert_rebuild_equals_live(platform: Platform, ledger: Ledger) -> None:
    """Reporting rebuilt from offset 0 into a side schema equals the live read models, row by row, table
    by table. Compared once the platform is quiet, and nothing may move while the rebuild runs."""
    if ledger.unsettled:
        raise AssertionError(f"the platform never settled after {ledger.unsettled!r}: nothing stable to compare")
    began = time.monotonic()
    # A timer the scaled SLA clocks set may still come due while the rebuild runs (it takes a minute on a loaded
    # machine), and a moved platform gives nothing stable to compare: then wait for quiet and rebuild again.
    for _ in range(REBUILD_ATTEMPTS):
        quiet = await wait_quiet(platform)
        counts = await rebuild(platform.dsn, platform.bootstrap, "reporting_check", "Asia/Shanghai")
        conn = await asyncpg.connect(platform.dsn)
        try:
            live = await reporting_snapshot(conn, "reporting")
            rebuilt = await reporting_snapshot(conn, "reporting_check")
        finally:
            await conn.close()
        if await wait_quiet(platform) == quiet:
            break
    else:
        raise AssertionError(f"something moved during each of {REBUILD_ATTEMPTS} rebuilds: nothing stable to compare")
    for table in REPORTING_TABLES:
        only_live = set(live[table]) - set(rebuilt[table])
        only_rebuilt = set(rebuilt[table]) - set(live[table])
        assert rebuilt[table] == live[table], (
            f"{table} differs after the rebuild: {len(live[table])} live rows, {len(rebuilt[table])} rebuilt",
            sorted(only_live, key=repr)[:3],
            sorted(only_rebuilt, key=repr)[:3],
        )
    assert counts["skipped_invalid"] == sum(n for t, n in ledger.undecodable.items() if t in READ_TOPICS), counts
    assert len(live["cases"]) == len(ledger) + len(ledger.orphans)
    steps = [row for row in live["timeline"] if "notification.delivery" not in row]
    assert len(steps) == sum(len(case_steps(channel)) for channel in ledger.channels.values()) + len(ledger.orphans)
    print(f"\n[rebuild] {counts}; {len(live['timeline'])} events; {time.monotonic() - began:.1f}s")


async def assert_no_personal_data(platform: Platform, ledger: Ledger) -> dict[str, int]:
    """After the module's faults: no customer phone number or name in any log line of any process (services,
    replicas, runner), in any dead letter, or on any topic but the restricted ones (departments get masked
    contact data on their work-order topics)."""
    assert ledger.personal, "nothing to look for"
    # JSON may carry a name escaped (\\uXXXX) as well as raw: look for both spellings.
    needles = any_of({value for item in ledger.personal for value in (item, json.dumps(item)[1:-1])})
    logs = [*platform.logs_dir.glob("*.log"), *platform.workdir.glob("*.log"), platform.workdir / "runner.out"]
    leaks = [
        (path.name, needle)
        for path in logs
        for needle in sorted({m.group() for m in needles.finditer(path.read_text(errors="replace"))})
    ]
    assert not leaks, f"personal data in logs: {leaks[:5]}"
    shared_topics = [t for t in topics.ALL_TOPICS if t not in topics.RESTRICTED_TOPICS]
    records = await read_topics(platform.bootstrap, shared_topics)
    leaked = [
        (r.topic, r.offset, m.group())
        for r in records
        for m in [needles.search((r.value or b"").decode(errors="replace") + repr(r.headers))]
        if m
    ]
    assert not leaked, f"personal data on topics other departments read, or in dead letters: {leaked[:5]}"
    return {"log_files": len(logs), "records": len(records), "values_searched": len(ledger.personal)}


def any_of(needles: Iterable[str]) -> re.Pattern[str]:
    """One pattern that matches wherever any of the literal `needles` occurs. Built as a trie (`139(?:12|34)`),
    so a scan costs about the text's length instead of text length x thousands of needles."""
    trie: dict[str, Any] = {}
    for needle in needles:
        assert needle, "an empty needle matches everywhere"
        node = trie
        for char in needle:
            node = node.setdefault(char, {})
        node[""] = {}  # a needle ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a needle ends here; longer ones go on
            return body + "?" if len(branches) > 1 else "(?:" + body + ")?"
        return body

    assert trie, "nothing to look for"
    return re.compile(pattern(trie))
