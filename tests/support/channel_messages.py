"""`channel.complaint` and `channel.reply` as the channels service publishes them (built from shared/contracts, not
from channels' code), for intake's tests of every tier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.contracts import new_event
from shared.contracts.channels import ChannelComplaint, ChannelReply, ReplyKind


def channel_complaint(
    *,
    provider: str = "wechat",
    provider_message_id: str | None = None,
    complaint_id: uuid.UUID | None = None,
    channel: str = "wechat",
    text: str = "暖气不热，室温只有十五度。",
    customer: dict[str, Any] | None = None,
    attachments: tuple[dict[str, Any], ...] = (),
) -> ChannelComplaint:
    complaint_id = complaint_id or uuid.uuid4()
    return new_event(
        ChannelComplaint,
        complaint_id=complaint_id,
        producer="channels",
        correlation_id=f"corr-{complaint_id}",
        payload={
            "message_id": uuid.uuid4(),
            "channel": channel,
            "provider": provider,
            "provider_message_id": provider_message_id or uuid.uuid4().hex,
            "received_at": datetime.now(UTC),
            "customer": customer or {"wechat_openid": "oWx-test-openid", "preferred_contact": "wechat"},
            "location": {"address": "和平区南京北街18号3单元502", "district": "heping"},
            "text": text,
            "attachments": list(attachments),
        },
    )


def channel_reply(
    reference_no: str,
    *,
    complaint_id: uuid.UUID | None = None,
    kind: ReplyKind = "note",
    text: str = "师傅下午几点到？我电话13800138000",
    score: int | None = None,
    channel: str = "phone",
    provider: str = "tencent-sms",
) -> ChannelReply:
    return new_event(
        ChannelReply,
        complaint_id=complaint_id or uuid.uuid4(),
        producer="channels",
        correlation_id=f"corr-reply-{reference_no}",
        payload={
            "message_id": uuid.uuid4(),
            "channel": channel,
            "provider": provider,
            "provider_message_id": uuid.uuid4().hex,
            "received_at": datetime.now(UTC),
            "reference_no": reference_no,
            "kind": kind,
            "score": score,
            "text": text,
        },
    )
