"""Every HTTP router of channels, as one table (`ROUTERS`), included by `bootstrap.py` in this order.

Registration point (shared): a protocol area adds its router with one import and one line, e.g.

    from services.channels.wechat.routes import router as wechat
    ...
    ROUTERS = (api.router, wechat, ...)

Routes are thin (no `try`: raise `shared.errors`), and use `deps.py` (`Door`, `Settings`, `Clock`, `Persons`).
Routes that take a body in the peer's own content type (XML, forms) list their path prefix in `RAW_BODY_PATHS`;
pages that post multipart list a regular expression in `UPLOAD_PATHS` (None: no uploads).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.channels import api
from services.channels.open311 import routes as open311
from services.channels.partners.routes import router as partners
from services.channels.sms.routes import RAW_BODY_PREFIX as SMS_UPLINK
from services.channels.sms.routes import router as sms
from services.channels.status import routes as status
from services.channels.wechat import routes as wechat
from shared.http.problems import ErrorFormat

ROUTERS: tuple[APIRouter, ...] = (api.router, sms, open311.router, status.router, wechat.router, partners)

#: Path prefixes whose routes read their body themselves (any content type; the body limit still applies).
RAW_BODY_PATHS: tuple[str, ...] = (SMS_UPLINK, open311.RAW_BODY_PATH, status.RAW_BODY_PATH, wechat.RAW_BODY_PATH)

#: A regular expression of the paths that take multipart/form-data, or None.
UPLOAD_PATHS: str | None = None

#: Path prefixes answered in a protocol's own error format instead of problem+json (Open311's error list).
ERROR_FORMATS: tuple[tuple[str, ErrorFormat], ...] = (open311.ERROR_FORMAT,)
