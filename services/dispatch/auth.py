"""Dispatch credentials: each department's, and supervisors'. A department acts only on its own work orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.dispatch.handlers import Actor
from shared.credentials import match_token
from shared.http.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="Department or supervisor bearer token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Department or supervisor API key")


def authenticated_actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Actor:
    presented = bearer.credentials if bearer is not None else api_key
    if not presented:
        raise Problem(
            401,
            "Unauthorized",
            "a department or supervisor credential is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    credential = match_token(presented, request.app.state.settings.credential_by_token)
    if credential is None:
        raise Problem(401, "Unauthorized", "unknown credential", headers={"WWW-Authenticate": "Bearer"})
    return Actor(name=credential.name, department=credential.department, supervisor=credential.role == "supervisor")


def supervisor(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
    if not actor.supervisor:
        raise Problem(403, "Forbidden", "only a supervisor may do this")
    return actor


CurrentActor = Annotated[Actor, Depends(authenticated_actor)]
Supervisor = Annotated[Actor, Depends(supervisor)]
