"""The console inbox: a staff notice shown in the console to the person it is addressed to.

There is no vendor and nothing to call: the inbox *is* notify's own record of the staff deliveries addressed to a
staff id (`notify.deliveries`, with `staff_id` and `read_at`), which notify serves as `GET /v1/inbox` and
`POST /v1/inbox/{notification_id}/read` and the console's `/inbox` screen shows as the signed-in person. So
"sending" accepts at once and acceptance is delivery: the notice is there for the person as soon as the row is.
It is the last channel of every staff notice (after SMS and e-mail), and the one that cannot fail: a person
without a phone or an e-mail, or a role nobody could be resolved to, still finds the notice in the console.
"""

from __future__ import annotations

from datetime import datetime

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notify.providers.base import Channel, Outgoing, PermanentError, ReceiptParser, Sent

NAME = "console"


class Settings(BaseSettings):
    """Nothing to configure: the inbox is notify's own table, so it is always enabled."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    @property
    def enabled(self) -> bool:
        return True


class ConsoleInbox:
    """`Provider` for the `console` channel: accepted is delivered."""

    name = NAME
    channel: Channel = "console"

    async def send(self, message: Outgoing) -> Sent:
        if not message.address:
            # Notify addresses the inbox by staff id (or by role when nobody could be resolved): never empty.
            raise PermanentError("a console notice needs a staff id or role to show to", code="no_address")
        return Sent(provider_message_id=None, delivered=True)

    async def find_sent(self, message: Outgoing, since: datetime) -> str | None:
        """Nothing was sent anywhere: the inbox is the delivery row itself, so sending again changes nothing."""
        return None

    async def aclose(self) -> None:
        return None


def build(settings: Settings) -> ConsoleInbox:
    return ConsoleInbox()


def receipts(settings: Settings) -> ReceiptParser | None:
    """No delivery reports: acceptance is delivery."""
    return None
