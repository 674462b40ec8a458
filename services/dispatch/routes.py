"""Dispatch's HTTP routers, in the order their paths are documented: bootstrap.py includes them all from here."""

from __future__ import annotations

from fastapi import APIRouter

from services.dispatch import (
    api,
    case_api,
    coordination_api,
    field_api,
    incident_api,
    model_api,
    resolution_api,
    serious_api,
    staff_api,
)

ROUTERS: tuple[APIRouter, ...] = (
    api.router,
    incident_api.router,
    case_api.router,
    resolution_api.router,
    serious_api.router,
    staff_api.router,
    field_api.router,
    coordination_api.router,
    model_api.router,
)
