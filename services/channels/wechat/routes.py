"""WeChat's endpoints: the official account's server URL (`GET`/`POST /wechat/callback`) and the form page
(`/wechat/form/{token}`).

The callback answers within WeChat's 5 seconds: one unit of work (store, dedupe, emit to the outbox) and the passive
reply; the reference number follows as a customer-service message once intake has given it. A push that is not
WeChat's (wrong or stale signature, a body the msg_signature does not cover, another AppID) is refused with 403
before anything is stored.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from services.channels.deps import Clock, Door, Settings
from services.channels.handlers.wechat import complete_form, read_form, take_wechat_message
from services.channels.wechat import callback, decoding, form_page, media, messages, receipts, replies

router = APIRouter(tags=["wechat"])
#: The callback (XML) and the form (form-encoded) read their bodies themselves.
RAW_BODY_PATH = "/wechat/"

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get(
    "/wechat/callback",
    response_class=PlainTextResponse,
    summary="WeChat's server-URL check: a valid signature is answered with echostr",
    responses={403: {"description": "Not signed with our Token"}},
)
async def verify_server_url(request: Request, settings: Settings) -> PlainTextResponse:
    account = callback.Account.from_settings(settings)
    return PlainTextResponse(callback.verify_url(account, request.query_params))


@router.post(
    "/wechat/callback",
    summary="A message or event WeChat pushes (XML, plaintext or safe mode); answered with the passive reply",
    responses={403: {"description": "Not WeChat's: bad signature or encryption; nothing stored"}},
)
async def take_push(request: Request, settings: Settings, door: Door, clock: Clock) -> Response:
    account = callback.Account.from_settings(settings)
    pushed = callback.open_push(account, request.query_params, await request.body())
    if receipts.is_delivery_report(pushed.message) and settings.wechat_receipts_url:
        await receipts.pass_on(settings.wechat_receipts_url, account.token, pushed.message, pushed.xml)
        return PlainTextResponse("success")
    received_at = clock()
    command = decoding.command(pushed, received_at)
    if command.pic_url:
        fetched = await media.picture(command.pic_url, command.msg_id, max_bytes=settings.channels_attachment_max_bytes)
        command = dataclasses.replace(command, attachments=(fetched,) if fetched else ())
    answer = await door.run(take_wechat_message, command)
    text = replies.reply_text(answer, settings.channels_public_url, pushed.message.event)
    if text is None:
        return PlainTextResponse("success")
    reply = messages.text_reply(pushed.message, text, now=int(received_at.timestamp()))
    return Response(callback.seal(account, pushed, reply), media_type="application/xml")


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)


@router.get("/wechat/form.css", include_in_schema=False)
async def stylesheet() -> Response:
    return Response(form_page.STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/wechat/form/{token}", response_class=HTMLResponse, include_in_schema=False)
async def show_form(token: str, request: Request, door: Door, lang: str | None = None) -> HTMLResponse:
    chosen = form_page.language(lang, request.headers.get("accept-language"))
    t = form_page.TEXT[chosen]
    form = await door.run(read_form, token[:64])
    if form is None:
        return _html(form_page.render(chosen, token, notice=t["not_found"]), 404)
    if form.submitted:
        return _html(form_page.render(chosen, token, notice=_done(chosen, form.reference_no)))
    if form.expired:
        return _html(form_page.render(chosen, token, notice=t["expired"]), 410)
    return _html(form_page.render(chosen, token, form=form, posted=form_page.prefilled(form)))


@router.post("/wechat/form/{token}", response_class=HTMLResponse, include_in_schema=False)
async def submit_form(
    token: str, request: Request, door: Door, settings: Settings, lang: str | None = None
) -> HTMLResponse:
    chosen = form_page.language(lang, request.headers.get("accept-language"))
    t = form_page.TEXT[chosen]
    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), max_num_fields=20))
    command, posted = form_page.read(token[:64], fields, chosen)
    form = await door.run(read_form, token[:64])
    if command is None:
        return _html(form_page.render(chosen, token, form=form, posted=posted, error=t["fix"]), 422)
    if form is not None and not form.submitted and form.pictures:
        limit = settings.channels_attachment_max_bytes
        fetched = [await media.picture(url, msg_id, max_bytes=limit) for msg_id, url in form.pictures]
        command = dataclasses.replace(command, attachments=tuple(f for f in fetched if f))
    result = await door.run(complete_form, command)
    if result.outcome == "not_found":
        return _html(form_page.render(chosen, token, notice=t["not_found"]), 404)
    if result.outcome == "expired":
        return _html(form_page.render(chosen, token, notice=t["expired"]), 410)
    if result.outcome == "no_words":
        posted = form_page.Posted(posted.values, {"description": t["describe"]})
        return _html(form_page.render(chosen, token, form=form, posted=posted, error=t["fix"]), 422)
    return _html(form_page.render(chosen, token, notice=_done(chosen, result.reference_no)))


def _done(lang: form_page.Lang, reference_no: str | None) -> str:
    t = form_page.TEXT[lang]
    return f"{t['done']} {t['reference']}: {reference_no}" if reference_no else f"{t['done']} {t['reference_later']}"
