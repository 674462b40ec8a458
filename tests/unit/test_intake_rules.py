"""Pure rules of intake: phone numbers, reference numbers, settings that refuse dev secrets, agent-only fields."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from pydantic import ValidationError

from services.intake.access import as_seen_by, authorize_submission, may_read
from services.intake.idempotency import fingerprint
from services.intake.reference import format_reference, looks_like_reference
from services.intake.schemas import AGENT_FIELDS, ComplaintCreate, normalise_phone
from services.intake.settings import IntakeSettings
from shared.contracts import Channel
from shared.errors import DomainError
from shared.http.person import Person
from tests.support.complaints import complaint


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("13912345678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("024-88812345", "02488812345"),
        ("0086 13912345678", "13912345678"),
        ("95598", "95598"),
    ],
)
def test_valid_phones_normalise(given: str, normal: str) -> None:
    assert normalise_phone(given) == normal


@pytest.mark.parametrize("bad", ["12345", "1391234567", "139123456789", "phone", "23912345678", "+1 415 555 0100"])
def test_malformed_phones_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(bad)


def test_reference_numbers_sort_by_day_then_sequence() -> None:
    refs = [
        format_reference(date(2026, 11, 23), 42),
        format_reference(date(2026, 11, 23), 7),
        format_reference(date(2026, 11, 24), 1),
    ]
    assert refs[0] == "TS-20261123-000042"
    assert sorted(refs) == [refs[1], refs[0], refs[2]]
    assert all(looks_like_reference(r) for r in refs)
    assert not looks_like_reference("TS-2026-1")


def test_production_refuses_development_credentials() -> None:
    with pytest.raises(ValidationError, match="web \\(a development key\\)"):
        IntakeSettings(app_env="prod")
    strong = {"web": "Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps", "app": "Hc4n9Rt2Wq7Lm1Zx6Vb3Ks8Pd5Fg0Jy"}
    with pytest.raises(ValidationError, match="intake_customer_hash_key"):
        IntakeSettings(app_env="prod", intake_channel_credentials=strong)
    hash_key = "Pn7Bv2Cx9Lk4Wq1Zr6Tm3Yd8Hs5Gf0Ja"
    settings = IntakeSettings(app_env="prod", intake_channel_credentials=strong, intake_customer_hash_key=hash_key)
    assert settings.channel_by_token[strong["web"]] == "web"


def test_credentials_must_name_known_channels_and_differ() -> None:
    with pytest.raises(ValidationError, match="unknown channels"):
        IntakeSettings(intake_channel_credentials={"fax": "x" * 20})
    with pytest.raises(ValidationError, match="its own credential"):
        IntakeSettings(intake_channel_credentials={"web": "same" * 5, "app": "same" * 5})


# --- agent channels: who took it, what was settled on the spot ------------------------------------------------


def _submission(channel: str, **agent: object) -> ComplaintCreate:
    return ComplaintCreate.model_validate(complaint(channel, **agent))


def _refusal(channel: str, **agent: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        _submission(channel, **agent)
    (error,) = caught.value.errors()
    return ".".join(str(p) for p in error["loc"]), error["msg"]


@pytest.mark.parametrize("channel", ["phone", "counter"])
def test_agent_channels_carry_who_took_it_and_what_was_settled(channel: str) -> None:
    taken = _submission(channel, agent_id="agent-0042", handled_on_contact="解释了停热原因", customer_agitated=True)
    assert (taken.agent_id, taken.handled_on_contact, taken.customer_agitated) == (
        "agent-0042",
        "解释了停热原因",
        True,
    )
    old_client = _submission(channel)
    assert (old_client.agent_id, old_client.handled_on_contact, old_client.customer_agitated) == (None, None, False)


@pytest.mark.parametrize("channel", ["web", "app", "wechat", "email", "partner_12345", "partner_95598"])
@pytest.mark.parametrize(
    ("field", "value"), [("agent_id", "agent-1"), ("handled_on_contact", "settled"), ("customer_agitated", True)]
)
def test_agent_fields_on_other_channels_are_refused_naming_field_and_channel(
    channel: str, field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        _submission(channel, **{"agent_id": "agent-1", field: value})
    refused = {".".join(str(p) for p in e["loc"]): e["msg"] for e in caught.value.errors()}
    assert set(refused) == {"agent_id", field}
    assert f"only on agent channels (counter, phone), not on channel {channel!r}" in refused[field]


@pytest.mark.parametrize(
    ("field", "value"), [("handled_on_contact", "explained the bill"), ("customer_agitated", True)]
)
def test_first_contact_fields_need_the_agent(field: str, value: object) -> None:
    """A channel key names the agent in the body; a signed-in agent is named by their token."""
    unsigned = _submission("phone", **{field: value})
    with pytest.raises(DomainError) as caught:
        authorize_submission(Channel.PHONE, unsigned)
    assert caught.value.status == 422
    assert caught.value.extra["errors"] == [
        {"field": field, "message": "needs agent_id: the agent who took the complaint"}
    ]
    agent = Person("agent.li", "李娜", frozenset({"agent"}))
    allowed = authorize_submission(agent, unsigned)
    assert (allowed.complaint.agent_id, allowed.agent_name, getattr(allowed.complaint, field)) == (
        "agent.li",
        "李娜",
        value,
    )


# --- persons: a signed-in agent submits phone and counter complaints as themselves ------------------------------

AGENT = Person("agent.li", "李娜", frozenset({"agent"}))


@pytest.mark.parametrize("channel", ["phone", "counter"])
def test_a_person_submits_as_themselves(channel: str) -> None:
    for body_agent in (None, "agent.li"):
        allowed = authorize_submission(AGENT, _submission(channel, agent_id=body_agent))
        assert (allowed.complaint.agent_id, allowed.agent_name) == ("agent.li", "李娜")
    supervisor = Person("supervisor.wu", "吴静", frozenset({"supervisor"}))
    assert authorize_submission(supervisor, _submission(channel)).complaint.agent_id == "supervisor.wu"


@pytest.mark.parametrize("channel", ["web", "app", "wechat", "email", "partner_12345", "partner_95598"])
def test_a_person_submits_no_other_channel(channel: str) -> None:
    with pytest.raises(DomainError) as caught:
        authorize_submission(AGENT, _submission(channel))
    assert caught.value.status == 403
    assert channel in caught.value.detail and caught.value.extra["errors"][0]["field"] == "channel"


def test_a_person_cannot_submit_for_another_agent_nor_without_the_role() -> None:
    with pytest.raises(DomainError) as caught:
        authorize_submission(AGENT, _submission("phone", agent_id="agent.wang"))
    assert caught.value.status == 422 and caught.value.extra["errors"][0]["field"] == "agent_id"
    crew = Person("crew1.chen", "陈刚", frozenset({"crew"}), department="repair", crew="repair-crew-1")
    with pytest.raises(DomainError) as refused:
        authorize_submission(crew, _submission("phone"))
    assert refused.value.status == 403


def test_a_channel_key_keeps_its_own_channel_and_its_agent_id() -> None:
    allowed = authorize_submission(Channel.PHONE, _submission("phone", agent_id="agent-0042"))
    assert (allowed.complaint.agent_id, allowed.agent_name) == ("agent-0042", None)
    with pytest.raises(DomainError) as caught:
        authorize_submission(Channel.WEB, _submission("phone"))
    assert caught.value.status == 403


def test_persons_read_their_own_submissions_with_the_contact_masked() -> None:
    submission = _submission("phone", agent_id="agent.li").model_dump(mode="json")
    submission["text"] = "回电13912345678"
    assert may_read(AGENT, "phone", submission)
    assert not may_read(Person("agent.wang", "王强", frozenset({"agent"})), "phone", submission)
    assert may_read(Person("supervisor.wu", "吴静", frozenset({"supervisor"})), "phone", submission)
    assert not may_read(AGENT, "web", submission)
    seen = as_seen_by(AGENT, submission)
    assert (seen["customer"]["name"], seen["customer"]["phone"]) == ("王**", "139******78")
    assert "13912345678" not in seen["text"]
    assert as_seen_by(Channel.PHONE, submission) == submission


@pytest.mark.parametrize(
    ("agent", "field"),
    [
        ({"agent_id": ""}, "agent_id"),
        ({"agent_id": "a" * 65}, "agent_id"),
        ({"agent_id": "agent\u0007"}, "agent_id"),
        ({"agent_id": "a-1", "handled_on_contact": "x" * 2001}, "handled_on_contact"),
        ({"agent_id": "a-1", "handled_on_contact": "   "}, "handled_on_contact"),
    ],
)
def test_agent_fields_are_bounded(agent: dict[str, object], field: str) -> None:
    assert _refusal("counter", **agent)[0] == field


def test_an_old_clients_retry_keeps_its_fingerprint() -> None:
    """Agent fields left out do not change the hash an earlier submission was stored with."""
    body = complaint("phone")
    plain = ComplaintCreate.model_validate(body)
    assert fingerprint(plain) == hashlib.sha256(plain.model_dump_json(exclude=set(AGENT_FIELDS)).encode()).hexdigest()
    assert fingerprint(ComplaintCreate.model_validate({**body, "agent_id": "a-1"})) != fingerprint(plain)
