"""What a customer hears while their work order runs: the visit window agreed with them ("please be at home"),
and — when the case is resolved, before the callback — what was done, why it happened and what will change
(seed 003: `case_resolved`).

"Why" is the root cause's catalogue label in the message's language (a v1 resolution's free text otherwise);
"what will change" is the case's corrective actions held so far, else the cause analysis of a serious case, else
nothing. Corrective actions travel on their own topic (`corrective-actions`), published with the resolution but
consumed by another group: an action whose event followup has not read yet when the resolution arrives is not in
the message (the cause analysis, on the resolution itself, then stands for it).

Callers of an incident or outage hear `fault_fixed` instead (their callback follows their own event), so an
incident's work order tells nobody here (`callbacks.on_resolved` asks for this message only when it calls back).
"""

from __future__ import annotations

from services.followup.handlers.context import FollowupWork
from services.followup.model import CorrectiveAction, TrackedWorkOrder
from services.followup.notifications import Locale, customer_recipient
from shared.contracts import WorkOrderAppointmentAgreed, WorkOrderResolved
from shared.logging import get_logger

log = get_logger(__name__)

#: The sentence saying what will change, per language: the corrective actions, or the cause analysis.
CHANGES: dict[str, dict[str, str]] = {
    "zh": {"actions": "改进措施：{}。", "analysis": "原因分析及改进：{}。", "join": "；"},
    "en": {"actions": "What will change: {}. ", "analysis": "What we found and will change: {}. ", "join": "; "},
}


def cause_label(event: WorkOrderResolved, locale: Locale) -> str:
    p = event.payload
    if p.root_cause_detail is not None:
        return p.root_cause_detail.label_en if locale == "en" else p.root_cause_detail.label_zh
    return p.root_cause


def changes_sentence(event: WorkOrderResolved, actions: list[CorrectiveAction], locale: Locale) -> str:
    words = CHANGES[locale]
    described = [a.description.strip().rstrip("。.") for a in actions if a.description and a.description.strip()]
    if described:
        return words["actions"].format(words["join"].join(described))
    analysis = event.payload.cause_analysis
    if analysis is not None and analysis.summary.strip():
        return words["analysis"].format(analysis.summary.strip().rstrip("。."))
    return ""


async def appointment_agreed(event: WorkOrderAppointmentAgreed, work: FollowupWork) -> None:
    """The visit window, to the customer: please be at home."""
    p, notifier = event.payload, work.context.notifier
    recipient = customer_recipient(await work.repo.contact(p.complaint_id))
    if recipient is None:
        log.info("no address for the appointment message")
        return
    order = await work.repo.work_order(p.work_order_id)
    work.emit(
        await notifier.request(
            work.repo,
            complaint_id=p.complaint_id,
            correlation_id=event.correlation_id,
            template_id="appointment_agreed",
            recipient=recipient,
            params={"reference_no": p.reference_no, "window": notifier.window(p.window_start, p.window_end)},
            at=work.now,
            severity=order.severity if order else None,
            reference_no=p.reference_no,
        )
    )


async def case_resolved(event: WorkOrderResolved, order: TrackedWorkOrder | None, work: FollowupWork) -> None:
    """What was done, why and what will change, to the customer of a case resolved (before its callback)."""
    p, notifier = event.payload, work.context.notifier
    recipient = customer_recipient(await work.repo.contact(p.complaint_id))
    if recipient is None:
        log.info("no address for the resolution message")
        return
    params = {
        "reference_no": p.reference_no,
        "resolution": p.resolution.strip().rstrip("。."),
        "cause": cause_label(event, notifier.locale),
        "changes": changes_sentence(event, await work.repo.corrective_actions_of(p.complaint_id), notifier.locale),
    }
    work.emit(
        await notifier.request(
            work.repo,
            complaint_id=p.complaint_id,
            correlation_id=event.correlation_id,
            template_id="case_resolved",
            recipient=recipient,
            params=params,
            at=work.now,
            severity=order.severity if order else None,
            reference_no=p.reference_no,
        )
    )
