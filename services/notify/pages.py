"""The dev outbox page: every message notify sent, in Chinese or English headings. No inline script or style
(the stylesheet is its own response), every value escaped by Jinja2's autoescape."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.notify.views import SentMessage

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
STYLESHEET = (TEMPLATES / "outbox.css").read_text(encoding="utf-8")

HEADINGS = {
    "zh": {
        "title": "通知发件箱（开发环境）",
        "intro": "notify 发出的每条消息，最新的在前。",
        "requested": "请求时间",
        "case": "受理号",
        "template": "模板",
        "recipient": "收件人类型",
        "channel": "渠道",
        "provider": "服务商",
        "masked": "地址（脱敏）",
        "address": "地址（明文，仅开发）",
        "text": "内容",
        "status": "状态",
        "attempts": "尝试次数",
        "reason": "原因",
        "history": "尝试记录",
        "other": "English",
        "empty": "尚未发送任何消息。",
    },
    "en": {
        "title": "Notification outbox (dev)",
        "intro": "Every message notify sent, newest first.",
        "requested": "Requested",
        "case": "Reference",
        "template": "Template",
        "recipient": "Recipient",
        "channel": "Channel",
        "provider": "Provider",
        "masked": "Address (masked)",
        "address": "Address (clear, dev only)",
        "text": "Text",
        "status": "Status",
        "attempts": "Attempts",
        "reason": "Reason",
        "history": "Attempt history",
        "other": "中文",
        "empty": "No message sent yet.",
    },
}


def outbox(messages: list[SentMessage], lang: str) -> str:
    lang = lang if lang in HEADINGS else "zh"
    return _env.get_template("outbox.html").render(
        messages=messages, h=HEADINGS[lang], lang=lang, other="zh" if lang == "en" else "en"
    )
