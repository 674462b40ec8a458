"""`python -m services.followup`: run followup (HTTP API, Kafka consumers, timer worker, outbox relay)."""

from __future__ import annotations

from services.followup.bootstrap import create_app
from services.followup.settings import FollowupSettings
from shared.runtime import serve


def main() -> None:
    settings = FollowupSettings()
    serve(
        create_app(settings),
        service="followup",
        host=settings.followup_http_host,
        port=settings.followup_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
