"""The console's OpenID Connect client, piece by piece: PKCE S256 (RFC 7636's own example), the authorization
request, and the ID token's checks — signature by the issuer's published keys, issuer, audience = our client,
expiry, nonce, azp. (The whole sign-in runs against the real provider in tests/service/test_console_signin.py.)"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.console.oidc import (
    OidcClient,
    ProviderUnavailable,
    SignInFailed,
    new_authorization_request,
    pkce_challenge,
)
from tests.support.tokens import LocalIssuer

CLIENT = "console"
REDIRECT = "https://console.utility.example/auth/callback"


def _provider(issuer: LocalIssuer, *, token_answers: list[httpx.Response] | None = None, seen: list | None = None):
    base = issuer.issuer

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=issuer.discovery)
        if path.endswith("/certs"):
            return httpx.Response(200, json=issuer.jwks)
        if path.endswith("/token") and token_answers:
            return token_answers.pop(0)
        return httpx.Response(404)

    return OidcClient(
        issuer=base,
        client_id=CLIENT,
        client_secret="s3cret-of-the-console",
        redirect_uri=REDIRECT,
        http=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
    )


def test_pkce_s256_matches_rfc_7636() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    first, second = new_authorization_request(), new_authorization_request()
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert 43 <= len(first.code_verifier) <= 128


async def test_the_authorization_request_carries_pkce_state_and_nonce() -> None:
    issuer = LocalIssuer()
    client = _provider(issuer)
    request = new_authorization_request()
    url = await client.authorization_url(request)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith(f"{issuer.issuer}/protocol/openid-connect/auth?")
    assert query == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
    }


async def test_the_authorization_request_asks_for_the_persons_language() -> None:
    client = _provider(LocalIssuer())
    for locale in ("zh-CN", "en"):
        url = await client.authorization_url(new_authorization_request(), locale)
        assert parse_qs(urlsplit(url).query)["ui_locales"] == [locale]


async def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    issuer = LocalIssuer()
    client = _provider(issuer)
    client.issuer = "http://elsewhere.test/realms/utility"
    with pytest.raises(ProviderUnavailable, match="names issuer"):
        await client.metadata()


async def test_the_code_is_traded_with_the_verifier_and_the_clients_secret() -> None:
    issuer = LocalIssuer()
    seen: list[httpx.Request] = []
    answer = httpx.Response(
        200,
        json={"access_token": "a", "token_type": "Bearer", "expires_in": 300, "refresh_token": "r", "id_token": "i"},
    )
    client = _provider(issuer, token_answers=[answer], seen=seen)
    tokens = await client.exchange_code("the-code", "the-verifier")
    assert (tokens.access_token, tokens.refresh_token, tokens.id_token, tokens.expires_in) == ("a", "r", "i", 300)
    form = parse_qs(seen[-1].content.decode())
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["the-code"] and form["code_verifier"] == ["the-verifier"]
    assert form["redirect_uri"] == [REDIRECT] and form["client_id"] == [CLIENT]
    assert form["client_secret"] == ["s3cret-of-the-console"]


async def test_a_refused_code_is_a_failed_sign_in_and_a_provider_error_is_an_outage() -> None:
    issuer = LocalIssuer()
    client = _provider(
        issuer,
        token_answers=[
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "Code not valid"}),
            httpx.Response(502, text="bad gateway"),
        ],
    )
    with pytest.raises(SignInFailed, match="invalid_grant"):
        await client.exchange_code("used", "v")
    with pytest.raises(ProviderUnavailable):
        await client.exchange_code("code", "v")


def _id_token(signer: LocalIssuer, **claims: object) -> str:
    defaults: dict[str, object] = {"audience": CLIENT, "nonce": "n-1"}
    return signer.mint("agent.li", name="李娜", roles=("agent",), **{**defaults, **claims})


async def test_a_good_id_token_gives_its_claims() -> None:
    issuer = LocalIssuer()
    claims = await _provider(issuer).verify_id_token(_id_token(issuer), nonce="n-1")
    assert (claims["staff_id"], claims["name"], claims["nonce"]) == ("agent.li", "李娜", "n-1")


@pytest.mark.parametrize(
    ("claims", "nonce", "reason"),
    [
        ({}, "another-nonce", "nonce"),
        ({"audience": "some-other-client"}, "n-1", "audience"),
        ({"expires_in": -120}, "n-1", "expired"),
        ({"issuer": "http://elsewhere.test/realms/utility"}, "n-1", "issuer"),
        ({"aud": [CLIENT, "utility-services"], "azp": "other"}, "n-1", "another party (azp)"),
    ],
)
async def test_a_bad_id_token_is_refused(claims: dict[str, object], nonce: str, reason: str) -> None:
    issuer = LocalIssuer()
    token = _id_token(issuer, **claims)
    with pytest.raises(SignInFailed) as refused:
        await _provider(issuer).verify_id_token(token, nonce=nonce)
    assert reason in str(refused.value).lower()


async def test_an_id_token_signed_by_another_key_is_refused() -> None:
    issuer, forger = LocalIssuer(), LocalIssuer()
    with pytest.raises(SignInFailed, match="key the provider does not publish"):
        await _provider(issuer).verify_id_token(_id_token(forger), nonce="n-1")


async def test_sign_out_leads_to_the_providers_end_session_with_the_id_token() -> None:
    issuer = LocalIssuer()
    url = await _provider(issuer).end_session_url("the-id-token", "https://console.utility.example/signed-out")
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["id_token_hint"] == ["the-id-token"]
    assert query["post_logout_redirect_uri"] == ["https://console.utility.example/signed-out"]
    assert query["client_id"] == [CLIENT]
