"""`python -m services.intake`: run intake (HTTP API, partner ingress consumer, outbox relay)."""

from __future__ import annotations

import uvicorn

from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from shared.logging import configure_logging


def main() -> None:
    settings = IntakeSettings()
    configure_logging("intake", settings.log_level)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.intake_http_host,
            port=settings.intake_http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    )
    server.run()


if __name__ == "__main__":
    main()
