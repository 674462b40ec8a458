"""The category model this process classifies with: the shipped one until a supervisor promotes a retrained one,
then that one — followed from the database (`dispatch.category_models`), so every replica swaps within one
refresh interval (`DISPATCH_MODEL_REFRESH_SECONDS`) of the promotion, without a restart.

A mutable cell in the frozen context, like the asset index cache: a use case reads it, only the follow step (which
reads the database's promoted version) moves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.dispatch.candidates import ServedModelRow
from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.classification.classifier import SHIPPED
from services.dispatch.learning.model import CategoryModel, load_model, model_from_bytes
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class ServedModel:
    """The promoted model, or None while the shipped one serves."""

    promoted: CategoryModel | None = None

    @property
    def model(self) -> CategoryModel:
        return self.promoted if self.promoted is not None else load_model()

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def shipped_version(self) -> str:
        """The version of the model shipped with dispatch (what serves while nothing is promoted)."""
        return load_model().version

    def classify(self, facts: ComplaintFacts, rules: Rules) -> Classification:
        """`classification.classify` with the model that serves now."""
        return classify(facts, rules, model=self.promoted if self.promoted is not None else SHIPPED)

    def follow(self, row: ServedModelRow | None) -> bool:
        """Serve what the database says is promoted (the shipped model when nothing is); True when it changed."""
        if row is None:
            changed = self.promoted is not None
            self.promoted = None
        elif row.version == self.version or not row.model:
            return False
        else:
            self.promoted = model_from_bytes(row.model)
            changed = True
        if changed:
            log.info("category model swapped", version=self.version)
        return changed
