"""How dispatch's answers read over HTTP where api.py and resolution_api.py share them: a refused request as a
problem naming its field, a corrective action as read."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from services.dispatch.model import CorrectiveAction, Invalid
from services.dispatch.resolution import ResolutionRefused
from services.dispatch.schemas import CorrectiveActionRead
from shared.http.problems import Problem


def invalid_problem(exc: Invalid) -> Problem:
    """422 naming the field; a refused root cause lists the department's valid codes."""
    if isinstance(exc, ResolutionRefused):
        extra = {"valid_root_causes": exc.valid_codes} if exc.valid_codes is not None else {}
        errors = [{"field": exc.field, "message": str(exc)}]
        return Problem(422, "Invalid request", str(exc), errors=errors, **extra)
    return Problem(422, "Invalid request", str(exc))


def action_read(action: CorrectiveAction, now: datetime) -> CorrectiveActionRead:
    return CorrectiveActionRead.model_validate({**asdict(action), "overdue": action.overdue(now)})
