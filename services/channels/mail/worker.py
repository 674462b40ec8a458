"""The mailbox reader as one of channels' workers (`workers.WORKERS`): built from the settings when a mailbox is
configured (`CHANNELS_IMAP_HOST` and `CHANNELS_IMAP_USER`), else none — `make run` and a deployment without a
complaints mailbox start no reader. Each mail goes through the door as one unit of work (`handlers/mail.py`)."""

from __future__ import annotations

import asyncpg

from services.channels import metrics
from services.channels.deps import Running
from services.channels.handlers.mail import mailbox_position, take_mail
from services.channels.mail.meaning import read_mail, unreadable
from services.channels.mail.reader import FetchedMail, Mailbox, MailboxReader, mail_fault
from services.channels.repository.mail import MailboxPosition
from services.channels.settings import ChannelsSettings

#: The database's failures the reader waits out (it reconnects after them) rather than crashing.
_OUTAGES = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError)


def mailbox_of(settings: ChannelsSettings) -> Mailbox:
    return Mailbox(
        host=settings.channels_imap_host,
        port=settings.channels_imap_port,
        user=settings.channels_imap_user,
        password=settings.channels_imap_password,
        name=settings.channels_imap_mailbox,
        tls=settings.channels_imap_tls,
        idle_s=settings.channels_imap_idle_s,
        timeout_s=settings.channels_imap_timeout_s,
        retry_max_s=settings.channels_imap_retry_max_s,
    )


def build_reader(running: Running) -> MailboxReader:
    settings, door = running.settings, running.door

    async def take(fetched: FetchedMail, reason: str | None) -> object:
        if reason is not None:
            command = unreadable(fetched.position, fetched.raw, fetched.internal_date, reason)
        else:
            command = read_mail(
                fetched.position,
                fetched.raw,
                fetched.internal_date,
                reply_domain=settings.channels_mail_reply_domain,
                max_attachment_bytes=settings.channels_attachment_max_bytes,
            )
        stored = await door.run(take_mail, command)
        metrics.MAIL_TAKEN.labels("duplicate" if stored.duplicate else stored.status).inc()
        return stored

    async def position(mailbox: str) -> MailboxPosition | None:
        return await door.run(mailbox_position, mailbox)

    return MailboxReader(
        mailbox_of(settings),
        take,
        position,
        is_mail_fault=lambda exc: mail_fault(exc) or isinstance(exc, asyncpg.DataError),
        is_outage=lambda exc: isinstance(exc, _OUTAGES),
    )


def mailbox_reader(running: Running) -> MailboxReader | None:
    """The worker of `workers.WORKERS`: the reader when a mailbox is configured, else None."""
    return build_reader(running) if running.settings.imap_enabled else None
