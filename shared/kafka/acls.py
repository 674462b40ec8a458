"""The ACLs of `shared.kafka.principals`, made on the broker through Kafka's CreateAcls request.

aiokafka has no ACL call and only the request's v0/v1 (which Kafka 4 no longer takes), so the flexible v2/v3
request is declared here. Creating an ACL that exists is a no-op on the broker, so applying the table on every
start is idempotent; a grant taken out of the table is not revoked here (an operator runs `kafka-acls --remove`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DescribeAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from shared.kafka.principals import PRINCIPALS, Principal

# Kafka's enums (org.apache.kafka.common.resource / acl).
TOPIC, GROUP = 2, 3
LITERAL, PREFIXED = 3, 4
READ, WRITE, DELETE = 3, 4, 6
ALLOW = 3
#: Error code of CreateAcls on a broker without an authorizer: nothing to apply.
SECURITY_DISABLED = 54


@dataclass(frozen=True)
class AclBinding:
    """`User:<principal>` may `operation` the resource (topic or group, literal or prefix), from any host."""

    principal: str
    resource_type: int
    resource_name: str
    pattern_type: int
    operation: int

    def as_creation(self) -> tuple[Any, ...]:
        return (
            self.resource_type,
            self.resource_name,
            self.pattern_type,
            f"User:{self.principal}",
            "*",
            self.operation,
            ALLOW,
            {},
        )


def bindings(principals: Iterable[Principal] = PRINCIPALS) -> list[AclBinding]:
    """The grants of the table: READ on each read topic, WRITE on each written one, READ on its group prefix, READ
    and DELETE on each topic it scrubs.

    READ implies DESCRIBE (metadata, offsets) and WRITE implies DESCRIBE and, since Kafka 3.0, the idempotent
    producer's right; DELETE on a topic is DeleteRecords (and deleting the topic itself, which no service code
    does); nothing else is granted, so a principal cannot create or reconfigure a topic."""
    granted: list[AclBinding] = []
    for p in principals:
        granted += [AclBinding(p.name, TOPIC, t, LITERAL, READ) for t in (*p.reads, *p.scrubs)]
        granted += [AclBinding(p.name, TOPIC, t, LITERAL, WRITE) for t in p.writes]
        granted += [AclBinding(p.name, TOPIC, t, LITERAL, DELETE) for t in p.scrubs]
        if p.group_prefix:
            granted.append(AclBinding(p.name, GROUP, p.group_prefix, PREFIXED, READ))
    return list(dict.fromkeys(granted))


class _CreateAclsResponse_v2(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 30
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(("error_code", Int16), ("error_message", CompactString("utf-8")), ("tags", TaggedFields)),
        ),
        ("tags", TaggedFields),
    )


class _CreateAclsResponse_v3(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 3
    SCHEMA = _CreateAclsResponse_v2.SCHEMA


_CREATIONS = CompactArray(
    ("resource_type", Int8),
    ("resource_name", CompactString("utf-8")),
    ("resource_pattern_type", Int8),
    ("principal", CompactString("utf-8")),
    ("host", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
    ("tags", TaggedFields),
)


class _CreateAclsRequest_v2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 2
    RESPONSE_TYPE = _CreateAclsResponse_v2
    SCHEMA = Schema(("creations", _CREATIONS), ("tags", TaggedFields))


class _CreateAclsRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 3
    RESPONSE_TYPE = _CreateAclsResponse_v3
    SCHEMA = _CreateAclsRequest_v2.SCHEMA


_CreateAclsStruct: TypeAlias = _CreateAclsRequest_v2 | _CreateAclsRequest_v3


class _CreateAcls(Request[_CreateAclsStruct]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, creations: list[tuple[Any, ...]]) -> None:
        self._creations = creations

    def build(self, request_struct_class: type[_CreateAclsStruct]) -> _CreateAclsStruct:
        return request_struct_class(self._creations, {})


class AclError(RuntimeError):
    """The broker refused an ACL of the table."""


async def create_acls(admin: AIOKafkaAdminClient, granted: list[AclBinding]) -> int:
    """Make `granted` on the cluster; returns how many were sent, 0 when the broker has no authorizer."""
    if not granted:
        return 0
    response = await admin._send_request(_CreateAcls([b.as_creation() for b in granted]))
    failures = []
    for binding, (code, message, *_rest) in zip(granted, response.results, strict=True):
        if code == SECURITY_DISABLED:
            return 0
        if code:
            failures.append(f"{binding}: error {code} {message or ''}".strip())
    if failures:
        raise AclError("could not create ACLs: " + "; ".join(failures[:5]))
    return len(granted)


#: DescribeAcls filter values: any resource type, pattern, operation and permission.
_ANY = 1


async def granted_on_broker(admin: AIOKafkaAdminClient) -> set[tuple[str, int, str, int, int]]:
    """The ALLOW ACLs the broker enforces now: (principal, resource type, name, pattern type, operation)."""
    response = await admin._send_request(DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY))
    if response.error_code:
        raise AclError(f"could not list ACLs: error {response.error_code} {response.error_message}")
    return {
        (principal.removeprefix("User:"), resource_type, name, pattern, operation)
        for resource_type, name, pattern, acls in response.resources
        for principal, _host, operation, permission in acls
        if permission == ALLOW
    }


async def wait_enforced(admin: AIOKafkaAdminClient, granted: list[AclBinding], deadline: float) -> None:
    """Poll until the broker enforces every ACL of `granted`. Why: a broker applies new ACLs when its metadata
    catches up with the controller's, seconds after CreateAcls answered on a busy machine; a service started in
    between would be refused its own topics."""
    wanted = {(b.principal, b.resource_type, b.resource_name, b.pattern_type, b.operation) for b in granted}
    while True:
        missing = wanted - await granted_on_broker(admin)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AclError(f"{len(missing)} ACLs not enforced in time, e.g. {sorted(missing)[:3]}")
        await asyncio.sleep(0.2)
