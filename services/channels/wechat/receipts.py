"""WeChat's template-message delivery reports, passed on to notify.

WeChat pushes every event of an official account to its one server URL — `TEMPLATESENDJOBFINISH`, the report of a
template message notify sent (notify/providers/wechat.py), included. Once that URL is channels', the reports come
here; notify reads them at `POST /v1/receipts/wechat` (`WECHAT_RECEIPTS_URL`), signed the same way with the same
Token. So channels hands each on there, plaintext (decrypted if it came in safe mode), signed afresh, and answers
WeChat only once notify took it: otherwise a 503, and WeChat pushes it again (three times within 15 s). Nothing is
stored here: the report is notify's, and WeChat's retry is the durability a push has anyway.
"""

from __future__ import annotations

import secrets
import time

import httpx

from services.channels.wechat import signature
from services.channels.wechat.messages import WechatMessage
from shared.errors import Unavailable
from shared.logging import get_logger

log = get_logger(__name__)

JOB_FINISH = "TEMPLATESENDJOBFINISH"


def is_delivery_report(message: WechatMessage) -> bool:
    return message.msg_type == "event" and message.event == JOB_FINISH


async def pass_on(url: str, token: str, message: WechatMessage, xml: bytes, *, timeout_s: float = 3.0) -> None:
    """Post the report to notify as WeChat would have; raise `Unavailable` (503: WeChat retries) if not taken."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    query = {
        "signature": signature.sign(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": message.openid,
    }
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        try:
            answer = await client.post(url, params=query, content=xml, headers={"Content-Type": "text/xml"})
        except httpx.HTTPError as exc:
            log.warning("wechat delivery report not passed on", error=type(exc).__name__)
            raise Unavailable("notify did not take the delivery report; WeChat will push it again") from exc
    if answer.status_code != 200:
        log.warning("wechat delivery report refused by notify", status=answer.status_code)
        raise Unavailable(f"notify answered {answer.status_code} to the delivery report; WeChat will push it again")
