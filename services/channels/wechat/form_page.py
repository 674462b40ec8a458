"""The form page a WeChat customer opens from our reply (WeChat's in-app browser, a phone): it completes what a chat
message lacks — the address and district, the account number, a phone — and files the complaint.

Pure: `read` checks what was posted (a clear message per field, in the page's language), `render` draws the page.
Every value is escaped by Jinja2's autoescape; no inline script or style (the stylesheet is its own response)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.channels.handlers.wechat import CompleteForm, WechatForm

Lang = Literal["zh", "en"]
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Where the frame every customer-facing page of channels extends lives (`customer_page.html`).
CUSTOMER_PAGE = Path(__file__).resolve().parents[1] / "templates"
_env = Environment(loader=FileSystemLoader((TEMPLATES, CUSTOMER_PAGE)), autoescape=select_autoescape(["html"]))
STYLESHEET = (TEMPLATES / "form.css").read_text(encoding="utf-8")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,19}")
_ACCOUNT = re.compile(r"[A-Za-z0-9-]{1,32}")
#: Field → (maximum length, required).
FIELDS: dict[str, tuple[int, bool]] = {
    "address": (300, True),
    "district": (64, True),
    "account_no": (32, False),
    "phone": (20, False),
    "name": (64, False),
    "description": (2000, False),
}

TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "title": "补充投诉信息",
        "intro": "请补充地址等信息，我们即可受理您在公众号发送的消息。",
        "yours": "您发送的内容",
        "address": "详细地址（小区、楼号、单元、门牌）",
        "district": "所在区",
        "account_no": "户号（选填）",
        "phone": "联系电话（选填）",
        "name": "称呼（选填）",
        "description": "补充说明（选填）",
        "submit": "提交",
        "other": "English",
        "done": "已提交，正在受理。",
        "reference": "受理号",
        "reference_later": "受理号将通过公众号消息发送给您。",
        "expired": "此链接已过期，请在公众号重新发送您的问题。",
        "not_found": "链接无效。请在公众号重新发送您的问题。",
        "required": "请填写此项。",
        "too_long": "内容过长。",
        "bad_phone": "请填写有效的电话号码。",
        "bad_account": "户号只能包含字母、数字和连字符。",
        "describe": "请描述您遇到的问题。",
        "fix": "请修改标出的内容。",
    },
    "en": {
        "title": "Complete your complaint",
        "intro": "Tell us where, and we can take the message you sent to our official account.",
        "yours": "What you sent",
        "address": "Address (compound, building, unit, flat)",
        "district": "District",
        "account_no": "Account number (optional)",
        "phone": "Phone (optional)",
        "name": "Your name (optional)",
        "description": "Anything to add (optional)",
        "submit": "Submit",
        "other": "中文",
        "done": "Submitted: we are taking your complaint.",
        "reference": "Reference number",
        "reference_later": "Your reference number will reach you as a message from our official account.",
        "expired": "This link has expired. Please send your message to our official account again.",
        "not_found": "This link is not valid. Please send your message to our official account again.",
        "required": "Please fill this in.",
        "too_long": "Too long.",
        "bad_phone": "Please give a valid phone number.",
        "bad_account": "Account numbers have letters, digits and hyphens only.",
        "describe": "Please describe the problem.",
        "fix": "Please correct the marked fields.",
    },
}


def language(asked: str | None, accept_language: str | None = None) -> Lang:
    """`?lang=` first, then the browser's first choice; Chinese by default."""
    if asked in ("zh", "en"):
        return asked  # type: ignore[return-value]
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


@dataclass(frozen=True)
class Posted:
    """The form as posted: the values (cleaned), and a message per field at fault."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def read(token: str, fields: dict[str, str], lang: Lang) -> tuple[CompleteForm | None, Posted]:
    """The command when the form is right; else None and what to show again, with the fields at fault."""
    t = TEXT[lang]
    values = {name: " ".join(fields.get(name, "").split()) for name in FIELDS}  # no control characters, no runs
    values["description"] = "".join(ch for ch in fields.get("description", "") if ch == "\n" or ord(ch) >= 32).strip()
    errors: dict[str, str] = {}
    for name, (longest, required) in FIELDS.items():
        if required and not values[name]:
            errors[name] = t["required"]
        elif len(values[name]) > longest:
            errors[name] = t["too_long"]
    if values["phone"] and "phone" not in errors and not _PHONE.fullmatch(values["phone"]):
        errors["phone"] = t["bad_phone"]
    if values["account_no"] and "account_no" not in errors and not _ACCOUNT.fullmatch(values["account_no"]):
        errors["account_no"] = t["bad_account"]
    posted = Posted(values, errors)
    if errors:
        return None, posted
    command = CompleteForm(
        token=token,
        address=values["address"],
        district=values["district"],
        description=values["description"],
        account_no=values["account_no"] or None,
        phone=values["phone"] or None,
        name=values["name"] or None,
    )
    return command, posted


def prefilled(form: WechatForm) -> Posted:
    return Posted(
        {
            "address": form.address,
            "district": form.district,
            "account_no": form.account_no,
            "phone": form.phone,
            "name": form.name,
            "description": "",
        }
    )


def render(
    lang: Lang,
    token: str,
    *,
    form: WechatForm | None = None,
    posted: Posted | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> str:
    """The page: the form (with the customer's messages), or a notice (submitted, expired, not found)."""
    return _env.get_template("form.html").render(
        lang=lang,
        other="en" if lang == "zh" else "zh",
        t=TEXT[lang],
        token=token,
        form=form,
        posted=posted,
        notice=notice,
        error=error,
    )
