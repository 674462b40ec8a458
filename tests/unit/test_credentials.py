"""Production keys (`shared.credentials`, `shared.settings.refuse_dev_secrets`; issue 25): judged by value, not by
the variable's name — a development key, the README's placeholder, a short or predictable key are refused outside
dev; a key may be configured as its hash and is then matched by it."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from services.dispatch.settings import DispatchSettings
from services.followup.settings import FollowupSettings
from shared.credentials import entropy_bits, hashed, main, match_token, weakness
from shared.settings import ServiceSettings, refuse_dev_secrets

STRONG = "Zq3w8Xv1Lr6Tn0Yb5Kc9Md2Hf7Jg4Ps"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("dev-only-web-key", "a development key"),
        ("my-dev-only-key-renamed-0123456789", "a development key"),
        ("<32+ random chars>", "a placeholder"),
        ("change-me-to-a-long-url-safe-password", "a placeholder"),
        ("Sh0rt!", "shorter than 16 characters"),
        ("k" * 32, "too little entropy"),
        ("abababababababababababab", "too little entropy"),
    ],
)
def test_weak_values_are_named_for_what_they_are(value: str, reason: str) -> None:
    assert weakness(value) == reason


def test_random_keys_pass() -> None:
    assert weakness(secrets.token_urlsafe(32)) is None
    assert weakness(secrets.token_hex(16)) is None
    assert entropy_bits(secrets.token_urlsafe(32)) > 150


def test_a_dev_key_is_refused_in_prod_whatever_its_credential_is_called() -> None:
    prod = ServiceSettings(app_env="prod")
    # Two keys under one name: the mapping would have kept only the second; both are judged.
    with pytest.raises(ValueError, match=r"supervisor \(a development key\)"):
        refuse_dev_secrets(prod, [("supervisor", STRONG), ("supervisor", "dev-only-supervisor-key")])
    refuse_dev_secrets(ServiceSettings(app_env="dev"), [("supervisor", "dev-only-supervisor-key")])
    with pytest.raises(ValidationError, match="a development key"):
        DispatchSettings(
            app_env="prod",
            dispatch_credentials={
                STRONG: {"name": "repair-desk", "role": "department", "department": "repair"},
                "dev-only-supervisor-key": {"name": "repair-desk-2", "role": "supervisor"},
            },
        )
    with pytest.raises(ValidationError, match=r"callback-agent \(a placeholder\)"):
        FollowupSettings(
            app_env="prod", followup_credentials={"<32+ random chars>": {"name": "callback-agent", "role": "agent"}}
        )


def test_a_key_configured_hashed_is_matched_by_its_hash_and_never_in_clear() -> None:
    key = secrets.token_urlsafe(32)
    known = {hashed(key): "web", STRONG: "app"}
    assert match_token(key, known) == "web" and match_token(STRONG, known) == "app"
    assert match_token(hashed(key), known) is None, "the hash itself is no credential"
    assert match_token("other", known) is None
    assert weakness(hashed(key)) is None
    settings = FollowupSettings(
        app_env="prod", followup_credentials={hashed(key): {"name": "callback-agent", "role": "agent"}}
    )
    assert match_token(key, settings.credential_by_token) is not None


def test_the_hashing_command_refuses_a_weak_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev-only-web-key"]) == 1
    assert "a development key" in capsys.readouterr().err
    key = secrets.token_urlsafe(32)
    assert main([key]) == 0
    assert capsys.readouterr().out.strip() == hashed(key)
