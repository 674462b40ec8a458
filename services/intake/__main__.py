"""`python -m services.intake`: run intake (HTTP API, partner ingress consumer, outbox relay)."""

from __future__ import annotations

from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from shared.runtime import serve


def main() -> None:
    settings = IntakeSettings()
    serve(
        create_app(settings),
        service="intake",
        host=settings.intake_http_host,
        port=settings.intake_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
