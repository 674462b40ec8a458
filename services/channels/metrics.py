"""Channels' process metrics. What its transactions committed becomes numbers here (`count_committed`, after the
commit, so a rolled-back unit never counts); protocol areas add their own counters (requests refused, pushes sent)
in their own block below. Labels name providers, kinds and outcomes — never an address or an id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge

from shared.contracts.channels import ChannelComplaint, ChannelReply

MESSAGES_HANDED_ON = Counter(
    "channels_messages_handed_on_total",
    "Inbound messages handed to intake, by provider and kind (complaint, reply).",
    ["provider", "kind"],
)
ATTACHMENT_READS = Counter("channels_attachment_reads_total", "Attachments read by signed-in staff.")


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        if isinstance(item, ChannelComplaint):
            MESSAGES_HANDED_ON.labels(item.payload.provider, "complaint").inc()
        elif isinstance(item, ChannelReply):
            MESSAGES_HANDED_ON.labels(item.payload.provider, "reply").inc()


# --- protocol areas' counters below (one block per area) ---

# E. 12345 / 95598 outbound (partners/)
PARTNER_PUSHES = Counter(
    "channels_partner_pushes_total",
    "Calls to the hotlines' feedback APIs, by partner, state (accept, return, extend, reply, visit) and what came of "
    "each: delivered, refused (final), retry (down, 5xx, 429, no answer: sent again after a backoff).",
    ["partner", "kind", "outcome"],
)

# D. SMS replies (sms/)
SMS_REPLIES = Counter(
    "channels_sms_replies_total",
    "Customers' SMS replies pushed by the vendors, by provider and what became of each: reply (handed on, on the case "
    "of the last message sent), ignored (no recent message to that number), duplicate (a vendor's retry).",
    ["provider", "outcome"],
)

# C. Email (mail/)
MAIL_TAKEN = Counter(
    "channels_mail_taken_total",
    "Mails read from the complaints mailbox, by what became of each: complaint, reply, ignored (automatic mail, "
    "unreadable), duplicate (taken before: a re-read after a lost position or a new UIDVALIDITY).",
    ["outcome"],
)
MAIL_READER_CONNECTED = Gauge(
    "channels_mail_reader_connected",
    "1 while the mailbox reader holds its IMAP connection (the folder selected), 0 while it reconnects.",
)
MAIL_READER_RECONNECTS = Counter(
    "channels_mail_reader_reconnects_total",
    "Times the mailbox reader lost or could not open its IMAP connection (or the database) and retried.",
)
