"""`python -m services.channels`: run channels (HTTP endpoints of every protocol, consumers, workers, outbox relay)."""

from __future__ import annotations

from services.channels.bootstrap import create_app
from services.channels.settings import ChannelsSettings
from shared.runtime import serve


def main() -> None:
    settings = ChannelsSettings()
    serve(
        create_app(settings),
        service="channels",
        host=settings.channels_http_host,
        port=settings.channels_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
