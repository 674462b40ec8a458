"""The complaints mailbox reader: a background worker (`workers.py`) holding one IMAP connection, waiting in IDLE
(RFC 2177) and taking each new mail as it arrives.

Why it neither loses nor doubles a mail:
- Its position (UIDVALIDITY, last UID taken) is stored with each mail it takes, in that mail's unit of work
  (`handlers/mail.py`). After any break — channels restarted, the IMAP server restarted, the link dropped — it
  reconnects with backoff, asks for the UIDs above its position, and goes on from there.
- A mail whose take failed is not skipped: the position did not move, so it is fetched again. A failure that is
  the mail's own (not the database's, not the link's) is retried once as `unreadable`, which keeps it, `ignored`
  with the reason, and moves on: one broken mail never blocks the mailbox.
- When the server's UIDVALIDITY changes (the mailbox was rebuilt), UIDs mean nothing: everything is read again,
  and the Message-ID dedupe of `take_message` keeps what was taken before from becoming a second complaint.
- Mails are fetched with `BODY.PEEK[]`: the reader leaves them unread, so the staff who read the mailbox by hand
  still see them as new.

One mailbox, one reader: run one replica with a mailbox configured (two would each take every mail once, and the
dedupe makes the second a no-op, but they would race for nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aioimaplib  # type: ignore[import-untyped]

from services.channels import metrics
from services.channels.repository.mail import MailboxPosition
from shared.logging import get_logger

log = get_logger(__name__)

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_FETCHED = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
#: The link's failures the reader waits out and reconnects after; anything else is the mail's or a bug.
LINK_ERRORS = (OSError, TimeoutError, aioimaplib.AioImapException, asyncio.IncompleteReadError, ConnectionError)


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    name: str = "INBOX"
    tls: bool = True
    idle_s: float = 300.0
    timeout_s: float = 30.0
    retry_max_s: float = 60.0

    @property
    def key(self) -> str:
        """The reader's position is kept per server, user and folder: pointed at another mailbox, it starts anew."""
        return f"imap://{self.user}@{self.host}:{self.port}/{self.name}"


@dataclass(frozen=True)
class FetchedMail:
    position: MailboxPosition
    raw: bytes
    internal_date: datetime | None


def mail_fault(exc: BaseException) -> bool:
    """Whether a failure is the mail's own (it cannot be decoded, validated or stored as it is), not the link's or
    the database's: such a mail is kept as unreadable rather than fetched again for ever."""
    return isinstance(exc, ValueError | TypeError | LookupError | UnicodeError)


