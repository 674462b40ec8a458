"""`python -m services.notify`: run notify (HTTP API, request consumer, sending worker, outbox relay)."""

from __future__ import annotations

from services.notify.bootstrap import create_app
from services.notify.settings import NotifySettings
from shared.runtime import serve


def main() -> None:
    settings = NotifySettings()
    serve(
        create_app(settings),
        service="notify",
        host=settings.notify_http_host,
        port=settings.notify_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
