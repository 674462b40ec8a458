"""`python -m services.console`: run the console (sign-in, staff directory, pages)."""

from __future__ import annotations

from services.console.bootstrap import create_app
from services.console.settings import ConsoleSettings
from shared.runtime import serve


def main() -> None:
    settings = ConsoleSettings()
    serve(
        create_app(settings),
        service="console",
        host=settings.console_http_host,
        port=settings.console_http_port,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
