"""`GET /live`: the signed-in person's stream of change notices (server-sent events) for the live regions of their
page (`services/console/live.py`; the page's script is `static/console.js`).

Any signed-in person may listen: a notice names only a kind and ids, and what the page then re-reads passes the
services' own checks. A replica at its limit of open streams answers 503 (the page retries later and keeps working
without live updates); a console whose live feed is off answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.auth import SignedIn
from services.console.live import EventStream
from shared.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/live")
async def live(request: Request, _: SignedIn) -> Response:
    hub = request.app.state.live_hub
    if hub is None:
        raise NotFound("live updates are off on this console (CONSOLE_LIVE_ENABLED)")
    return EventStream(hub, request.app.state.settings.console_live_heartbeat_s)
