"""What a service shows a browser or a stranger: security headers on every HTML answer, and whether the API
documents (`/docs`, `/redoc`, `/openapi.json`) and `/metrics` are served at all.

Why headers here, once: every service that answers HTML (the console, the status page, the reporting dashboard,
notify's dev outbox, the WeChat form, FastAPI's own /docs) must not be framed by another site (click-jacking),
nor have a response second-guessed into script (nosniff), nor run script it did not ship (CSP). A page that sets
its own policy (the console's, the status page's) keeps it: these are the defaults, added only when missing.
`/docs` loads its script from a CDN and inline, so it gets a policy that only forbids framing.

Why exposure is a setting: the API documents map every route and field for an attacker, and the metrics tell
traffic, error rates and queue depths. `EXPOSE_API_DOCS` and `EXPOSE_METRICS` (ServiceSettings) default to open
in dev and test and closed in prod; a closed path answers 404 as if it did not exist. The prod profile (compose,
k8s) leaves the documents closed and opens /metrics only because its Prometheus scrapes over the internal network
(no Ingress routes it).
"""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import PROBLEM_JSON

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
METRICS_PATH = "/metrics"
#: Pages the service ships itself: scripts, styles and images of its own origin only, forms posting back here.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_POLICY = "frame-ancestors 'none'"


def html_headers(path: str) -> dict[str, str]:
    """The defaults every HTML answer gets (those it set itself win)."""
    return {
        "Content-Security-Policy": DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def exposed(settings: object, path: str) -> bool:
    """Whether `path` is served under these settings (a service without settings on its app serves everything)."""
    if path in DOCS_PATHS:
        return bool(getattr(settings, "api_docs_exposed", True))
    if path == METRICS_PATH:
        return bool(getattr(settings, "metrics_exposed", True))
    return True


class Exposure:
    """ASGI middleware: 404 for a closed document or metrics path; the security headers on HTML answers, and
    nosniff on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if not exposed(getattr(scope["app"].state, "settings", None), path):
            await _not_found(send, path)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = html_headers(path) if headers.get("content-type", "").startswith("text/html") else {}
                for name, value in {"X-Content-Type-Options": "nosniff", **extra}.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


async def _not_found(send: Send, path: str) -> None:
    body = json.dumps({"type": "about:blank", "title": "Not Found", "status": 404, "instance": path}).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
