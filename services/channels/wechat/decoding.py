"""A pushed message as channels' WeChat use case takes it (`handlers.wechat.WechatMessageIn`): the words a person
reads in it, the place, and one of our reference numbers when the customer names their case."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.channels.handlers.wechat import WechatMessageIn
from services.channels.wechat.callback import Push

#: The reference numbers intake gives (TS-YYYYMMDD-NNNNNN, longer past a million a day), as customers type them.
REFERENCE = re.compile(r"(?<![A-Za-z0-9])TS-\d{8}-\d{6,}(?!\d)", re.IGNORECASE)


def words(push: Push) -> str:
    """What the message says, for the complaint's text: an image or an unrecognised voice message is named, with
    WeChat's link to the picture (kept as a link: WeChat's media must be fetched with the account's token)."""
    m = push.message
    if m.msg_type == "image":
        return f"[图片 image] {m.pic_url or ''}".strip()
    if m.msg_type == "voice" and not m.text:
        return "[语音 voice message, not recognised]"
    if m.msg_type == "location":
        return m.text or f"{m.latitude},{m.longitude}"
    return m.text


def command(push: Push, received_at: datetime | None = None) -> WechatMessageIn:
    m = push.message
    text = words(push)
    found = REFERENCE.search(text) if m.carries_content else None
    return WechatMessageIn(
        openid=m.openid,
        msg_id=m.dedupe_id,
        msg_type=m.msg_type,
        text=text,
        raw_xml=push.xml,
        received_at=received_at or datetime.fromtimestamp(m.created, UTC),
        reference_no=found.group(0).upper() if found else None,
        latitude=m.latitude,
        longitude=m.longitude,
        is_event=not m.carries_content,
        pic_url=m.pic_url if m.msg_type == "image" else None,
    )
