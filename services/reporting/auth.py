"""Reader credentials: every report needs one (X-API-Key or bearer token); its role decides whether the
reader sees customers' real contact data, and whether they may read the per-staff figures (managers only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.reporting.deps import Settings
from services.reporting.settings import ReaderCredential
from shared.http.auth import PresentedToken, identify
from shared.http.problems import Problem


async def authenticated_reader(settings: Settings, token: PresentedToken) -> ReaderCredential:
    return identify(token, settings.credential_by_token, "a reporting read")


Reader = Annotated[ReaderCredential, Depends(authenticated_reader)]


async def authenticated_manager(who: Reader) -> ReaderCredential:
    """Figures about named staff are for their managers, not for the staff themselves."""
    if who.role != "manager":
        raise Problem(403, "Forbidden", "only a manager may read the per-staff figures")
    return who


Manager = Annotated[ReaderCredential, Depends(authenticated_manager)]
