"""Pure rules of intake: phone numbers, reference numbers, settings that refuse dev secrets."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from services.intake.reference import format_reference, looks_like_reference
from services.intake.schemas import normalise_phone
from services.intake.settings import IntakeSettings


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
    with pytest.raises(ValidationError, match="development or short secrets"):
        IntakeSettings(app_env="prod")
    strong = {"web": "w" * 32, "app": "a" * 32}
    assert IntakeSettings(app_env="prod", intake_channel_credentials=strong).channel_by_token["w" * 32] == "web"


def test_credentials_must_name_known_channels_and_differ() -> None:
    with pytest.raises(ValidationError, match="unknown channels"):
        IntakeSettings(intake_channel_credentials={"fax": "x" * 20})
    with pytest.raises(ValidationError, match="its own credential"):
        IntakeSettings(intake_channel_credentials={"web": "same" * 5, "app": "same" * 5})
