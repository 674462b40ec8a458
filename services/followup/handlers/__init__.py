"""Followup's use cases: plain functions of (message, `Work`) run by the one door (`shared.handling.Door`), which
opens the unit of work, deduplicates events per consumer, writes the outbox and commits — no module here does.

One module per use case: `clocks` (work-order events start and stop the SLA clocks), `callers` (callers of an
incident, an outage or a duplicated case), `first_contact` (a complaint settled at first contact), `invalid`
(complaints closed as invalid), `receipts` (the reference number, once complaint and contact are known),
`duty_manager`, `corrective_actions`, `serious_cases`, `work_order_notices` (the visit window, the resolution),
`callbacks` (a callback scheduled with its clock), `outcomes` (an agent's call recorded), `escalations` (warnings
and rungs climbed), `due_timers` (the timer worker's batch), `incidents` and `failed_notifications`. What they share
is `context` (`FollowupContext`: the clock rules, the notifier, the callback policy). Which use cases each event
type runs is `consumers.py`'s table.
"""
