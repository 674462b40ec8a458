"""Credentials on every HTTP API: an API key (`X-API-Key`) or a bearer token, looked up in the service's
configured tokens in constant time; missing or unknown is a 401 problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, TypeVar

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.credentials import match_token
from shared.http.person import Person, PersonTokens, looks_like_jwt
from shared.http.problems import Problem

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="Bearer token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


async def presented_token(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> str | None:
    # Credential dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread
    # pool, a thread hop per request that cost intake more CPU than the submission itself under load.
    return bearer.credentials if bearer is not None else api_key


PresentedToken = Annotated[str | None, Depends(presented_token)]


def identify(presented: str | None, known: Mapping[str, T], what: str) -> T:
    """Whom the token belongs to, or a 401 naming what credential is expected."""
    if not presented:
        raise Problem(
            401,
            "Unauthorized",
            f"{what} credential is required (X-API-Key or Bearer token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = match_token(presented, known)
    if found is None:
        raise Problem(401, "Unauthorized", "unknown credential", headers={"WWW-Authenticate": "Bearer"})
    return found


async def identify_caller(
    presented: str | None, known: Mapping[str, T], what: str, persons: PersonTokens | None
) -> T | Person:
    """A machine credential (API key) or, when the service trusts an identity provider, the signed-in person.

    Why one function: every service accepts both on the same header, and a person's token must never fall
    through to the API-key lookup (nor an API key be parsed as a token).
    """
    if presented and persons is not None and looks_like_jwt(presented):
        return await persons.verify(presented)
    return identify(presented, known, what)
