"""`python -m services.dispatch`: run dispatch (HTTP API, Kafka consumers, outbox relay)."""

from __future__ import annotations

from services.dispatch.bootstrap import create_app
from services.dispatch.settings import DispatchSettings
from shared.runtime import serve


def main() -> None:
    settings = DispatchSettings()
    serve(
        create_app(settings),
        service="dispatch",
        host=settings.dispatch_http_host,
        port=settings.dispatch_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
