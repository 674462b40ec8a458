"""The customer's status page, in Chinese or English: a form (reference number, last four digits of the phone) and
the case it finds — status, department, the latest note, the expected time, the messages sent. No inline script or
style (the stylesheet is its own response), every value escaped by Jinja2's autoescape, times in the utility's
time zone. Only the customer's messages are in a case (the read model keeps no staff notice); a template the page
does not know is named generically. Pure: `render` takes what the route found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.channels.model import Case

Lang = Literal["zh", "en"]
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Where the frame every customer-facing page of channels extends lives (`customer_page.html`).
CUSTOMER_PAGE = Path(__file__).resolve().parents[1] / "templates"
_env = Environment(loader=FileSystemLoader((TEMPLATES, CUSTOMER_PAGE)), autoescape=select_autoescape(["html"]))
STYLESHEET = (TEMPLATES / "status.css").read_text(encoding="utf-8")

TEXT: dict[Lang, dict[str, str]] = {
    "zh": {
        "title": "投诉进度查询",
        "intro": "请输入受理号和登记手机号码的后四位。",
        "reference": "受理号",
        "last4": "手机号后四位",
        "submit": "查询",
        "other": "English",
        "status": "当前状态",
        "department": "承办部门",
        "notes": "最新说明",
        "eta": "预计完成时间",
        "received": "受理时间",
        "updated": "最近更新",
        "messages": "已发送给您的消息",
        "no_messages": "暂无。",
        "not_found": "未找到与该受理号和手机号后四位相符的投诉，请核对后重试。",
        "too_many": "查询次数过多，请 {seconds} 秒后再试，或致电客服热线。",
        "invalid": "请填写受理号和 4 位数字。",
        "none": "—",
        "message": "通知",
    },
    "en": {
        "title": "Track your complaint",
        "intro": "Enter your reference number and the last four digits of the phone number you gave us.",
        "reference": "Reference number",
        "last4": "Last four digits of your phone",
        "submit": "Look up",
        "other": "中文",
        "status": "Status",
        "department": "Handled by",
        "notes": "Latest note",
        "eta": "Expected by",
        "received": "Received",
        "updated": "Last updated",
        "messages": "Messages we sent you",
        "no_messages": "None yet.",
        "not_found": "No complaint matches that reference number and those digits. Please check them and try again.",
        "too_many": "Too many attempts. Please try again in {seconds} seconds, or call our hotline.",
        "invalid": "Please give the reference number and four digits.",
        "none": "—",
        "message": "Message",
    },
}
STATUSES: dict[Lang, dict[str, str]] = {
    "zh": {
        "received": "已受理",
        "routed": "已派单",
        "in_progress": "处理中",
        "resolved": "已处理，待回访",
        "closed": "已办结",
        "invalid": "已退回（非本单位受理范围）",
    },
    "en": {
        "received": "Received",
        "routed": "Passed to the department",
        "in_progress": "Being handled",
        "resolved": "Resolved, callback to follow",
        "closed": "Closed",
        "invalid": "Not ours to handle",
    },
}
DEPARTMENTS: dict[Lang, dict[str, str]] = {
    "zh": {"repair": "维修部", "billing": "营业收费部", "customer_service": "客户服务部"},
    "en": {"repair": "Repair department", "billing": "Billing department", "customer_service": "Customer service"},
}
#: The customer-facing messages (followup's templates.toml) and how the page names them.
MESSAGES: dict[Lang, dict[str, str]] = {
    "zh": {
        "complaint_received": "受理通知",
        "complaint_received_phone": "受理通知（12小时内答复）",
        "appointment_agreed": "上门时间确认",
        "interim_reply": "处理进展",
        "case_resolved": "处理结果",
        "case_closed": "办结通知",
        "complaint_invalid": "退回说明",
        "group_joined": "故障说明",
        "group_joined_no_eta": "故障说明",
        "duplicate_linked": "合并处理通知",
        "eta_changed": "预计修复时间变更",
        "fault_fixed": "故障已修复",
    },
    "en": {
        "complaint_received": "Receipt",
        "complaint_received_phone": "Receipt (reply within 12 hours)",
        "appointment_agreed": "Visit agreed",
        "interim_reply": "Progress",
        "case_resolved": "What was done",
        "case_closed": "Case closed",
        "complaint_invalid": "Why it was returned",
        "group_joined": "About the fault",
        "group_joined_no_eta": "About the fault",
        "duplicate_linked": "Handled with an earlier complaint",
        "eta_changed": "New expected time",
        "fault_fixed": "Fault fixed",
    },
}
CHANNELS: dict[Lang, dict[str, str]] = {
    "zh": {"sms": "短信", "wechat": "微信", "email": "电子邮件", "phone": "电话"},
    "en": {"sms": "SMS", "wechat": "WeChat", "email": "Email", "phone": "Phone"},
}
DELIVERY: dict[Lang, dict[str, str]] = {
    "zh": {"delivered": "已送达", "sent": "已发送", "failed": "未送达", "queued": "待发送"},
    "en": {"delivered": "Delivered", "sent": "Sent", "failed": "Not delivered", "queued": "Waiting"},
}


@dataclass(frozen=True)
class Form:
    """What the customer typed, shown back in the form (never the case's own data)."""

    reference_no: str = ""
    error: str | None = None


def language(asked: str | None, accept_language: str | None = None) -> Lang:
    """`?lang=` first, then the browser's first choice; Chinese by default."""
    if asked in ("zh", "en"):
        return asked  # type: ignore[return-value]
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else None


def _view(case: Case, lang: Lang, zone: ZoneInfo) -> dict[str, object]:
    messages = [
        {
            "what": MESSAGES[lang].get(m.template_id, TEXT[lang]["message"]),
            "channel": CHANNELS[lang].get(m.channel or "", m.channel or ""),
            "status": DELIVERY[lang].get(m.status, m.status),
            "at": _local(m.at, zone),
        }
        for m in case.messages
    ]
    return {
        "reference_no": case.reference_no,
        "status": case.status,
        "status_text": STATUSES[lang].get(case.status, case.status),
        "department": DEPARTMENTS[lang].get(case.department or "", case.department),
        "notes": case.status_notes,
        "eta": _local(case.eta, zone),
        "received": _local(case.received_at, zone),
        "updated": _local(case.updated_at, zone),
        "messages": messages,
    }


def render(lang: Lang, zone: ZoneInfo, form: Form, case: Case | None = None) -> str:
    return _env.get_template("status.html").render(
        t=TEXT[lang],
        lang=lang,
        other="zh" if lang == "en" else "en",
        form=form,
        case=_view(case, lang, zone) if case is not None else None,
    )


def public_messages(case: Case, lang: Lang) -> list[dict[str, object]]:
    """The API's list of messages: what the page shows, with the template id for programs."""
    return [
        {
            "template": m.template_id,
            "name": MESSAGES[lang].get(m.template_id, TEXT[lang]["message"]),
            "channel": m.channel,
            "status": m.status,
            "at": m.at.isoformat(),
        }
        for m in case.messages
    ]
