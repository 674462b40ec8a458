"""Serious and emergency cases' approval, as the people concerned hear of it (seed 001).

Dispatch runs the steps (`serious_case.proposed`, `.sent_back`, `.approved` on `corrective-actions`); followup tells
whoever must act or know: a proposal waiting → leadership (a staff notice to approve it); sent back → the
department's manager (the reason, to propose again); approved → the project manager and the technical department
(the cause and the corrective actions: "the project manager and the technical department are informed"). Every
notice is urgent (a staff notice) and addressed by role: notify resolves each to the person who holds it.
"""

from __future__ import annotations

from datetime import datetime

from services.followup.handlers.context import FollowupWork
from shared.contracts import (
    Department,
    Event,
    Recipient,
    SeriousCaseApproved,
    SeriousCaseFacts,
    SeriousCaseProposed,
    SeriousCaseSentBack,
)

#: Who hears of an approved proposal (seed 001).
INFORMED_ON_APPROVAL = ("project_manager", "technical")


async def proposed(event: SeriousCaseProposed, work: FollowupWork) -> None:
    await _tell(work, event, "serious_case_proposed", ("leadership",), {})


async def sent_back(event: SeriousCaseSentBack, work: FollowupWork) -> None:
    await _tell(work, event, "serious_case_sent_back", ("department_manager",), {"reason": event.payload.reason})


async def approved(event: SeriousCaseApproved, work: FollowupWork) -> None:
    actions = "；".join(
        f"{a.description}（{a.owner}，{_day(work, a.deadline)}）" for a in event.payload.corrective_actions
    )
    await _tell(work, event, "serious_case_approved", INFORMED_ON_APPROVAL, {"actions": actions})


def _day(work: FollowupWork, moment: datetime) -> str:
    return work.context.notifier.local(moment, "%Y-%m-%d")


async def _tell(
    work: FollowupWork, event: Event, template_id: str, roles: tuple[str, ...], extra: dict[str, str]
) -> None:
    p = event.payload
    assert isinstance(p, SeriousCaseFacts)
    notifier = work.context.notifier
    params = {
        "reference_no": p.reference_no,
        "department": notifier.department_label(p.department.value),
        "round": str(p.round),
        "cause": p.cause_analysis,
        **extra,
    }
    wanted = notifier.templates.parameters(template_id)
    for role in roles:
        work.emit(
            await notifier.request(
                work.repo,
                complaint_id=p.complaint_id,
                correlation_id=event.correlation_id,
                template_id=template_id,
                recipient=Recipient(kind="staff", role=role, department=Department(p.department)),
                params={k: v for k, v in params.items() if k in wanted},
                at=work.now,
                severity=p.severity.value,
                reference_no=p.reference_no,
            )
        )
