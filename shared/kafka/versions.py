"""Events newer than a consumer knows (issue 26, upgrades): paused and redelivered, never dead-lettered.

Why: during a rolling deploy the producer's new version is out before every consumer's. A consumer pins the
versions it reads (`schema_version: Literal[1, 2]`), so a newer event fails validation; dead-lettering it would lose
its effect for good, though the same consumer, upgraded a minute later, handles it. So an event whose `event_type`
the consumer knows, with a `schema_version` above the highest it knows, is *not* bad data: the guard nacks it and
Kafka redelivers it (after the outage pause) until a consumer that knows the version takes the partition. It is
counted (`kafka_consumer_newer_versions_total`) so a partition held by a version nobody deploys is seen. An event of
a type the consumer does not read at all, or an older or malformed one, is judged as before (dead letter).
"""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Union, get_args, get_origin

from shared.errors import Unavailable


class NewerVersion(Unavailable):
    """The event's version is newer than this consumer knows: redeliver it, a newer consumer will."""


def _members(model: Any) -> list[Any]:
    origin = get_origin(model)
    if origin is Annotated:
        return _members(get_args(model)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(model) for m in _members(arg)]
    return [model]


def known_versions(model: Any) -> dict[str, int]:
    """The highest `schema_version` the model (an event, or a union of events) reads, per `event_type`."""
    found: dict[str, int] = {}
    for member in _members(model):
        fields = getattr(member, "model_fields", {})
        if "event_type" not in fields or "schema_version" not in fields:
            continue
        versions = [v for v in get_args(fields["schema_version"].annotation) if isinstance(v, int)]
        for event_type in get_args(fields["event_type"].annotation):
            if versions and isinstance(event_type, str):
                found[event_type] = max([*versions, found.get(event_type, 0)])
    return found


def newer_than_known(raw: bytes, known: dict[str, int]) -> NewerVersion | None:
    """A `NewerVersion` when `raw` is an event of a known type with a higher version than `known` holds."""
    if not known:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    event_type, version = document.get("event_type"), document.get("schema_version")
    if not isinstance(event_type, str) or event_type not in known:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version <= known[event_type]:
        return None
    return NewerVersion(f"{event_type} v{version} is newer than this consumer reads (up to v{known[event_type]})")
