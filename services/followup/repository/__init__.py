"""All SQL of followup's own tables (schema `followup`), behind `FollowupRepository` (`protocol.py`).

The repository works on the connection of one unit of work and never commits: the door (`shared.handling`) does.
The outbox rows and processed-event marks go through it too, so they commit with the effect — and an in-memory fake
(tests/fakes/followup.py) sees everything a use case writes. `PostgresFollowupRepository` is made of one part per
family of tables: `cases`, `follow_through`, `clocks`, `callbacks`, `messages` (and `rows`, what they share).
"""

from __future__ import annotations

from services.followup.repository.clocks import timer_backlog
from services.followup.repository.postgres import PostgresFollowupRepository
from services.followup.repository.protocol import FollowupRepository
from services.followup.repository.rows import SCHEMA, TIMERS_CHANNEL

__all__ = ["SCHEMA", "TIMERS_CHANNEL", "FollowupRepository", "PostgresFollowupRepository", "timer_backlog"]
