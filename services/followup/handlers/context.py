"""What every followup use case is handed besides its message: the service's rules and collaborators, fixed when
the service starts (`bootstrap.py`; unit tests build their own), and the unit of work's type."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.followup.model import CallbackPolicy
from services.followup.notifications import Notifier
from services.followup.repository import FollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.handling import Door, Work
from shared.subject_keys import NO_KEYS, KeyRing


@dataclass(frozen=True)
class FollowupContext:
    """The clock rules (SLA policy, ladders, time scale), who words and records the messages, and the callback
    rules (attempts, retry interval)."""

    clocks: ClockRules
    notifier: Notifier
    callbacks: CallbackPolicy
    #: Customers' keys, to open sealed contacts (`shared/subject_keys.py`; the service's reads intake's key table).
    keys: KeyRing = field(default=NO_KEYS)

    @property
    def time_scale(self) -> float:
        """Shrinks every clock for tests and drills (one scale for the SLA clocks and the agents' tasks)."""
        return self.clocks.time_scale


#: The unit of work a followup use case runs in: the repository in the open transaction, the context, the time.
FollowupWork = Work[FollowupRepository, FollowupContext]
#: The door every followup message and command goes through (`bootstrap.py` builds it; `deps.py` hands it to
#: routes; the timer worker runs its batches through it).
FollowupDoor = Door[FollowupRepository, FollowupContext]
