"""`PostgresChannelsRepository`: every area's Postgres implementation, composed over one connection. One line per
area (keep one base per line); each mixin works on `self.conn` and never commits."""

from __future__ import annotations

import asyncpg

from services.channels.repository.cases import PostgresCaseStore
from services.channels.repository.handling import PostgresHandlingStore
from services.channels.repository.inbound import PostgresInboundStore
from services.channels.repository.mail import PostgresMailReaderStore
from services.channels.repository.open311 import PostgresOpen311Store
from services.channels.repository.partner_pushes import PostgresPartnerPushStore
from services.channels.repository.wechat import PostgresWechatStore


class PostgresChannelsRepository(
    PostgresHandlingStore,
    PostgresInboundStore,
    PostgresCaseStore,
    PostgresMailReaderStore,
    PostgresOpen311Store,
    PostgresPartnerPushStore,
    PostgresWechatStore,
):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
