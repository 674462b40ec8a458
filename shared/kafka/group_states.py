"""Consumer groups' state and members, through Kafka's DescribeGroups request in its flexible v5 form.

Why declared here: aiokafka 0.14's `describe_consumer_groups` speaks v0–v3 and fails to decode the answer of a
Kafka 4 broker ("Buffer underrun decoding string": the connection is then closed), as its CreateAcls did
(`shared.kafka.acls`). Only what the group probe needs is read: each group's state and how many members it has.
"""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactBytes,
    CompactString,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

_MEMBER = CompactArray(
    ("member_id", CompactString("utf-8")),
    ("group_instance_id", CompactString("utf-8")),
    ("client_id", CompactString("utf-8")),
    ("client_host", CompactString("utf-8")),
    ("member_metadata", CompactBytes),
    ("member_assignment", CompactBytes),
    ("tags", TaggedFields),
)


class _DescribeGroupsResponse_v5(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 15
    API_VERSION = 5
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            CompactArray(
                ("error_code", Int16),
                ("group_id", CompactString("utf-8")),
                ("group_state", CompactString("utf-8")),
                ("protocol_type", CompactString("utf-8")),
                ("protocol_data", CompactString("utf-8")),
                ("members", _MEMBER),
                ("authorized_operations", Int32),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _DescribeGroupsRequest_v5(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 15
    API_VERSION = 5
    RESPONSE_TYPE = _DescribeGroupsResponse_v5
    SCHEMA = Schema(
        ("groups", CompactArray(CompactString("utf-8"))),
        ("include_authorized_operations", Boolean),
        ("tags", TaggedFields),
    )


class _DescribeGroups(Request[_DescribeGroupsRequest_v5]):  # type: ignore[misc]
    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self._groups = groups

    def build(self, request_struct_class: type[_DescribeGroupsRequest_v5]) -> _DescribeGroupsRequest_v5:
        return request_struct_class(self._groups, False, {})


async def group_states(admin: AIOKafkaAdminClient, groups: list[str]) -> dict[str, tuple[str, int]]:
    """Each group's (state, members) from its coordinator: "Empty" with 0 members when no consumer is in it, "Dead"
    for a group the cluster does not know (or has no coordinator for yet)."""
    by_coordinator: dict[int, list[str]] = {}
    states: dict[str, tuple[str, int]] = {}
    for group in groups:
        try:
            by_coordinator.setdefault(await admin.find_coordinator(group), []).append(group)
        except GroupCoordinatorNotAvailableError:  # no coordinator yet (a new cluster's offsets topic): no group
            states[group] = ("Dead", 0)
    for node, mine in by_coordinator.items():
        response: Any = await admin._send_request(_DescribeGroups(mine), node)
        for error_code, group, state, _type, _data, members, *_rest in response.groups:
            states[group] = ((state or "Dead") if not error_code else "Dead", len(members or ()))
    return states
