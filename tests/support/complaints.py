"""Valid complaint submissions to build tests from (and break on purpose)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DEV_KEYS = {
    channel: f"dev-only-{channel}-key"
    for channel in ("phone", "web", "app", "wechat", "counter", "email", "partner_12345", "partner_95598")
}


def complaint(channel: str = "web", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": channel,
        "channel_ticket_id": f"{channel}-{uuid.uuid4().hex[:12]}",
        "received_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "customer": {
            "account_no": "HT-100234",
            "name": "王小明",
            "phone": "13912345678",
            "preferred_contact": "phone",
        },
        # A street address of its own, naming no compound or asset: tests that are not about incidents never
        # make one by accident (incident tests give a compound or asset; see tests/support/storm.py).
        "location": {
            "address": f"和平区测试路{uuid.uuid4().int % 100_000}号",
            "district": "heping",
            "coordinates": {"latitude": 41.79, "longitude": 123.43},
        },
        "text": "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。",
        "category_hint": "heating_temperature",
    }
    body.update(copy.deepcopy(overrides))
    return body


def headers(channel: str = "web", **extra: str) -> dict[str, str]:
    return {"X-API-Key": DEV_KEYS[channel], "Content-Type": "application/json", **extra}
