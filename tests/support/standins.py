"""The vendors' stand-ins as a test drives them (`make run` starts them beside the platform): what each took
(`/_standin/messages`) and the faults it is told to play (`/_standin/faults`: down for a while, slow, numbers that
always fail). Not the platform's API: the far side of notify's calls, counted where it matters."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from tests.support.platform import Platform


class StandIns:
    """The SMS gateway (`sms`), WeChat's API (`wechat`) and the mail server (`mail`) of one platform."""

    def __init__(self, platform: Platform, *, timeout: float = 15.0) -> None:
        self.urls = platform.gateways
        self.timeout = timeout

    async def messages(self, name: str) -> list[dict[str, Any]]:
        """Everything the stand-in `name` took so far."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            answer = await http.get(f"{self.urls[name]}/_standin/messages")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def play(self, name: str, **faults: Any) -> None:
        """Tell the stand-in `name` which faults to play from now on (`down_for_s`, `latency_s`, `failing_numbers`)."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            answer = await http.post(f"{self.urls[name]}/_standin/faults", json=faults)
        assert answer.status_code == 200, answer.text

    async def taken_by_sms_gateway(self) -> Counter[str]:
        """How many times the SMS gateway took each of our notification ids (its `OutId`)."""
        return Counter(str(m["idempotency_key"]) for m in await self.messages("sms"))
