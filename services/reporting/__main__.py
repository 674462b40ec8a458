"""`python -m services.reporting`: run reporting (read-model consumer, HTTP API, dashboard)."""

from __future__ import annotations

import uvicorn

from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings
from shared.logging import configure_logging


def main() -> None:
    settings = ReportingSettings()
    configure_logging("reporting", settings.log_level)
    uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.reporting_http_host,
            port=settings.reporting_http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    ).run()


if __name__ == "__main__":
    main()
