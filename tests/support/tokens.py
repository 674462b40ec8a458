"""Persons' tokens signed by a local key, for service tests that need a person but not a sign-in.

The verifier (`shared.http.person.PersonTokens`) is the real one: it fetches this issuer's key set over HTTP
(an httpx transport answering the JWKS document) and checks signature, issuer, audience and expiry. Tests of
the sign-in itself and the end-to-end flows use the real provider (`identity_provider` fixture, Keycloak).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.http.person import DEFAULT_AUDIENCE, PersonTokens

ISSUER = "http://issuer.test/realms/utility"


class LocalIssuer:
    """Signs tokens like the provider's: RS256, `kid`, `iss`, `aud`, `exp`, and our staff claims."""

    def __init__(self, issuer: str = ISSUER, audience: str = DEFAULT_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def mint(
        self,
        staff_id: str,
        *,
        roles: tuple[str, ...] = (),
        name: str | None = None,
        department: str | None = None,
        crew: str | None = None,
        expires_in: int = 300,
        audience: str | None = None,
        issuer: str | None = None,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": [audience or self.audience],
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, staff_id)),
            "iat": now,
            "exp": now + expires_in,
            "staff_id": staff_id,
            "preferred_username": staff_id,
            "name": name or staff_id,
            "roles": list(roles),
            **extra,
        }
        if department:
            claims["department"] = department
        if crew:
            claims["crew"] = crew
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    @property
    def discovery(self) -> dict[str, str]:
        """The issuer's OpenID Connect discovery document, with Keycloak's endpoint paths."""
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
            "token_endpoint": f"{base}/protocol/openid-connect/token",
            "jwks_uri": f"{base}/protocol/openid-connect/certs",
            "end_session_endpoint": f"{base}/protocol/openid-connect/logout",
        }

    def transport(self) -> httpx.MockTransport:
        """Answers the issuer's JWKS document, as the provider's certs endpoint does."""

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/protocol/openid-connect/certs"):
                return httpx.Response(200, json=self.jwks)
            return httpx.Response(404)

        return httpx.MockTransport(handler)

    def verifier(self) -> PersonTokens:
        return PersonTokens(
            issuer=self.issuer, audience=self.audience, http=httpx.AsyncClient(transport=self.transport())
        )
