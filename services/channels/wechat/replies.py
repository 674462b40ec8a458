"""The words of our passive replies (被动回复), answered at once in the push's own HTTP answer: the customer sees
them within the 5 seconds WeChat waits. The reference number itself follows as a customer-service message once
intake gave it (followup's receipt through notify), since it does not exist yet while WeChat waits."""

from __future__ import annotations

from services.channels.handlers.wechat import WechatAnswer


def form_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/wechat/form/{token}"


def reply_text(answer: WechatAnswer, public_url: str, event: str | None = None) -> str | None:
    """What we answer, or None for an event that needs no words (WeChat then gets `success`)."""
    if answer.outcome == "complaint":
        return (
            "您的投诉已收到，正在受理，受理号将随后通过本公众号发送给您。\n"
            "We have your complaint; its reference number follows in a moment."
        )
    if answer.outcome == "reply":
        return (
            f"已收到您对 {answer.reference_no} 的补充，承办人员会看到。\n"
            f"Added to your case {answer.reference_no}; the person handling it will see it."
        )
    if answer.outcome == "form" and answer.form_token:
        link = form_link(public_url, answer.form_token)
        return (
            f"已收到。为便于受理，请补充地址和户号：{link}\n"
            f"Received. Please tell us where (address, account number) so we can take it: {link}"
        )
    if event == "subscribe":
        return (
            "欢迎关注。如需报修或投诉，请直接发送文字、语音、图片或位置。\n"
            "Welcome: send us a message (text, voice, a photo, your location) to report a fault."
        )
    return None