class MailboxReader:
    """`await reader(stop)` runs until `stop`. `take(mail, unreadable)` takes one mail in one unit of work (and
    advances the position; `unreadable`: the reason to keep it only); `position(mailbox)` reads where it stands.
    `is_mail_fault` tells a mail's own failure; `is_outage` one to wait out (the database down) like a lost link."""

    def __init__(
        self,
        mailbox: Mailbox,
        take: Callable[[FetchedMail, str | None], Awaitable[object]],
        position: Callable[[str], Awaitable[MailboxPosition | None]],
        *,
        is_mail_fault: Callable[[BaseException], bool] = mail_fault,
        is_outage: Callable[[BaseException], bool] = lambda exc: False,
    ) -> None:
        self.mailbox = mailbox
        self._take = take
        self._position = position
        self._is_mail_fault = is_mail_fault
        self._is_outage = is_outage
        #: Set while connected and idling: tests can tell the reader is listening.
        self.idling = asyncio.Event()

    async def __call__(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._session(stop)
                backoff = 0.5
            except Exception as exc:
                if not isinstance(exc, LINK_ERRORS) and not self._is_outage(exc):
                    raise
                self.idling.clear()
                metrics.MAIL_READER_CONNECTED.set(0)
                metrics.MAIL_READER_RECONNECTS.inc()
                log.warning("mailbox unreachable, reconnecting", mailbox=self.mailbox.name, error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, self.mailbox.retry_max_s)

    async def _session(self, stop: asyncio.Event) -> None:
        lost = asyncio.Event()
        client = self._client(lambda exc: lost.set())
        try:
            await client.wait_hello_from_server()
            _ok(await client.login(self.mailbox.user, self.mailbox.password), "LOGIN")
            selected = _ok(await client.select(self.mailbox.name), "SELECT")
            uidvalidity = _uidvalidity(selected.lines)
            log.info("mailbox opened", mailbox=self.mailbox.name, uidvalidity=uidvalidity)
            metrics.MAIL_READER_CONNECTED.set(1)
            while not stop.is_set() and not lost.is_set():
                await self._catch_up(client, uidvalidity)
                await self._idle(client, stop, lost)
            if lost.is_set():
                raise ConnectionError("the IMAP server closed the connection")
        finally:
            self.idling.clear()
            metrics.MAIL_READER_CONNECTED.set(0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), timeout=2)

    def _client(self, on_lost: Callable[[Exception | None], None]) -> aioimaplib.IMAP4:
        context = ssl.create_default_context() if self.mailbox.tls else None
        return aioimaplib.IMAP4(
            host=self.mailbox.host,
            port=self.mailbox.port,
            timeout=self.mailbox.timeout_s,
            conn_lost_cb=on_lost,
            ssl_context=context,
        )

    async def _catch_up(self, client: aioimaplib.IMAP4, uidvalidity: int) -> None:
        """Take every mail above the stored position, in UID order."""
        stored = await self._position(self.mailbox.key)
        after = stored.last_uid if stored and stored.uidvalidity == uidvalidity else 0
        if stored and stored.uidvalidity != uidvalidity:
            log.warning("mailbox UIDVALIDITY changed: reading it again", mailbox=self.mailbox.name)
        found = _ok(await client.uid_search(f"UID {after + 1}:*", charset=None), "UID SEARCH")
        # `n:*` always matches the highest UID, even below n: keep only the new ones.
        uids = sorted(u for line in found.lines[:1] for u in map(int, line.split()) if u > after)
        for uid in uids:
            fetched = await self._fetch(client, uidvalidity, uid)
            if fetched is not None:
                await self._take_one(fetched)

    async def _fetch(self, client: aioimaplib.IMAP4, uidvalidity: int, uid: int) -> FetchedMail | None:
        response = _ok(await client.uid("fetch", str(uid), "(UID INTERNALDATE BODY.PEEK[])"), "UID FETCH")
        raw = next((bytes(line) for line in response.lines if isinstance(line, bytearray)), None)
        if raw is None:
            return None  # expunged meanwhile
        head = next((line for line in response.lines if _FETCHED.search(line)), b"")
        date = _INTERNALDATE.search(head)
        return FetchedMail(MailboxPosition(self.mailbox.key, uidvalidity, uid), raw, _internal_date(date))

    async def _take_one(self, mail: FetchedMail) -> None:
        try:
            await self._take(mail, None)
        except Exception as exc:
            if isinstance(exc, LINK_ERRORS) or not self._is_mail_fault(exc):
                raise
            # The error's type only: its message may quote the mail (a validation error shows the input values).
            uid, error = mail.position.last_uid, type(exc).__name__
            log.warning("mail could not be taken: kept as unreadable", uid=uid, error=error)
            await self._take(mail, f"unreadable: {type(exc).__name__}")

    async def _idle(self, client: aioimaplib.IMAP4, stop: asyncio.Event, lost: asyncio.Event) -> None:
        """Wait in IDLE for the server's news, the renewal time, `stop` or a lost link, whichever comes first."""
        idle = await client.idle_start(timeout=self.mailbox.idle_s)
        self.idling.set()
        waits = {
            asyncio.ensure_future(client.wait_server_push(timeout=self.mailbox.idle_s + 5)),
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(lost.wait()),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.idling.clear()
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        if lost.is_set():
            idle.cancel()
            return
        client.idle_done()
        await asyncio.wait_for(idle, timeout=self.mailbox.timeout_s)


def _ok(response: aioimaplib.Response, command: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise aioimaplib.Error(f"{command} answered {response.result}: {response.lines[-1:]!r}")
    return response


def _uidvalidity(lines: list[bytes]) -> int:
    for line in lines:
        found = _UIDVALIDITY.search(line)
        if found:
            return int(found.group(1))
    raise aioimaplib.Error("SELECT gave no UIDVALIDITY")


def _internal_date(found: re.Match[bytes] | None) -> datetime | None:
    if found is None:
        return None
    with contextlib.suppress(ValueError):
        return datetime.strptime(found.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
    return None
