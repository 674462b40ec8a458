"""`python -m services.followup`: run followup (HTTP API, Kafka consumers, timer worker, outbox relay)."""

from __future__ import annotations

import uvicorn

from services.followup.bootstrap import create_app
from services.followup.settings import FollowupSettings
from shared.logging import configure_logging


def main() -> None:
    settings = FollowupSettings()
    configure_logging("followup", settings.log_level)
    uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.followup_http_host,
            port=settings.followup_http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    ).run()


if __name__ == "__main__":
    main()
