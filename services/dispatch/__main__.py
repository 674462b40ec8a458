"""`python -m services.dispatch`: run dispatch (HTTP API, Kafka consumers, outbox relay)."""

from __future__ import annotations

import uvicorn

from services.dispatch.bootstrap import create_app
from services.dispatch.settings import DispatchSettings
from shared.logging import configure_logging


def main() -> None:
    settings = DispatchSettings()
    configure_logging("dispatch", settings.log_level)
    uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.dispatch_http_host,
            port=settings.dispatch_http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    ).run()


if __name__ == "__main__":
    main()
