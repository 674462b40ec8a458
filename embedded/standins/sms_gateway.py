"""What the two SMS gateway stand-ins (`aliyun_sms`, `tencent_sms`) share: the faults a test injects, phone numbers
compared in E.164, the `/_standin/` control surface, the status reports pushed to the receipt URL after a delay
and retried while the receiver is down (both vendors retry their pushes until the receiver acknowledges), and a
customer's reply pushed to the uplink URL (`/_standin/reply`)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from embedded.standins.serving import Received, post_until_taken

_SEPARATORS = re.compile(r"[\s\-()]")


def e164(phone: str) -> str | None:
    """A number as both vendors accept it (`138...`, `86138...`, `+86138...`, `0086138...`, `+852...`), in E.164;
    None when it is not a phone number (a mainland number must be 1 and ten digits)."""
    number = _SEPARATORS.sub("", phone)
    if number.startswith("00"):
        number = "+" + number[2:]
    if re.fullmatch(r"1\d{10}", number):
        return "+86" + number
    if re.fullmatch(r"\+?86\d+", number):
        rest = number.lstrip("+")[2:]
        return "+86" + rest if re.fullmatch(r"1\d{10}", rest) else None
    if re.fullmatch(r"\+?[1-9]\d{6,14}", number):
        return "+" + number.lstrip("+")
    return None


class Faults:
    """What `POST /_standin/faults` set: down for a while, numbers whose reports fail, numbers refused at once."""

    def __init__(self) -> None:
        self.down_until = 0.0
        self.failing: set[str] = set()
        self.invalid: set[str] = set()
        #: A slow vendor: it takes a message at once and answers this much later (a crash in between leaves the
        #: sender not knowing whether it was sent).
        self.latency_s = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("reset"):
            self.down_until = 0.0
            self.failing.clear()
            self.invalid.clear()
            self.latency_s = 0.0
        if "latency_s" in body:
            self.latency_s = max(0.0, float(body["latency_s"]))
        if "down_for_s" in body:
            self.down_until = time.monotonic() + float(body["down_for_s"])
        for key, target in (("failing_numbers", self.failing), ("invalid_numbers", self.invalid)):
            for phone in body.get(key, []):
                target.add(e164(str(phone)) or str(phone))
        return self.state()

    def state(self) -> dict[str, Any]:
        return {
            "down_for_s": max(0.0, round(self.down_until - time.monotonic(), 3)),
            "failing_numbers": sorted(self.failing),
            "invalid_numbers": sorted(self.invalid),
            "latency_s": self.latency_s,
        }


class ReportPusher:
    """Pushes each status report to `url` after `delay_s`, then again with a growing pause until the receiver
    acknowledges it (`accepted`), at most a second apart, or until `give_up_s` has passed. Without a URL the
    reports are only recorded."""

    def __init__(
        self,
        url: str | None,
        delay_s: float,
        accepted: Callable[[httpx.Response], bool],
        give_up_s: float = 3600.0,
    ) -> None:
        self.url = url
        self.delay_s = delay_s
        self.give_up_s = give_up_s
        self._accepted = accepted
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=5.0)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()

    def schedule(self, report: Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]]) -> None:
        """`report` is called when the delay has passed (it settles the message's status and returns the item)."""
        task = asyncio.create_task(self._run(report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, report: Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]]) -> None:
        await asyncio.sleep(self.delay_s)
        item = report()
        if not isinstance(item, dict):
            item = await item
        if not self.url or self._client is None:
            return
        client, url = self._client, self.url
        await post_until_taken(lambda: client.post(url, json=[item]), give_up_s=self.give_up_s, taken=self._accepted)


def add_control_surface(app: FastAPI, received: Received, faults: Faults) -> None:
    """`GET /_standin/messages` (what was accepted, newest last) and `POST /_standin/faults`."""

    @app.get("/_standin/messages")
    async def messages() -> list[dict[str, Any]]:
        return received.items

    @app.post("/_standin/faults")
    async def set_faults(request: Request) -> JSONResponse:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "a JSON object"}, status_code=422)
        return JSONResponse(faults.apply(body))


#: A customer's reply as the vendor pushes it: built from the number (E.164) and the text.
ReplyItem = Callable[[str, str], dict[str, Any]]


def add_reply_surface(
    app: FastAPI,
    uplink_url: str | None,
    item: ReplyItem,
    *,
    accepted: Callable[[httpx.Response], bool],
    batched: bool,
) -> None:
    """`POST /_standin/reply` `{"phone", "text", "repeat"?, "give_up_s"?}`: a customer answers our SMS. The vendor's
    uplink push (`item`: the vendor's documented format, in a JSON array when `batched`) is POSTed to `uplink_url`
    (the callback URL configured in the vendor's console, with its `?token=`) until the receiver acknowledges it
    (`accepted`), `repeat` times (a vendor that lost the acknowledgement pushes the same reply again). Answers the
    item pushed and the receiver's last answer, once it was taken (or `give_up_s` passed); 409 without a URL."""

    @app.post("/_standin/reply")
    async def reply(request: Request) -> JSONResponse:
        body = await request.json()
        phone, text = (body.get("phone"), body.get("text")) if isinstance(body, dict) else (None, None)
        number = e164(phone) if isinstance(phone, str) else None
        if number is None or not isinstance(text, str):
            return JSONResponse({"error": "give a phone number and a text"}, status_code=422)
        if not uplink_url:
            return JSONResponse({"error": "no uplink URL configured"}, status_code=409)
        pushed = item(number, text)
        content = [pushed] if batched else pushed
        answers = []
        async with httpx.AsyncClient(timeout=5.0) as client:
            for _ in range(max(1, min(int(body.get("repeat", 1)), 5))):
                answers.append(
                    await post_until_taken(
                        lambda: client.post(uplink_url, json=content),
                        give_up_s=float(body.get("give_up_s", 30.0)),
                        taken=accepted,
                    )
                )
        return JSONResponse({"pushed": pushed, "answers": answers})
