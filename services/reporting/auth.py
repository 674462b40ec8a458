"""Reader credentials: every report needs one (X-API-Key or bearer token); its role decides whether the
reader sees customers' real contact data."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.reporting.deps import Settings
from services.reporting.settings import ReaderCredential
from shared.http.auth import PresentedToken, identify


async def authenticated_reader(settings: Settings, token: PresentedToken) -> ReaderCredential:
    return identify(token, settings.credential_by_token, "a reporting read")


Reader = Annotated[ReaderCredential, Depends(authenticated_reader)]
