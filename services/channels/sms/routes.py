"""`POST /sms/uplink/tencent` and `POST /sms/uplink/aliyun`: the SMS vendors' reply (uplink) callbacks.

Configured in each vendor's console as `https://<channels>/sms/uplink/<vendor>?token=<secret>` (`uplink.py` says
why a token). Thin: check the token, read the vendor's body, say what each reply means (`replies.classify`), take
them through the door, and answer the way the vendor counts as heard — anything else and it pushes again, which the
inbound dedupe absorbs. A refused push is a problem answer (403 wrong token, 422 unreadable body): the vendor's
retries of it change nothing either.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.channels import metrics
from services.channels.deps import Door, Settings
from services.channels.handlers.sms_replies import SmsReply, TakeSmsReplies, take_sms_replies
from services.channels.sms.replies import classify
from services.channels.sms.uplink import ACKNOWLEDGEMENT, ALIYUN, PARSERS, TENCENT, Uplink, check_token
from shared.http.problems import problem_responses

router = APIRouter(prefix="/sms/uplink", tags=["sms replies"])
#: What the gate must let through in the vendor's own content type.
RAW_BODY_PREFIX = "/sms/uplink/"

_RESPONSES = problem_responses(403, body=True, s403="Missing or wrong `token` (the callback URL's secret)")


def _reply(uplink: Uplink) -> SmsReply:
    meaning = classify(uplink.text)
    return SmsReply(
        provider=uplink.provider,
        provider_message_id=uplink.provider_message_id,
        phone=uplink.phone,
        text=uplink.text,
        kind=meaning.kind,
        score=meaning.score,
        sent_at=uplink.sent_at,
        raw=uplink.raw,
    )


async def _take(provider: str, token: str | None, request: Request, door: Door, expected: str) -> JSONResponse:
    check_token(token, expected)
    uplinks = PARSERS[provider](await request.body())
    taken = await door.run(take_sms_replies, TakeSmsReplies(tuple(_reply(u) for u in uplinks)))
    for message in taken:
        metrics.SMS_REPLIES.labels(provider, "duplicate" if message.duplicate else message.status).inc()
    return JSONResponse(ACKNOWLEDGEMENT[provider])


@router.post(
    "/tencent",
    responses={200: {"description": 'Heard: `{"result": 0, "errmsg": "OK"}`'}, **_RESPONSES},
    summary="Tencent Cloud SMS 短信回复 callback: a customer's reply to our SMS, on the case of the last message sent",
)
async def tencent(request: Request, door: Door, settings: Settings, token: str | None = None) -> JSONResponse:
    return await _take(TENCENT, token, request, door, settings.sms_uplink_token("tencent"))


@router.post(
    "/aliyun",
    responses={200: {"description": 'Heard: `{"code": 0, "msg": "接收成功"}`'}, **_RESPONSES},
    summary="Aliyun SMS SmsUp HTTP push: customers' replies to our SMS, each on the case of the last message sent",
)
async def aliyun(request: Request, door: Door, settings: Settings, token: str | None = None) -> JSONResponse:
    return await _take(ALIYUN, token, request, door, settings.sms_uplink_token("aliyun"))
