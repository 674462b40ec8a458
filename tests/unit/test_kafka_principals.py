"""The ACL table (`shared.kafka.principals`) says exactly what each service reads, and covers what it publishes.

A subscription added without its grant would be refused by the broker at start; a grant left behind after a
subscription went would let the service read a topic it no longer needs. Both fail here first.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from shared import topics
from shared.kafka.acls import DELETE, GROUP, PREFIXED, READ, WRITE, bindings
from shared.kafka.principals import OUTSIDE_SYSTEMS, PRINCIPALS, PUBLIC_TOPICS, SERVICES, principal, readers_of

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", [p.name for p in SERVICES])
def test_a_service_reads_exactly_the_topics_of_its_subscriptions(service: str) -> None:
    consumers = importlib.import_module(f"services.{service}.consumers")
    subscribed = {t for s in consumers.SUBSCRIPTIONS for t in s.topics}
    assert set(principal(service).reads) == subscribed
    groups = {s.group for s in consumers.SUBSCRIPTIONS}
    assert all(g == service or g.startswith(f"{service}.") for g in groups), groups


@pytest.mark.parametrize("service", [p.name for p in SERVICES])
def test_a_service_writes_what_it_publishes_and_its_dead_letters_and_nothing_restricted_it_does_not_own(
    service: str,
) -> None:
    grant = principal(service)
    assert set(grant.dead_letters) <= set(grant.writes)
    document = ASYNCAPI / f"{service}.json"
    if document.is_file():  # the services whose AsyncAPI is published: what they send must be granted
        spec = json.loads(document.read_text(encoding="utf-8"))
        channels = {name: c["address"] for name, c in spec["channels"].items()}
        sent = {
            channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]
            for op in spec.get("operations", {}).values()
            if op.get("action") == "send"
        }
        assert sent <= set(grant.writes), sent - set(grant.writes)


def test_restricted_topics_and_their_dead_letters_are_read_only_by_the_services_that_consume_them() -> None:
    for topic in topics.RESTRICTED_TOPICS:
        assert topic not in PUBLIC_TOPICS
        readers = set(readers_of(topic))
        assert readers <= {p.name for p in SERVICES}, readers
        assert not readers_of(topics.dead_letter_topic(topic))  # dead letters: the admin's replay tool only


def test_outside_systems_write_only_their_inbox() -> None:
    assert {p.name: p.writes for p in OUTSIDE_SYSTEMS} == {
        "department": (topics.DEPARTMENT_UPDATES,),
        "outage-system": (topics.OUTAGE_NOTICES,),
        "partner-12345": (topics.PARTNER_TICKETS,),
        "partner-95598": (topics.PARTNER_TICKETS,),
    }
    assert principal("department").reads == PUBLIC_TOPICS
    assert not any(t.startswith("ingress.") for t in PUBLIC_TOPICS)


def test_the_bindings_grant_read_write_and_the_service_group_prefix_only() -> None:
    granted = bindings()
    assert {b.operation for b in granted} == {READ, WRITE, DELETE}
    deletes = {(b.principal, b.resource_name) for b in granted if b.operation == DELETE}
    in_clear = (topics.PARTNER_TICKETS, topics.CHANNEL_MESSAGES)
    expected = {("intake", t) for t in in_clear} | {("intake", topics.dead_letter_topic(t)) for t in in_clear}
    assert deletes == expected, "only intake takes records out, and only of the ingress it scrubs on an erasure"
    groups = {(b.principal, b.resource_name) for b in granted if b.resource_type == GROUP}
    assert all(b.pattern_type == PREFIXED for b in granted if b.resource_type == GROUP)
    assert groups == {(p.name, p.group_prefix) for p in PRINCIPALS if p.group_prefix}
    reporting_writes = [b.resource_name for b in granted if b.principal == "reporting" and b.operation == WRITE]
    assert all(name.endswith(".dlq") for name in reporting_writes), reporting_writes
