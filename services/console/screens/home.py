"""`/`: each person to the screen they work in, by role; an overview of their screens when none is theirs yet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.console.model import home_path
from services.console.screens.common import Page

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(page: Page) -> Response:
    assert page.session is not None
    target = home_path(page.session.person)
    if target != "/":
        return RedirectResponse(target, status_code=303)
    return page.render("home.html")
