"""A person's signed token (OpenID Connect access token) beside the machine API keys.

Staff sign in at the utility's identity provider (Keycloak is the reference); the console then calls each
service with the person's short-lived access token. A service checks it against the issuer's published keys
(signature, issuer, audience, expiry) and learns who acts: staff id, display name, roles, department, crew.
Machine systems (channels, department systems, the outage system) keep their API keys; a token that is not a
JWT is looked up among those as before, so both kinds of caller share one header.

Why the keys are fetched here and not configured: providers rotate their signing keys, and a service that only
knew last month's key would lock every person out. An unknown `kid` refetches the key set, at most once per
`REFETCH_AFTER_S`, so a flood of forged tokens cannot turn into a flood of requests to the provider.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from shared.http.problems import Problem
from shared.settings import IdentitySettings

#: Roles a person may hold (realm roles at the provider); the services decide what each may do.
STAFF_ROLES = frozenset(
    {"agent", "dispatcher", "crew", "supervisor", "duty_manager", "department_manager", "leadership"}
    # Issue 24 (seed 001): HR/administration approves serious cases as leadership does; the project manager and the
    # technical department are told of them.
    | {"hr_admin", "project_manager", "technical"}
)
#: The audience every service accepts: one token serves the console's calls to all of them.
DEFAULT_AUDIENCE = "utility-services"
REFETCH_AFTER_S = 30.0
#: Clock skew tolerated between the provider and us when checking expiry and issued-at.
LEEWAY_S = 10


@dataclass(frozen=True)
class Person:
    """Who acts, as the provider vouches: recorded on every step the person takes."""

    staff_id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None
    crew: str | None = None

    def has(self, *roles: str) -> bool:
        """Whether the person holds any of `roles`."""
        return any(role in self.roles for role in roles)


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments: a signed token, not one of the machine keys (which contain no dots)."""
    return token.count(".") == 2 and token.startswith("ey")


def person_from_claims(claims: dict[str, Any]) -> Person:
    """The person named by verified claims; a token without a staff id names nobody (401)."""
    staff_id = claims.get("staff_id") or claims.get("preferred_username")
    if not isinstance(staff_id, str) or not staff_id:
        raise _unauthorized("the token names no staff member (staff_id)")
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = [roles]
    name = claims.get("name") or staff_id
    return Person(
        staff_id=staff_id,
        name=str(name),
        roles=frozenset(r for r in roles if isinstance(r, str) and r in STAFF_ROLES),
        department=_optional_str(claims.get("department")),
        crew=_optional_str(claims.get("crew")),
    )


class PersonTokens:
    """Verifies persons' access tokens from one issuer for one audience."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        jwks_url: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.jwks_url = jwks_url or f"{self.issuer}/protocol/openid-connect/certs"
        self._http = http
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    @classmethod
    def configured(cls, settings: IdentitySettings, *, http: httpx.AsyncClient | None = None) -> PersonTokens | None:
        """The verifier of the configured provider (`OIDC_ISSUER`), or None: then only machine keys are accepted."""
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer, audience=settings.oidc_audience, jwks_url=settings.oidc_jwks_url, http=http
        )

    async def verify(self, token: str) -> Person:
        """The person the token names, or a 401 problem saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _unauthorized("malformed token") from None
        kid = header.get("kid")
        if header.get("alg") not in ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256"):
            raise _unauthorized("token signed with an algorithm we do not accept")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[header["alg"]],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.InvalidAudienceError:
            raise _unauthorized(f"token is not for {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise _unauthorized("token from another issuer") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        return person_from_claims(claims)

    async def _key(self, kid: str | None) -> PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= REFETCH_AFTER_S:
                await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise _unauthorized("token signed with a key the issuer does not publish")

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            if self._http is not None:
                response = await self._http.get(self.jwks_url, timeout=5.0)
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.get(self.jwks_url, timeout=5.0)
            response.raise_for_status()
            keyset = PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise Problem(503, "Service Unavailable", f"the identity provider's keys cannot be read: {exc}") from None
        self._keys = {k.key_id: k for k in _signing_keys(keyset.keys) if k.key_id}


def _signing_keys(keys: Iterable[PyJWK]) -> Iterable[PyJWK]:
    return (k for k in keys if (k._jwk_data.get("use") in (None, "sig")))


def _optional_str(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
