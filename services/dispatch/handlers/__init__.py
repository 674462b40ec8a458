"""What dispatch does, one use case per function, grouped by what it is about. Each runs through the door
(`shared.handling.Door`): `use_case(message, work)` reads and writes through `work.repo`, reads `work.now` and the
rules in `work.context` (`DispatchContext`), and emits its events with `work.emit`; the door owns the transaction,
the deduplication of events, the outbox and the commit.

- `route`: received complaints classified and routed (outcomes in `outcomes`), reopened ones, reclassifications,
  returns;
- `work_orders`: a department's steps on a work order (and department systems' updates); `field_work`: photos;
- `triage`: a supervisor's decisions on doubtful and invalid complaints;
- `incidents`, `outages`: one fault, many callers (`callers` tells them);
- `corrective_actions`, `coordination`, `contacts`, `assets`.

Reads are `views.py`'s.
"""
