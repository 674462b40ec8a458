"""Everything that changes followup's state, one handler per thing that happens: work-order events
(clocks start and stop, callbacks get scheduled), contact data arriving, complaints closed as invalid or
settled at first contact, due timers firing, and an agent recording a call. The duty manager's calls,
corrective actions and invalid complaints' notices have their own modules (`duty_manager.py`,
`corrective_actions.py`, `invalid_complaints.py`); their clocks fire here like every other.

Each handler opens one unit of work (`Transactions[FollowupRepository]`), applies the pure rules
(`sla_clocks.py`, `escalation.py`, `model.decide_outcome`) through the repository, writes the events it
emits to the outbox in the same transaction, and commits — the only place in followup that does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.followup import escalation, events
from services.followup.corrective_actions import CorrectiveActionHandlers
from services.followup.duty_manager import DutyManagerHandlers
from services.followup.failed_notifications import FailedNotifications
from services.followup.invalid_complaints import InvalidComplaintNotices
from services.followup.metrics import TimerFired
from services.followup.model import (
    Callback,
    CallbackNotFound,
    CallbackPolicy,
    Caller,
    Contact,
    EscalationRecord,
    OutcomeDecision,
    Subject,
    Timer,
    TrackedWorkOrder,
    Verdict,
    decide_outcome,
)
from services.followup.notifications import Notifier, customer_recipient
from services.followup.receipts import ReceiptNotices
from services.followup.repository import FollowupRepository
from services.followup.serious_cases import SeriousCaseNotices
from services.followup.sla_clocks import STEPS, STOPS, ClockRules
from services.followup.work_order_notices import WorkOrderNotices
from shared.contracts import (
    CallbackOutcome,
    ComplaintContact,
    ComplaintEtaChanged,
    ComplaintFaultFixed,
    ComplaintInvalid,
    ComplaintJoined,
    ComplaintLinked,
    ComplaintReceived,
    ComplaintResolvedOnContact,
    ComplaintRouted,
    Department,
    Event,
    Recipient,
    WorkOrderAcknowledged,
    WorkOrderAppointmentAgreed,
    WorkOrderAssigned,
    WorkOrderEvent,
    WorkOrderResolved,
)
from shared.contracts.followup import CallbackMethod
from shared.db import Transactions
from shared.logging import bind_case, clear_case, get_logger
from shared.observability import committed

log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RecordOutcome:
    """An agent called the customer back: what came of it."""

    callback_id: uuid.UUID
    outcome: CallbackOutcome
    agent: str
    note: str | None = None
    #: The survey's 1-5 marks (supply, attitude, speed, billing), when the customer answered it.
    scores: dict[str, int] | None = None
    #: The signed-in person's display name (`agent` is then their staff id); None for a credential.
    agent_name: str | None = None
    method: CallbackMethod = "phone"


#: Routing events followup acts on: callers of a group, complaints closed as invalid or settled at first contact.
CallerEvent = (
    ComplaintJoined
    | ComplaintLinked
    | ComplaintEtaChanged
    | ComplaintFaultFixed
    | ComplaintInvalid
    | ComplaintResolvedOnContact
)


class FollowupHandlers:
    def __init__(
        self,
        transactions: Transactions[FollowupRepository],
        *,
        clocks: ClockRules,
        notifier: Notifier,
        callbacks: CallbackPolicy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.transactions = transactions
        self.clocks = clocks
        self.notifier = notifier
        self.callbacks = callbacks
        self.clock = clock
        self.duty_manager = DutyManagerHandlers(transactions, clocks=clocks, notifier=notifier, clock=clock)
        self.corrective_actions = CorrectiveActionHandlers(transactions, clocks=clocks, clock=clock)
        self.invalid = InvalidComplaintNotices(clocks=clocks, notifier=notifier)
        self.serious_cases = SeriousCaseNotices(notifier=notifier)
        self.receipts = ReceiptNotices(notifier=notifier)
        self.work_order_notices = WorkOrderNotices(notifier=notifier)
        self.failed_notifications = FailedNotifications(transactions, clock=clock, time_scale=clocks.time_scale)

    # -- consumed events ------------------------------------------------------------------------------

    async def on_work_order_events(self, batch: Sequence[WorkOrderEvent], *, consumer: str) -> None:
        """A batch of work-order events in one transaction; each is marked processed by `consumer` (the consumer
        group's name) with its effect, so a redelivered one is skipped."""
        async with self.transactions() as work:
            outgoing: list[Event] = []
            for event in batch:
                if await work.repo.first_delivery(consumer, event.event_id):
                    outgoing += await self._on_work_order_event(work.repo, event)
            await work.repo.add_to_outbox(outgoing)
            work.commit()

    async def on_contacts(self, batch: Sequence[ComplaintContact | ComplaintReceived], *, consumer: str) -> None:
        """Keep each complaint's contact data, for callbacks and customer notifications (deduplicated like
        `on_work_order_events`), and send each complaint's receipt once both it and the contact are known
        (`receipts.py`: either may come first; the receipt locks, taken in one order, make the second see the
        first)."""
        now = self.clock()
        async with self.transactions() as work:
            await work.repo.lock_receipts(sorted({e.complaint_id for e in batch}))
            outgoing: list[Event] = []
            for event in batch:
                if isinstance(event, ComplaintReceived):
                    outgoing += await self.receipts.on_received(work.repo, event, now)
                elif await work.repo.first_delivery(consumer, event.event_id):
                    p = event.payload
                    contact = Contact(
                        p.complaint_id, p.name, p.phone, p.email, p.wechat_openid, p.preferred_contact.value
                    )
                    await work.repo.add_contact(contact)
                    outgoing += await self.receipts.tell(work.repo, p.complaint_id, now)
            await work.repo.add_to_outbox(outgoing)
            work.commit()

    async def on_incident_events(self, batch: Sequence[Event], *, consumer: str) -> None:
        """Learn which work orders are incidents': their resolution calls back the callers, not the incident."""
        async with self.transactions() as work:
            for event in batch:
                if await work.repo.first_delivery(consumer, event.event_id):
                    p = event.payload
                    await work.repo.add_incident_work_order(p.work_order_id, p.incident_id)
            work.commit()

    async def on_caller_events(self, batch: Sequence[Event], *, consumer: str) -> None:
        """Callers of an incident, an outage notice or a case they duplicate: told when they join, when the ETA
        changes and when the fault is fixed; then called back on their own. A complaint closed as invalid: the
        customer is told why — unless it is routed after all (a supervisor overturned it) before the customer was
        told. A counter complaint's first routing: not settled on the spot, the duty manager comes. Otherwise
        routing events are not followup's (their work orders arrive on the department topics)."""
        async with self.transactions() as work:
            outgoing: list[Event] = []
            for event in batch:
                if isinstance(event, ComplaintRouted):
                    if event.payload.valid:  # both idempotent: no processed mark needed for every routing
                        await self.invalid.overturned(work.repo, event.complaint_id, self.clock())
                        outgoing += await self.duty_manager.on_routed(work.repo, event, self.clock())
                    continue
                if not isinstance(event, CallerEvent):
                    continue
                if await work.repo.first_delivery(consumer, event.event_id):
                    bind_case(complaint_id=str(event.complaint_id))
                    outgoing += await self._on_caller_event(work.repo, event)
            clear_case()
            await work.repo.add_to_outbox(outgoing)
            work.commit()

    async def _on_caller_event(self, repo: FollowupRepository, event: CallerEvent) -> list[Event]:
        now = self.clock()
        if isinstance(event, ComplaintInvalid):
            return await self.invalid.on_invalid(repo, event, now)
        if isinstance(event, ComplaintResolvedOnContact):
            await self.invalid.overturned(repo, event.complaint_id, now)
            return await self._resolved_on_contact(repo, event)
        if isinstance(event, ComplaintEtaChanged):
            await repo.update_caller(event.complaint_id, eta=event.payload.eta)
            return await self._tell_caller(repo, event.complaint_id, "eta_changed", now)
        if isinstance(event, ComplaintFaultFixed):
            return await self._caller_fixed(repo, event, now)
        p = event.payload
        if isinstance(event, ComplaintJoined):
            kind, group = ("incident", p.incident_id) if p.incident_id else ("outage", p.outage_id)
            caller = Caller(
                p.complaint_id, p.reference_no, kind, group, p.cause, p.cause_en, p.eta, event.correlation_id, now
            )
        else:
            caller = Caller(
                p.complaint_id,
                p.reference_no,
                "duplicate",
                p.linked_to_complaint_id,
                None,
                None,
                None,
                event.correlation_id,
                now,
            )
        if not await repo.add_caller(caller):
            return []
        return await self._tell_caller(repo, caller.complaint_id, "joined", now)

    async def _tell_caller(
        self, repo: FollowupRepository, complaint_id: uuid.UUID, what: str, now: datetime
    ) -> list[Event]:
        """One message to a linked caller: on joining (retried until their contact arrives), on a new ETA, when
        fixed (those two only when the contact is known: the first message then told them everything)."""
        caller = await repo.caller(complaint_id)
        recipient = customer_recipient(await repo.contact(complaint_id))
        if caller is None:
            return []
        if recipient is None:
            if what == "joined":
                await repo.schedule(self.clocks.caller_notice(complaint_id, now))
            return []
        if what == "joined":
            template = (
                "duplicate_linked"
                if caller.group_kind == "duplicate"
                else ("group_joined" if caller.eta else "group_joined_no_eta")
            )
        else:
            template = what
        return await self.notifier.request(
            repo,
            complaint_id=complaint_id,
            correlation_id=caller.correlation_id,
            template_id=template,
            recipient=recipient,
            params=self.notifier.caller_params(caller, template),
            at=now,
            reference_no=caller.reference_no,
        )

    async def _resolved_on_contact(self, repo: FollowupRepository, event: ComplaintResolvedOnContact) -> list[Event]:
        """Settled at first contact: no work order, but called back like one (the resolution id stands for it),
        by the agent who settled it."""
        p = event.payload
        await repo.open_case(p.complaint_id, p.reference_no)
        return await self._start_callback(
            repo,
            event,
            work_order_id=p.resolution_id,
            department=p.department.value,
            cycle=1,
            resolution=p.handled_on_contact,
            due_at=self.clocks.callback_due(p.resolved_at, p.callback_limit),
            at=p.resolved_at,
            severity=p.severity.value,
            owner=p.owner,
            ladder=self.clocks.ladder_for(p.category.value, p.severity.value, p.resolved_at, p.district),
        )

    async def _caller_fixed(self, repo: FollowupRepository, event: ComplaintFaultFixed, now: datetime) -> list[Event]:
        """Their fault is fixed: they are told, and get their own callback with their own clock, for the owner
        of their own case (v2; a v1 event's callback has none)."""
        p = event.payload
        group = p.incident_id or p.outage_id or p.linked_to_complaint_id
        kind = "incident" if p.incident_id else "outage" if p.outage_id else "duplicate"
        assert group is not None
        await repo.add_caller(
            Caller(p.complaint_id, p.reference_no, kind, group, None, None, None, event.correlation_id, now)
        )
        await repo.update_caller(p.complaint_id, fixed_at=p.fixed_at)
        # An outage caller's callback follows the outage notice: no work order was opened for them.
        scheduled = await self._start_callback(
            repo,
            event,
            work_order_id=p.work_order_id or group,
            department=p.department.value,
            cycle=1,
            resolution=p.resolution,
            due_at=self.clocks.callback_due(p.fixed_at, p.callback_limit),
            at=p.fixed_at,
            severity=p.severity.value,
            owner=p.owner,
            ladder=self.clocks.ladder_for(p.category.value, p.severity.value, p.fixed_at, None),
        )
        if not scheduled:
            return []
        return [*scheduled, *await self._tell_caller(repo, p.complaint_id, "fault_fixed", now)]

    async def _on_work_order_event(self, repo: FollowupRepository, event: WorkOrderEvent) -> list[Event]:
        if isinstance(event, WorkOrderAssigned):
            return await self._track(repo, event)
        stopped = STOPS.get(event.event_type)
        if stopped is None and not isinstance(event, WorkOrderAppointmentAgreed):
            return []  # notes change no clock
        p = event.payload
        if isinstance(event, WorkOrderAppointmentAgreed):
            return await self.work_order_notices.appointment_agreed(repo, event, self.clock())
        await repo.record_step(p.work_order_id, p.status.value, STEPS.get(event.event_type), p.at)
        await repo.cancel(p.work_order_id, stopped or (), self.clock())
        if isinstance(event, WorkOrderAcknowledged) and event.payload.owner:
            # Whoever signs first for a case nobody took owns it (v2): its callbacks are theirs.
            await repo.adopt_owner(p.complaint_id, event.payload.owner)
        if isinstance(event, WorkOrderResolved):
            return await self._schedule_callback(repo, event)
        return []

    async def _track(self, repo: FollowupRepository, event: WorkOrderAssigned) -> list[Event]:
        """Every work order gets its own clocks, an assisting one of a coordinated case too (it is a
        department's work order); they climb the ladder of the SLA rule its case matches. A serious case's
        lead work order goes to management at once (`serious_cases.py`)."""
        p, d = event.payload, event.payload.deadlines
        order = TrackedWorkOrder(
            work_order_id=p.work_order_id,
            complaint_id=p.complaint_id,
            reference_no=p.reference_no,
            department=p.department.value,
            cycle=p.cycle,
            category=p.category.value,
            severity=p.severity.value,
            channel=p.channel.value,
            starts_at=d.starts_at,
            acknowledge_by=d.acknowledge_by,
            on_site_by=d.on_site_by,
            resolve_by=d.resolve_by,
            interim_reply_by=d.interim_reply_by,
            callback_limit=d.callback_limit,
            correlation_id=event.correlation_id,
            owner=p.owner,
            role=p.role,
            district=p.location.district,
            ladder=self.clocks.ladder_for(p.category.value, p.severity.value, d.starts_at, p.location.district),
            lead_work_order_id=p.lead_work_order_id,
        )
        if not await repo.track(order):
            return []
        for plan in self.clocks.work_order_clocks(order):
            await repo.schedule(plan)
        return await self.serious_cases.on_assigned(repo, order, self.clock())

    async def _schedule_callback(self, repo: FollowupRepository, event: WorkOrderResolved) -> list[Event]:
        """Every resolved case gets a callback (100 % callback), with its own clock, for the case's owner —
        except an incident's (its callers each get theirs, `complaint.fault_fixed`) and a coordinated case's
        work order while others are open (`case_resolved` false: the last one resolved calls back). A
        coordinated case is called back on its lead work order, whichever resolved it last. The customer is told
        what was done, why and what will change (`case_resolved`) before the callback is scheduled."""
        p = event.payload
        order = await repo.record_resolution(p.work_order_id, p.resolution)
        if not p.case_resolved or await repo.is_incident_work_order(p.work_order_id):
            return []
        order = await self._case_order(repo, order)
        scheduled = await self._start_callback(
            repo,
            event,
            work_order_id=order.work_order_id if order else p.work_order_id,
            department=order.department if order else p.department.value,
            cycle=order.cycle if order else p.cycle,
            resolution=p.resolution,
            due_at=self.clocks.callback_due(p.at, order.callback_limit if order else None),
            at=p.at,
            owner=order.owner if order else None,
            ladder=order.ladder if order else "default",
        )
        if not scheduled:
            return []  # this resolution was handled already
        told = await self.work_order_notices.case_resolved(repo, event, order, self.clock())
        return [*told, *scheduled]

    @staticmethod
    async def _case_order(repo: FollowupRepository, order: TrackedWorkOrder | None) -> TrackedWorkOrder | None:
        """The work order a case's callback is tied to: an assisting one's lead (dispatch reopens the case and
        tells its callers through the lead, so a dissatisfied customer must name it), else the order itself."""
        if order is None or order.role != "assisting" or order.lead_work_order_id is None:
            return order
        lead = await repo.work_order(order.lead_work_order_id)
        if lead is None:
            log.warning("assisting work order's lead is not tracked", lead_work_order_id=order.lead_work_order_id)
            return order
        return lead

    async def _start_callback(
        self,
        repo: FollowupRepository,
        event: WorkOrderResolved | ComplaintFaultFixed | ComplaintResolvedOnContact,
        *,
        work_order_id: uuid.UUID,
        department: str,
        cycle: int,
        resolution: str | None,
        due_at: datetime,
        at: datetime,
        severity: str | None = None,
        owner: str | None = None,
        ladder: str = "default",
    ) -> list[Event]:
        """A pending callback with its own clock, once per caller and work order (a redelivery adds nothing).
        A linked caller's own severity and correlation id are kept: the work order is not theirs alone (nor
        is there one for a complaint settled at first contact)."""
        callback = Callback(
            callback_id=uuid.uuid4(),
            complaint_id=event.payload.complaint_id,
            work_order_id=work_order_id,
            reference_no=event.payload.reference_no,
            department=department,
            cycle=cycle,
            resolution=resolution,
            due_at=due_at,
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
            completed_at=None,
            last_note=None,
            last_agent=None,
            severity=severity,
            correlation_id=event.correlation_id if severity is not None else None,
            owner=owner,
            ladder=ladder,
        )
        if not await repo.add_callback(callback):
            return []
        for plan in self.clocks.callback_clocks(callback.complaint_id, callback.callback_id, at, due_at, ladder):
            await repo.schedule(plan)
        return [events.callback_scheduled(callback, correlation_id=event.correlation_id, causation_id=event.event_id)]

    # -- timers ---------------------------------------------------------------------------------------

    async def fire_due_timers(self, *, worker: str, batch_size: int) -> int:
        """Claim up to `batch_size` due timers and fire them: claim, effects, outbox and the fired marks commit
        together, so a process that dies mid-way leaves its timers due for another."""
        now = self.clock()
        async with self.transactions() as work:
            due = await work.repo.claim_due(now, batch_size)
            outgoing: list[Event] = []
            for timer in due:
                bind_case(complaint_id=str(timer.complaint_id))
                outgoing += await self._fire(work.repo, timer, now)
            clear_case()
            if due:
                committed.note(TimerFired(t.kind) for t in due)
                await work.repo.mark_fired([t.timer_id for t in due], now, worker)
                await work.repo.add_to_outbox(outgoing)
            work.commit()
        return len(due)

    async def _fire(self, repo: FollowupRepository, timer: Timer, now: datetime) -> list[Event]:
        """What a due timer does. Stages completed meanwhile were cancelled, so this clock really ran out."""
        if timer.kind == "caller_notice":
            return await self._caller_notice(repo, timer, now)
        subject = await self._subject(repo, timer)
        if subject is None:
            log.warning("timer for an unknown subject", timer_id=timer.timer_id)
            return []
        if timer.stage == "satisfaction" and subject.status == "satisfied":
            return []  # satisfied meanwhile (its close cancels this timer; this guards a race)
        if timer.kind == "interim_reply":
            return await self._interim_reply(repo, timer, subject, now)
        if timer.kind == "warning":
            return await self._warning(repo, timer, subject, now)
        if timer.kind == "breach":
            return await self._breach(repo, timer, subject, now)
        log.warning("unknown timer kind", kind=timer.kind)
        return []

    async def _subject(self, repo: FollowupRepository, timer: Timer) -> Subject | None:
        """What the clock watches: a work order's stage, its callback, the duty manager's call, a corrective
        action, or a dissatisfied callback's case. None when there is nothing left to escalate."""
        if timer.stage == "callback":
            return await repo.callback_subject(timer.subject_id)
        if timer.stage == "duty_manager":
            return await repo.duty_subject(timer.subject_id)
        if timer.stage == "corrective_action":
            return await repo.action_subject(timer.subject_id)
        if timer.stage == "satisfaction":
            return await repo.dissatisfied_subject(timer.subject_id)
        return await repo.work_order_subject(timer.subject_id)

    async def _caller_notice(self, repo: FollowupRepository, timer: Timer, now: datetime) -> list[Event]:
        """A customer's first message (a linked caller's, or why their complaint is invalid), retried until their
        contact arrives (or given up, logged)."""
        if timer.stage == "invalid" and not await self.invalid.pending(repo, timer.complaint_id):
            return []  # overturned (or told) while this timer fired: the retries stop here
        if customer_recipient(await repo.contact(timer.complaint_id)) is not None:
            if timer.stage == "invalid":
                return await self.invalid.tell(repo, timer.complaint_id, now)
            return await self._tell_caller(repo, timer.complaint_id, "joined", now)
        retry = self.clocks.interim_reply_retry(timer, now)
        if retry is not None:
            await repo.schedule(retry)
        else:
            log.warning("no contact for the caller's first message", attempts=timer.level)
        return []

    async def _interim_reply(
        self, repo: FollowupRepository, timer: Timer, subject: Subject, now: datetime
    ) -> list[Event]:
        recipient = customer_recipient(await repo.contact(timer.complaint_id))
        if recipient is None:
            retry = self.clocks.interim_reply_retry(timer, now)
            if retry is not None:
                await repo.schedule(retry)
            else:
                log.warning("no contact for the interim reply", attempts=timer.level + 1)
            return []
        return await self.notifier.request(
            repo,
            complaint_id=timer.complaint_id,
            correlation_id=subject.correlation_id,
            template_id="interim_reply",
            recipient=recipient,
            params={"reference_no": subject.reference_no},
            at=now,
            severity=subject.severity,
        )

    async def _warning(self, repo: FollowupRepository, timer: Timer, subject: Subject, now: datetime) -> list[Event]:
        """The first rung of the clock's ladder is warned; a corrective action's owner too."""
        warning = events.sla_warning(
            timer,
            reference_no=subject.reference_no,
            department=subject.department,
            correlation_id=subject.correlation_id,
            share=self.clocks.warning_share,
            at=now,
            work_order_id=subject.work_order_id,
        )
        department = Department(subject.department)
        recipients = [Recipient(kind="staff", role=self.clocks.ladder(timer.ladder).warned, department=department)]
        if timer.stage == "corrective_action" and subject.owner:
            recipients.insert(0, Recipient(kind="staff", staff_id=subject.owner, department=department))
        notify: list[Event] = []
        for recipient in recipients:
            notify += await self.notifier.request(
                repo,
                complaint_id=timer.complaint_id,
                correlation_id=subject.correlation_id,
                template_id="sla_warning",
                recipient=recipient,
                params=self._stage_params(subject, timer.stage, timer.deadline),
                at=now,
            )
        return [warning, *notify]

    async def _breach(self, repo: FollowupRepository, timer: Timer, subject: Subject, now: datetime) -> list[Event]:
        ladder = self.clocks.ladder(timer.ladder)
        climb = escalation.breach(ladder, timer, now, reason=escalation.BREACH_REASONS.get(timer.stage))
        record = climb.escalation
        params = self._stage_params(subject, record.stage, record.deadline) | {
            "escalated_to": self.notifier.role_label(record.escalated_to)
        }
        emitted = await self._escalate(
            repo,
            record,
            subject.reference_no,
            subject.department,
            subject.correlation_id,
            template_id="escalation",
            params=params,
            work_order_id=subject.work_order_id,
        )
        if climb.next_level is not None:
            await repo.schedule(self.clocks.next_breach(timer, climb.next_level))
        return emitted

    def _stage_params(self, subject: Subject, stage: str, deadline: datetime | None) -> dict[str, str]:
        return self.notifier.stage_params(
            reference_no=subject.reference_no, department=subject.department, stage=stage, deadline=deadline
        )

    async def _escalate(
        self,
        repo: FollowupRepository,
        record: EscalationRecord,
        reference_no: str,
        department: str,
        correlation_id: str,
        *,
        template_id: str,
        params: dict[str, str],
        work_order_id: uuid.UUID | None = None,
    ) -> list[Event]:
        """One rung of the ladder: recorded, published, and the person at that rung notified."""
        await repo.add_escalation(record)
        log.warning(
            "complaint escalated",
            stage=record.stage,
            level=record.level,
            escalated_to=record.escalated_to,
            ladder=record.ladder,
        )
        escalated = events.complaint_escalated(
            record,
            reference_no=reference_no,
            department=department,
            correlation_id=correlation_id,
            work_order_id=work_order_id,
        )
        notify = await self.notifier.request(
            repo,
            complaint_id=record.complaint_id,
            correlation_id=correlation_id,
            template_id=template_id,
            recipient=Recipient(kind="staff", role=record.escalated_to, department=Department(department)),
            params=params,
            at=record.at,
        )
        return [escalated, *notify]

    # -- callbacks ------------------------------------------------------------------------------------

    async def record_outcome(self, cmd: RecordOutcome) -> Callback:
        """Record a call and apply what `decide_outcome` says it does; returns the callback as it is now.

        Raises `CallbackNotFound`, or `CallbackClosed` when its outcome was already recorded."""
        async with self.transactions() as work:
            repo = work.repo
            callback = await repo.callback_for_update(cmd.callback_id)
            if callback is None:
                raise CallbackNotFound(f"no callback {cmd.callback_id}")
            bind_case(complaint_id=str(callback.complaint_id))
            now = self.clock()
            if callback.is_task:
                task = await self._record_task(repo, callback, cmd, now)
                work.commit()
                return task
            severity, correlation_id = await repo.severity_and_correlation(callback)
            before = await repo.dissatisfied_count(callback.complaint_id) if cmd.outcome == "dissatisfied" else 0
            decision = decide_outcome(
                callback,
                cmd.outcome,
                agent=cmd.agent,
                note=cmd.note,
                now=now,
                severity=severity,
                dissatisfied_before=before,
                policy=self.callbacks,
                scores=cmd.scores,
                agent_name=cmd.agent_name,
                method=cmd.method,
            )
            await repo.add_to_outbox(await self._apply(repo, decision, correlation_id, now, severity))
            work.commit()
        log.info("callback outcome recorded", outcome=cmd.outcome, attempt=decision.attempt, final=decision.final)
        return decision.callback

    async def _record_task(
        self, repo: FollowupRepository, task: Callback, cmd: RecordOutcome, now: datetime
    ) -> Callback:
        """An agent phoned a customer no message reached: reached completes the task, unreachable retries it like a
        callback; nothing of the case changes and no callback event is published (`failed_notifications.py`)."""
        decision = decide_outcome(
            task,
            cmd.outcome,
            agent=cmd.agent,
            note=cmd.note,
            now=now,
            severity="normal",
            dissatisfied_before=0,
            policy=self.callbacks,
            scores=cmd.scores,
            agent_name=cmd.agent_name,
            method=cmd.method,
        )
        await repo.save_callback(decision.callback)
        log.info("notification task recorded", outcome=cmd.outcome, attempt=decision.attempt, final=decision.final)
        return decision.callback

    async def _apply(
        self,
        repo: FollowupRepository,
        decision: OutcomeDecision,
        correlation_id: str,
        now: datetime,
        severity: str | None = None,
    ) -> list[Event]:
        callback = decision.callback
        await repo.save_callback(callback)
        emitted = [events.callback_attempted(decision, correlation_id=correlation_id, at=now)]
        if decision.final:
            await repo.cancel(callback.callback_id, ["callback"], now)
        closes_as = decision.closes_as
        if closes_as is not None:
            emitted += await self._close(repo, callback, closes_as, correlation_id, now, severity)
        elif decision.reopens:
            assert decision.dissatisfied_count is not None
            await repo.set_dissatisfied_count(callback.complaint_id, decision.dissatisfied_count)
            emitted.append(events.complaint_reopened(decision, correlation_id=correlation_id, at=now))
            if decision.verdict is Verdict.REOPEN:
                # Still not satisfied a day later (not closed satisfied by then): the dissatisfied ladder.
                await repo.schedule(self.clocks.still_dissatisfied(callback.complaint_id, callback.callback_id, now))
            else:
                # Dissatisfied again: the top of the dissatisfied ladder at once; nothing left to climb to.
                await repo.cancel_for_complaint(callback.complaint_id, ["satisfaction"], now)
                record = escalation.dissatisfied_again(
                    self.clocks.ladder(self.clocks.dissatisfied_ladder),
                    complaint_id=callback.complaint_id,
                    callback_id=callback.callback_id,
                    count=decision.dissatisfied_count,
                    now=now,
                )
                params = {
                    "reference_no": callback.reference_no,
                    "department": self.notifier.department_label(callback.department),
                }
                emitted += await self._escalate(
                    repo,
                    record,
                    callback.reference_no,
                    callback.department,
                    correlation_id,
                    template_id="dissatisfied_again",
                    params=params,
                )
        return emitted

    async def _close(
        self,
        repo: FollowupRepository,
        callback: Callback,
        outcome: str,
        correlation_id: str,
        now: datetime,
        severity: str | None = None,
    ) -> list[Event]:
        """Close the case; a satisfied customer is also told it is closed."""
        await repo.close_case(callback.complaint_id, now, outcome)
        if outcome == "satisfied":
            await repo.cancel_for_complaint(callback.complaint_id, ["satisfaction"], now)
        emitted = [events.complaint_closed(callback, outcome, correlation_id=correlation_id, at=now)]
        recipient = customer_recipient(await repo.contact(callback.complaint_id))
        if outcome == "satisfied" and recipient is not None:
            emitted += await self.notifier.request(
                repo,
                complaint_id=callback.complaint_id,
                correlation_id=correlation_id,
                template_id="case_closed",
                recipient=recipient,
                params={"reference_no": callback.reference_no},
                at=now,
                severity=severity,
            )
        return emitted
