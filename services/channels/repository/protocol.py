"""`ChannelsRepository`: every area's Protocol, composed. One line per area (keep one base per line)."""

from __future__ import annotations

from typing import Protocol

from services.channels.repository.cases import CaseStore
from services.channels.repository.handling import HandlingStore
from services.channels.repository.inbound import InboundStore
from services.channels.repository.mail import MailReaderStore
from services.channels.repository.open311 import Open311Store
from services.channels.repository.partner_pushes import PartnerPushStore
from services.channels.repository.wechat import WechatStore


class ChannelsRepository(
    HandlingStore,
    InboundStore,
    CaseStore,
    MailReaderStore,
    Open311Store,
    PartnerPushStore,
    WechatStore,
    Protocol,
):
    """What channels' use cases may do in a unit of work (the door's transaction)."""
