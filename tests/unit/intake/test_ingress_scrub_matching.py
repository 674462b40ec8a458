"""Which ingress records are an erased customer's (`services/intake/ingress_scrub.py`): a phone they were found by,
in any field, however the sender wrote it, or their account number — and nobody else's."""

from __future__ import annotations

import json
import uuid

from aiokafka import ConsumerRecord

from services.intake.customers import phone_hash
from services.intake.ingress_scrub import ErasedSubjects, phone_candidates
from services.intake.privacy import PendingScrub

SECRET = "scrub-test-secret"
PHONE = "13912345678"


def _record(value: bytes) -> ConsumerRecord:
    return ConsumerRecord("ingress.partner-tickets", 0, 7, 0, 0, b"k", value, None, len(b"k"), len(value), [])


def _subjects() -> ErasedSubjects:
    pending = [PendingScrub(uuid.uuid4(), (phone_hash(PHONE, SECRET),), ("ACC-0042",))]
    return ErasedSubjects.of(pending, SECRET)


def test_a_number_is_found_however_it_is_written() -> None:
    assert PHONE in phone_candidates(f"请回电{PHONE}谢谢")
    assert PHONE in phone_candidates("+86 139 1234 5678")
    assert PHONE in phone_candidates("139-1234-5678")
    assert phone_candidates("室温15度，3单元") == set(), "short numbers are not phones"


def test_a_record_naming_the_phone_or_account_anywhere_is_theirs() -> None:
    subjects = _subjects()
    nested = {"payload": {"customer": {"phone": PHONE}}, "event_type": "channel.complaint"}
    assert subjects.matches(_record(json.dumps(nested).encode()))
    assert subjects.matches(_record(json.dumps({"content": "请打 +86 139 1234 5678"}).encode()))
    assert subjects.matches(_record(json.dumps({"account_no": " acc-0042 "}).encode()))
    assert subjects.matches(_record(f"not json at all: {PHONE}".encode())), "a poison record's text too"


def test_nobody_elses_record_is_theirs() -> None:
    subjects = _subjects()
    assert not subjects.matches(_record(json.dumps({"caller_phone": "13912345679", "content": "没水"}).encode()))
    assert not subjects.matches(_record(json.dumps({"account_no": "ACC-00420"}).encode()))
    assert not subjects.matches(_record(b""))
