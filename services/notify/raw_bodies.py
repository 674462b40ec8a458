"""Vendors' callbacks come as they come: Aliyun and Tencent post JSON, WeChat posts XML, a bounce relay may post a
form. The platform's request gate (`shared.http.request_context`) takes only JSON bodies, so for
`POST /v1/receipts/...` this outermost middleware hands the gate `application/json` and keeps the vendor's content
type in `ORIGINAL_CONTENT_TYPE`, which the route gives back to the parser. Nothing else is touched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

ORIGINAL_CONTENT_TYPE = "x-notify-original-content-type"
RECEIPTS_PREFIX = "/v1/receipts/"


class RawReceiptBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(RECEIPTS_PREFIX):
            headers = [
                (k, v) for k, v in scope["headers"] if k not in (b"content-type", ORIGINAL_CONTENT_TYPE.encode())
            ]
            original = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
            headers += [(b"content-type", b"application/json"), (ORIGINAL_CONTENT_TYPE.encode(), original)]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
