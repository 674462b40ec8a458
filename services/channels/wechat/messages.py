"""The XML WeChat pushes to the account's server URL (接收普通消息 / 接收事件推送) and the XML we answer with
(被动回复用户消息), in plaintext and in safe mode (the `<Encrypt>` envelope).

Message types read: `text` (`Content`), `voice` (`Recognition`: WeChat's speech recognition, when the account has
it on; else only the `MediaId`), `image` (`PicUrl`, `MediaId`), `location` (`Location_X` latitude, `Location_Y`
longitude, `Label` the place's address). Events (`subscribe`, menu clicks, `TEMPLATESENDJOBFINISH`) carry no
`MsgId`; WeChat's documented dedupe key for them is `FromUserName` + `CreateTime`.

A DTD is refused before parsing: WeChat sends none, so there is no entity to expand and no XML bomb to detonate.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from shared.errors import Invalid

#: The message types that can carry a complaint.
CONTENT_TYPES = frozenset({"text", "voice", "image", "location"})
#: WeChat shows a passive reply of at most 2048 bytes (文本消息 Content 的长度限制).
MAX_REPLY_BYTES = 2048
#: `CreateTime` is Unix seconds: anything past the last second a `datetime` holds (9999-12-31) is not a time, and
#: reading a longer digit string as an int is refused by Python itself (over 4300 digits) — both a 422, never a 500.
LATEST_CREATE_TIME = 253_402_300_799
#: `Location_X` is a latitude, `Location_Y` a longitude: a NaN, an infinity or a point off the globe is refused
#: (it would fail the complaint's coordinates later, when the customer completes the form).
_COORDINATE_LIMITS = {"Location_X": 90.0, "Location_Y": 180.0}


class UnreadableMessage(Invalid):
    """The body is not WeChat's XML: a 422 naming what is wrong."""


@dataclass(frozen=True)
class WechatMessage:
    """One pushed message or event, as WeChat names its fields."""

    account: str  # ToUserName: the official account's original id (gh_…)
    openid: str  # FromUserName
    created: int  # CreateTime, Unix seconds
    msg_type: str
    msg_id: str | None = None
    text: str = ""  # text: Content; voice: Recognition; location: Label
    media_id: str | None = None
    pic_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    event: str | None = None

    @property
    def dedupe_id(self) -> str:
        """WeChat retries a push 3 times within 15 s: `MsgId` names a message; an event is `FromUserName` +
        `CreateTime` (and the event's name, so two events of one second stay two)."""
        if self.msg_id:
            return self.msg_id
        return f"{self.openid}:{self.created}:{self.event or self.msg_type}"

    @property
    def carries_content(self) -> bool:
        return self.msg_type in CONTENT_TYPES


def _root(body: bytes) -> ElementTree.Element:
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise UnreadableMessage("a document type declaration is not allowed")
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - no DTD (refused above): expat expands nothing
    except ElementTree.ParseError as exc:
        raise UnreadableMessage(f"the body is not XML ({exc})") from exc
    if root.tag != "xml":
        raise UnreadableMessage("the root element is not <xml>")
    return root


def _text(root: ElementTree.Element, tag: str) -> str:
    return (root.findtext(tag) or "").strip()


def _coordinate(root: ElementTree.Element, tag: str) -> float | None:
    value = _text(root, tag)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise UnreadableMessage(f"{tag} is not a number") from exc
    limit = _COORDINATE_LIMITS[tag]
    if not (math.isfinite(number) and -limit <= number <= limit):
        raise UnreadableMessage(f"{tag} is not a coordinate between -{limit:g} and {limit:g}")
    return number


def _created(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(LATEST_CREATE_TIME)):
        raise UnreadableMessage("CreateTime is not a time (Unix seconds)")
    created = int(value)
    if created > LATEST_CREATE_TIME:
        raise UnreadableMessage("CreateTime is not a time (Unix seconds)")
    return created


def read_envelope(body: bytes) -> str:
    """Safe mode: the `<Encrypt>` text of the pushed envelope."""
    encrypted = _text(_root(body), "Encrypt")
    if not encrypted:
        raise UnreadableMessage("safe mode without <Encrypt>")
    return encrypted


def read_message(body: bytes) -> WechatMessage:
    root = _root(body)
    account, openid, created, msg_type = (
        _text(root, t) for t in ("ToUserName", "FromUserName", "CreateTime", "MsgType")
    )
    if not (account and openid and msg_type):
        raise UnreadableMessage("ToUserName, FromUserName and MsgType are required")
    text = {"text": "Content", "voice": "Recognition", "location": "Label"}.get(msg_type)
    return WechatMessage(
        account=account,
        openid=openid,
        created=_created(created),
        msg_type=msg_type,
        msg_id=_text(root, "MsgId") or None,
        text=_text(root, text) if text else "",
        media_id=_text(root, "MediaId") or None,
        pic_url=_text(root, "PicUrl") or None,
        latitude=_coordinate(root, "Location_X") if msg_type == "location" else None,
        longitude=_coordinate(root, "Location_Y") if msg_type == "location" else None,
        event=_text(root, "Event") or None,
    )


def cdata(value: str) -> str:
    """A CDATA section holding any text (a `]]>` inside is split across two sections)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WechatMessage, content: str, now: int) -> str:
    """The passive text reply to `message` (sender and receiver swapped), cut to what WeChat shows."""
    clipped = content.encode()[:MAX_REPLY_BYTES].decode(errors="ignore")
    return (
        "<xml>"
        f"<ToUserName>{cdata(message.openid)}</ToUserName>"
        f"<FromUserName>{cdata(message.account)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        f"<MsgType>{cdata('text')}</MsgType>"
        f"<Content>{cdata(clipped)}</Content>"
        "</xml>"
    )


def encrypted_reply(encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode answer: the encrypted reply, its `MsgSignature`, and the timestamp and nonce it was signed with."""
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )
