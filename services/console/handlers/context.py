"""What the console's use cases reach besides the repository: how long sign-ins and sessions last, and (when an
identity provider is configured) its client and the verifier of persons' tokens, for a session's refresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.console.oidc import OidcClient
from services.console.repository import ConsoleRepository
from services.console.settings import ConsoleSettings
from shared.handling import Work
from shared.http.person import PersonTokens


@dataclass(frozen=True)
class ConsoleContext:
    longest_session: timedelta
    refresh_margin: timedelta
    sign_in_ttl: timedelta
    oidc: OidcClient | None = None
    persons: PersonTokens | None = None

    @classmethod
    def configured(
        cls, settings: ConsoleSettings, oidc: OidcClient | None = None, persons: PersonTokens | None = None
    ) -> ConsoleContext:
        return cls(
            longest_session=timedelta(hours=settings.console_session_hours),
            refresh_margin=timedelta(seconds=settings.console_refresh_margin_s),
            sign_in_ttl=timedelta(minutes=settings.console_sign_in_minutes),
            oidc=oidc,
            persons=persons,
        )


#: What a console use case holds: the repository in the open transaction, the context, the time.
ConsoleWork = Work[ConsoleRepository, ConsoleContext]
