"""The one door (`shared.handling`): dedupe, one transaction, the outbox, rollback on a refusal; and the one mapping of
domain errors to problem answers (`shared.errors` through `shared.http.problems`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from shared.contracts import Event
from shared.errors import Conflict, Invalid, NotFound
from shared.handling import Door, Work
from shared.http.problems import install_problem_handlers
from tests.fakes.transactions import CopyOnCommit

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclass
class State:
    processed: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    outbox: list[Event] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    asked: list[int] = field(default_factory=list)  # the size of each batch the door deduplicated


@dataclass
class Repo:
    state: State

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        self.state.asked.append(len(event_ids))
        fresh = {i for i in event_ids if (consumer, i) not in self.state.processed}
        self.state.processed.update((consumer, i) for i in fresh)
        return fresh

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        self.state.outbox.extend(events)


@dataclass(frozen=True)
class Message:
    event_id: uuid.UUID
    text: str


def door() -> tuple[Door[Repo, str], CopyOnCommit[State, Repo]]:
    transactions = CopyOnCommit(State(), Repo)
    return Door(transactions, "context", clock=lambda: NOW), transactions


async def note(message: Message, work: Work[Repo, str]) -> str:
    work.repo.state.rows.append(f"{message.text}@{work.now:%H:%M} in {work.context}")
    if message.text == "refused":
        raise Conflict("not now")
    return message.text.upper()


async def test_a_command_commits_once_with_its_answer() -> None:
    entrance, transactions = door()
    assert await entrance.run(note, Message(uuid.uuid4(), "hello")) == "HELLO"
    assert transactions.state.rows == ["hello@09:00 in context"]
    assert transactions.commits == 1


async def test_a_refusal_rolls_the_whole_unit_back() -> None:
    entrance, transactions = door()
    with pytest.raises(Conflict):
        await entrance.run(note, Message(uuid.uuid4(), "refused"))
    assert transactions.state.rows == [] and transactions.commits == 0


async def test_events_are_handled_once_per_consumer_and_in_order() -> None:
    entrance, transactions = door()
    first, second = Message(uuid.uuid4(), "a"), Message(uuid.uuid4(), "b")
    await entrance.each(note, [first, second], consumer="svc.one")
    await entrance.each(note, [second, first], consumer="svc.one")  # a redelivery changes nothing
    await entrance.each(note, [first], consumer="svc.other")  # another group sees it once too
    assert transactions.state.rows == ["a@09:00 in context", "b@09:00 in context", "a@09:00 in context"]


async def test_a_batch_handler_gets_only_first_deliveries_and_its_events_reach_the_outbox() -> None:
    entrance, transactions = door()
    seen: list[list[str]] = []
    event = Event.model_construct(event_id=uuid.uuid4())

    async def together(messages: Sequence[Message], work: Work[Repo, str]) -> None:
        seen.append([m.text for m in messages])
        work.emit(event)

    first = Message(uuid.uuid4(), "a")
    await entrance.batch(together, [first], consumer="svc")
    await entrance.batch(together, [first, Message(uuid.uuid4(), "b")], consumer="svc")
    assert seen == [["a"], ["b"]]
    assert transactions.state.outbox == [event, event]


async def test_a_batch_is_deduplicated_in_one_call_and_keeps_its_order() -> None:
    entrance, transactions = door()
    seen: list[list[str]] = []

    async def together(messages: Sequence[Message], work: Work[Repo, str]) -> None:
        seen.append([m.text for m in messages])

    old = [Message(uuid.uuid4(), text) for text in "xy"]
    await entrance.batch(together, old, consumer="svc")
    batch = [Message(uuid.uuid4(), text) for text in "fedcba"]
    # Redeliveries among them, and the same event twice in one batch: handed on once, in its first place.
    mixed = [batch[0], old[1], batch[1], batch[2], batch[0], batch[3], old[0], batch[4], batch[5], batch[3]]
    await entrance.batch(together, mixed, consumer="svc")
    await entrance.batch(together, [], consumer="svc")
    assert seen == [["x", "y"], ["f", "e", "d", "c", "b", "a"]]
    assert transactions.state.asked == [2, 10], "one call per batch, none for an empty one"


async def test_two_consumers_each_get_a_redelivered_batch_once() -> None:
    entrance, transactions = door()
    events = [Message(uuid.uuid4(), text) for text in "abc"]
    seen: dict[str, list[str]] = {"one": [], "two": []}

    def into(name: str) -> Callable[[Sequence[Message], Work[Repo, str]], Awaitable[None]]:
        async def together(messages: Sequence[Message], work: Work[Repo, str]) -> None:
            seen[name].extend(m.text for m in messages)

        return together

    for name in ("one", "two", "one", "two"):
        await entrance.batch(into(name), events[::-1] if name == "two" else events, consumer=f"svc.{name}")
    assert seen == {"one": ["a", "b", "c"], "two": ["c", "b", "a"]}
    assert transactions.commits == 4


async def test_a_rolled_back_batch_leaves_its_events_unmarked() -> None:
    entrance, transactions = door()
    event = Message(uuid.uuid4(), "refused")
    with pytest.raises(Conflict):
        await entrance.each(note, [Message(uuid.uuid4(), "first"), event], consumer="svc")
    assert transactions.state.processed == set(), "the marks rolled back with the effect"
    with pytest.raises(Conflict):
        await entrance.each(note, [event], consumer="svc")  # so the redelivery is handled again


async def test_only_events_are_deduplicated() -> None:
    entrance, _ = door()
    with pytest.raises(TypeError, match="no event_id"):
        await entrance.each(note, ["not an event"], consumer="svc")  # type: ignore[list-item]


async def test_domain_errors_become_problem_answers_in_one_place() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("no work order 7")

    @app.get("/bad")
    async def bad() -> None:
        raise Invalid("root cause X is not in the catalogue", field="root_cause", valid_root_causes=["A1"])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        missing_answer = await client.get("/missing")
        bad_answer = await client.get("/bad")
    assert missing_answer.status_code == 404
    assert missing_answer.headers["content-type"] == "application/problem+json"
    assert missing_answer.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": "/missing",
        "detail": "no work order 7",
    }
    assert bad_answer.status_code == 422
    assert bad_answer.json()["errors"] == [{"field": "root_cause", "message": "root cause X is not in the catalogue"}]
    assert bad_answer.json()["valid_root_causes"] == ["A1"]


def test_a_recordset_sends_times_in_utc_whatever_their_offset() -> None:
    """Postgres reads a timestamp's text offset up to 15:59; a contract's datetime may carry up to 23:59."""
    from datetime import timedelta, timezone

    from shared.db import recordset_json

    far = datetime(6164, 11, 20, 12, 16, 57, tzinfo=timezone(timedelta(hours=22, minutes=31)))
    naive = datetime(2026, 12, 5, 9, 0)
    sent = recordset_json([{"at": far, "naive": naive, "id": uuid.UUID(int=7)}])
    assert sent == (
        '[{"at":"6164-11-19T13:45:57+00:00","naive":"2026-12-05T09:00:00+00:00",'
        '"id":"00000000-0000-0000-0000-000000000007"}]'
    )


def test_a_recordset_of_dataclasses_is_what_asdict_and_json_wrote() -> None:
    """Dispatch sends its model dataclasses as they are (orjson, no `asdict` copy): the same text the old
    `json.dumps(asdict(row))` sent, nested dataclasses, tuples, enums, text and times included."""
    import dataclasses
    import enum
    import json
    from datetime import timedelta, timezone

    from shared.db import recordset_json

    class Status(enum.StrEnum):
        OPEN = "open"

    @dataclasses.dataclass(frozen=True)
    class Place:
        address: str
        coordinates: tuple[float, float] | None

    @dataclasses.dataclass(frozen=True)
    class Row:
        id: uuid.UUID
        status: Status
        at: datetime
        place: Place
        tags: tuple[str, ...]
        extra: dict[str, object]
        note: str | None

    row = Row(
        uuid.UUID(int=9),
        Status.OPEN,
        datetime(2026, 12, 6, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        Place("和平区1号", (41.8, 123.4)),
        ("a", "b"),
        {"n": 1, "nested": {"x": [1, 2]}},
        None,
    )
    old = json.dumps(
        [dataclasses.asdict(row)],
        default=lambda v: v.astimezone(UTC).isoformat() if isinstance(v, datetime) else str(v),
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert json.loads(recordset_json([row])) == json.loads(old)
    assert '"at":"2026-12-06T00:00:00+00:00"' in recordset_json([row])
