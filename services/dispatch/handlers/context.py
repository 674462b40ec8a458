"""What every dispatch use case reaches through `work.context`: the rules and policies loaded at start, the
collaborators (photo storage), and the asset registry's index, rebuilt when an import changed the registry.

Frozen: a use case reads its context, never changes it (the asset index cache is the one thing that moves, and it
only follows the registry's version in the database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from services.dispatch.assets import AssetIndex
from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.crews import Crews, load_crews
from services.dispatch.handlers.opening import WorkOrderOpener
from services.dispatch.incidents.policy import IncidentRules, load_incident_rules
from services.dispatch.photos import PhotoStorage
from services.dispatch.repository import DispatchRepository
from services.dispatch.root_causes import RootCauseCatalogue, load_root_causes
from services.dispatch.serving import ServedModel
from shared.handling import Door, Work
from shared.sla import SlaTable
from shared.subject_keys import NO_KEYS, KeyRing


@dataclass
class AssetIndexCache:
    """The registry's index and the registry version it was built from (-1: not built yet)."""

    version: int = -1
    index: AssetIndex = field(default_factory=lambda: AssetIndex.build(()))


@dataclass(frozen=True)
class DispatchContext:
    """Dispatch's rules, policies and collaborators, built once in the composition root (or by a test)."""

    rules: Rules
    sla: SlaTable
    #: Shrinks SLA limits for drills and tests (settings.sla_time_scale).
    sla_scale: float = 1.0
    incident_rules: IncidentRules = field(default_factory=load_incident_rules)
    #: Rules and the trained model (`classification.classify`); tests may pass a stand-in.
    classifier: Callable[[ComplaintFacts, Rules], Classification] = classify
    #: What a resolution may name as its root cause (root_causes.toml).
    root_causes: RootCauseCatalogue = field(default_factory=load_root_causes)
    #: The crews a department sends (crews.csv).
    crews: Crews = field(default_factory=load_crews)
    #: Where photos taken on site are kept, and the largest one accepted.
    photos: PhotoStorage | None = None
    photo_max_bytes: int = 5 * 1024 * 1024
    assets: AssetIndexCache = field(default_factory=AssetIndexCache)
    #: The category model serving now: the shipped one, or the one a supervisor promoted (`serving.py`).
    served: ServedModel = field(default_factory=ServedModel)
    #: Customers' keys, to open sealed contacts (`shared/subject_keys.py`; the service's reads intake's key table).
    keys: KeyRing = NO_KEYS
    #: Serious and emergency cases resolve only once leadership approved the department's proposal
    #: (`handlers/serious_cases.py`; settings.dispatch_serious_approval). Off: the resolving department's own cause
    #: analysis and corrective actions suffice, as before issue 24.
    serious_approval: bool = False

    @property
    def orders(self) -> WorkOrderOpener:
        """Opens work orders with this SLA table and scale."""
        return WorkOrderOpener(self.sla, self.sla_scale)


#: What a dispatch use case holds: the repository in the open transaction, this context, the unit's time, the outbox.
DispatchWork: TypeAlias = Work[DispatchRepository, DispatchContext]
#: Dispatch's door: every use case runs through it (`shared.handling`).
DispatchDoor: TypeAlias = Door[DispatchRepository, DispatchContext]
