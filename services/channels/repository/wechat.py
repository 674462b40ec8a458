"""WeChat's own tables (migration 003): what a customer entered on the form page (`wechat_customers`, by openid),
and the messages waiting for the form (`wechat_pending`, by MsgId, grouped by form token)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg


@dataclass(frozen=True)
class WechatCustomer:
    """Where a WeChat customer's complaints are (from their last form), and who they are, as they told us."""

    openid: str
    address: str
    district: str
    updated_at: datetime
    account_no: str | None = None
    phone: str | None = None
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class PendingMessage:
    """A message waiting for its customer to complete the form (`form_token`)."""

    msg_id: str
    openid: str
    form_token: str
    msg_type: str
    text: str
    raw_xml: bytes
    received_at: datetime
    expires_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    pic_url: str | None = None
    #: The inbound message the form made of it; None while it waits.
    message_id: uuid.UUID | None = None


class WechatStore(Protocol):
    async def wechat_customer(self, openid: str) -> WechatCustomer | None: ...

    async def save_wechat_customer(self, customer: WechatCustomer) -> None:
        """Insert or replace what the customer entered last."""
        ...

    async def add_pending(self, message: PendingMessage) -> PendingMessage:
        """Keep a waiting message; a MsgId already kept is not changed, and the kept one is returned."""
        ...

    async def open_form_token(self, openid: str, now: datetime) -> str | None:
        """The token of the customer's form still open (messages waiting, not expired), if any."""
        ...

    async def pending_by_token(self, form_token: str) -> list[PendingMessage]:
        """Every message of one form, oldest first (submitted ones included: a form is submitted once)."""
        ...

    async def mark_pending_taken(self, form_token: str, message_id: uuid.UUID) -> None: ...

    async def forget_wechat_customers(self, complaint_ids: list[uuid.UUID]) -> None:
        """An erased customer's WeChat rows (issue 25): the openids that sent these cases' messages — found by the
        form that made a complaint, or in the raw XML of one taken at once — lose their form data and every message
        kept under them. Run before the raw bodies are emptied (`forget_customer`): they name the sender."""
        ...


_PENDING = (
    "msg_id, openid, form_token, msg_type, text, raw_xml, received_at, expires_at, latitude, longitude, pic_url, "
    "message_id"
)
_CUSTOMER = "openid, address, district, updated_at, account_no, phone, name, latitude, longitude"


#: The sender in a pushed message's plaintext XML (CDATA or not); a form's complaint keeps several pushes.
_SENDER = re.compile(rb"<FromUserName>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</FromUserName>", re.DOTALL)


def senders(raw_xml: bytes) -> set[str]:
    """The openids a stored WeChat message names as its sender: how an erasure finds who sent a complaint."""
    found = {(m.group(1) or m.group(2) or b"").decode("utf-8", "replace").strip() for m in _SENDER.finditer(raw_xml)}
    return found - {""}


def _pending(row: Any) -> PendingMessage:
    return PendingMessage(**{**dict(row), "raw_xml": bytes(row["raw_xml"])})


class PostgresWechatStore:
    conn: asyncpg.Connection

    async def wechat_customer(self, openid: str) -> WechatCustomer | None:
        row = await self.conn.fetchrow(f"SELECT {_CUSTOMER} FROM channels.wechat_customers WHERE openid = $1", openid)
        return WechatCustomer(**dict(row)) if row else None

    async def save_wechat_customer(self, customer: WechatCustomer) -> None:
        c = customer
        await self.conn.execute(
            f"INSERT INTO channels.wechat_customers ({_CUSTOMER}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (openid) DO UPDATE SET address = excluded.address, district = excluded.district, "
            "updated_at = excluded.updated_at, account_no = excluded.account_no, phone = excluded.phone, "
            "name = excluded.name, latitude = excluded.latitude, longitude = excluded.longitude",
            c.openid,
            c.address,
            c.district,
            c.updated_at,
            c.account_no,
            c.phone,
            c.name,
            c.latitude,
            c.longitude,
        )

    async def add_pending(self, message: PendingMessage) -> PendingMessage:
        m = message
        await self.conn.execute(
            f"INSERT INTO channels.wechat_pending ({_PENDING}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "ON CONFLICT (msg_id) DO NOTHING",
            m.msg_id,
            m.openid,
            m.form_token,
            m.msg_type,
            m.text,
            m.raw_xml,
            m.received_at,
            m.expires_at,
            m.latitude,
            m.longitude,
            m.pic_url,
            m.message_id,
        )
        row = await self.conn.fetchrow(f"SELECT {_PENDING} FROM channels.wechat_pending WHERE msg_id = $1", m.msg_id)
        return _pending(row)

    async def open_form_token(self, openid: str, now: datetime) -> str | None:
        token = await self.conn.fetchval(
            "SELECT form_token FROM channels.wechat_pending WHERE openid = $1 AND message_id IS NULL "
            "AND expires_at > $2 ORDER BY received_at DESC LIMIT 1",
            openid,
            now,
        )
        return str(token) if token is not None else None

    async def pending_by_token(self, form_token: str) -> list[PendingMessage]:
        rows = await self.conn.fetch(
            f"SELECT {_PENDING} FROM channels.wechat_pending WHERE form_token = $1 ORDER BY received_at, msg_id",
            form_token,
        )
        return [_pending(row) for row in rows]

    async def mark_pending_taken(self, form_token: str, message_id: uuid.UUID) -> None:
        await self.conn.execute(
            "UPDATE channels.wechat_pending SET message_id = $2 WHERE form_token = $1 AND message_id IS NULL",
            form_token,
            message_id,
        )

    async def forget_wechat_customers(self, complaint_ids: list[uuid.UUID]) -> None:
        # Provider "wechat": handlers/wechat.PROVIDER (a use case's constant; the repository cannot import it).
        rows = await self.conn.fetch(
            "SELECT m.raw_body, p.openid FROM channels.inbound_messages m "
            "LEFT JOIN channels.wechat_pending p ON p.message_id = m.message_id "
            "WHERE m.provider = 'wechat' AND m.complaint_id = ANY($1::uuid[])",
            complaint_ids,
        )
        openids = {r["openid"] for r in rows if r["openid"]} | {s for r in rows for s in senders(bytes(r["raw_body"]))}
        if not openids:
            return
        await self.conn.execute("DELETE FROM channels.wechat_pending WHERE openid = ANY($1::text[])", sorted(openids))
        await self.conn.execute("DELETE FROM channels.wechat_customers WHERE openid = ANY($1::text[])", sorted(openids))
