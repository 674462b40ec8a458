"""The restricted contact data of a complaint (complaint.contact), kept only for callbacks and replies."""

from __future__ import annotations

import asyncpg

from shared.contracts import ComplaintContact
from shared.idempotency import first_delivery


async def on_contact(conn: asyncpg.Connection, event: ComplaintContact) -> None:
    if not await first_delivery(conn, "followup", "followup.complaint-contact", event.event_id):
        return
    p = event.payload
    await conn.execute(
        "INSERT INTO followup.contacts (complaint_id, name, phone, email, wechat_openid, preferred_contact) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (complaint_id) DO NOTHING",
        p.complaint_id,
        p.name,
        p.phone,
        p.email,
        p.wechat_openid,
        p.preferred_contact.value,
    )
