"""OpenID Connect, the little of it the console needs: authorization code with PKCE (S256), state and nonce, as a
confidential client; the ID token checked against the provider's published keys; refresh; and sign-out at the
provider (RP-initiated logout).

Written small on httpx and PyJWT rather than taken from a framework, so each check is visible: the ID token's
signature (the issuer's JWKS), `iss`, `aud` (our client id), `azp`, `exp`/`iat` and the `nonce` we sent. The
provider is found through its discovery document, so a utility's own provider (Keycloak in front of AD/LDAP, or
another) needs only its issuer URL, our client id and secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

#: Refetch the discovery document and keys at most this often (providers rotate keys; forged `kid`s must not
#: turn into a flood of requests to the provider).
METADATA_TTL_S = 3600.0
KEYS_REFETCH_AFTER_S = 30.0
LEEWAY_S = 10
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; the message says why (logged, not shown in detail)."""


class ProviderUnavailable(Exception):
    """The provider cannot be reached or answered garbage: try again later."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint answered, with lifetimes in seconds."""

    access_token: str
    expires_in: int
    id_token: str | None
    refresh_token: str | None
    refresh_expires_in: int | None


@dataclass(frozen=True)
class AuthorizationRequest:
    """The secrets of one sign-in: `state` ties the answer to this browser, `nonce` the ID token to this
    request, and the PKCE verifier the code to us (a stolen code is useless without it)."""

    state: str
    nonce: str
    code_verifier: str

    @property
    def code_challenge(self) -> str:
        return pkce_challenge(self.code_verifier)


def new_authorization_request() -> AuthorizationRequest:
    return AuthorizationRequest(
        state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32), code_verifier=secrets.token_urlsafe(64)
    )


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """The console as a confidential client of one provider."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        http: httpx.AsyncClient,
        discovery_url: str | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._http = http
        self._discovery_url = discovery_url or f"{self.issuer}/.well-known/openid-configuration"
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = float("-inf")
        self._keys: dict[str, PyJWK] = {}
        self._keys_at = float("-inf")
        self._lock = asyncio.Lock()

    # -- the provider ---------------------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
            return self._metadata
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at >= METADATA_TTL_S:
                self._metadata = await self._discover()
                self._metadata_at = time.monotonic()
        return self._metadata

    async def _discover(self) -> ProviderMetadata:
        document = await self._get_json(self._discovery_url)
        try:
            issuer = str(document["issuer"]).rstrip("/")
            found = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        except (KeyError, TypeError) as exc:
            raise ProviderUnavailable(f"discovery document lacks {exc}") from None
        if issuer != self.issuer:
            # OpenID Connect Discovery §4.3: a document naming another issuer must not be used.
            raise ProviderUnavailable(f"discovery document names issuer {issuer!r}, expected {self.issuer!r}")
        return found

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, timeout=10.0)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {exc}") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return body

    # -- signing in -------------------------------------------------------------------------------------------

    async def authorization_url(self, request: AuthorizationRequest, ui_locales: str | None = None) -> str:
        """The provider's authorization endpoint with the request; `ui_locales` (OIDC Core 3.1.2.1) asks it to show
        its sign-in page in the person's language — a hint the provider may ignore, never a rule."""
        meta = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid profile",
                "state": request.state,
                "nonce": request.nonce,
                "code_challenge": request.code_challenge,
                "code_challenge_method": "S256",
                **({"ui_locales": ui_locales} if ui_locales else {}),
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return f"{meta.authorization_endpoint}{separator}{query}"

    async def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        return await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _token(self, form: dict[str, str]) -> TokenSet:
        meta = await self.metadata()
        try:
            # client_secret_post: every provider we target accepts it, and it needs no encoding rules of Basic.
            response = await self._http.post(
                meta.token_endpoint,
                data={**form, "client_id": self.client_id, "client_secret": self._client_secret},
                headers={"Accept": "application/json"},
                timeout=10.0,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint: {exc}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable("token endpoint answered no JSON") from None
        if response.status_code != 200:
            # invalid_grant and friends: the code was used or expired, the refresh token was revoked.
            raise SignInFailed(f"token endpoint refused: {body.get('error')} {body.get('error_description') or ''}")
        if body.get("token_type", "").lower() != "bearer" or not body.get("access_token"):
            raise SignInFailed("token endpoint answered no bearer access token")
        return TokenSet(
            access_token=str(body["access_token"]),
            expires_in=int(body.get("expires_in") or 60),
            id_token=body.get("id_token"),
            refresh_token=body.get("refresh_token"),
            refresh_expires_in=int(body["refresh_expires_in"]) if body.get("refresh_expires_in") else None,
        )

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce hold; `nonce` None only
        for a refreshed token (it carries the sign-in's nonce, which we no longer keep)."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise SignInFailed("malformed ID token") from None
        if header.get("alg") not in _ALGORITHMS:
            raise SignInFailed(f"ID token signed with {header.get('alg')!r}, which we do not accept")
        key = await self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[header["alg"]],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"ID token refused: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInFailed("ID token issued to another party (azp)")
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("ID token nonce does not match the sign-in")
        return claims

    async def _key(self, kid: str | None) -> PyJWK:
        if kid not in self._keys and time.monotonic() - self._keys_at >= KEYS_REFETCH_AFTER_S:
            async with self._lock:
                if kid not in self._keys and time.monotonic() - self._keys_at >= KEYS_REFETCH_AFTER_S:
                    self._keys_at = time.monotonic()
                    meta = self._metadata or await self._discover()
                    try:
                        keyset = PyJWKSet.from_dict(await self._get_json(meta.jwks_uri))
                    except jwt.PyJWTError as exc:
                        raise ProviderUnavailable(f"the provider's keys cannot be read: {exc}") from None
                    self._keys = {
                        k.key_id: k for k in keyset.keys if k.key_id and k._jwk_data.get("use") in (None, "sig")
                    }
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise SignInFailed("ID token signed with a key the provider does not publish")

    # -- signing out ------------------------------------------------------------------------------------------

    async def end_session_url(self, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser so the provider ends its own session too; None when it has no such end."""
        meta = await self.metadata()
        if not meta.end_session_endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        separator = "&" if "?" in meta.end_session_endpoint else "?"
        return f"{meta.end_session_endpoint}{separator}{urlencode(params)}"
