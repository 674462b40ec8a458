"""A person's token: accepted when signed by the issuer for our audience and unexpired, refused (401) otherwise."""

from __future__ import annotations

import base64
import json

import pytest

from shared.http.person import Person, looks_like_jwt
from shared.http.problems import Problem
from tests.support.tokens import LocalIssuer


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer()


async def test_a_valid_token_names_the_person(issuer: LocalIssuer) -> None:
    token = issuer.mint(
        "crew1.chen", roles=("crew", "not-ours"), name="陈刚", department="repair", crew="repair-crew-1"
    )
    person = await issuer.verifier().verify(token)
    assert person == Person("crew1.chen", "陈刚", frozenset({"crew"}), "repair", "repair-crew-1")
    assert person.has("crew") and not person.has("supervisor")


@pytest.mark.parametrize(
    ("mint_args", "detail"),
    [
        ({"expires_in": -60}, "expired"),
        ({"audience": "another-app"}, "not for"),
        ({"issuer": "http://evil.test/realms/utility"}, "another issuer"),
    ],
)
async def test_expired_foreign_or_misaddressed_tokens_are_401(issuer: LocalIssuer, mint_args, detail) -> None:
    with pytest.raises(Problem) as refused:
        await issuer.verifier().verify(issuer.mint("agent.li", roles=("agent",), **mint_args))
    assert refused.value.status == 401
    assert detail in refused.value.detail


async def test_a_tampered_token_is_401(issuer: LocalIssuer) -> None:
    header, payload, signature = issuer.mint("agent.li", roles=("agent",)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["supervisor"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Problem) as refused:
        await issuer.verifier().verify(f"{header}.{forged}.{signature}")
    assert refused.value.status == 401


async def test_a_token_signed_by_another_key_is_401(issuer: LocalIssuer) -> None:
    impostor = LocalIssuer()
    impostor.kid = issuer.kid  # same key id, different key
    with pytest.raises(Problem) as refused:
        await issuer.verifier().verify(impostor.mint("agent.li", roles=("agent",)))
    assert refused.value.status == 401


def test_machine_keys_are_not_mistaken_for_tokens(issuer: LocalIssuer) -> None:
    assert not looks_like_jwt("dev-only-repair-key")
    assert looks_like_jwt(issuer.mint("agent.li"))
