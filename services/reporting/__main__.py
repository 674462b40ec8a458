"""`python -m services.reporting`: run reporting (read-model consumer, HTTP API, dashboard)."""

from __future__ import annotations

from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings
from shared.runtime import serve


def main() -> None:
    settings = ReportingSettings()
    serve(
        create_app(settings),
        service="reporting",
        host=settings.reporting_http_host,
        port=settings.reporting_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
