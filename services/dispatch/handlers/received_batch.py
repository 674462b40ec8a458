"""A batch of received complaints routed together: what the batch read once and what it writes once.

Routing one complaint used to cost nine statements (a lock, the case, the account's history, its open work orders,
then a row each in cases, classification_history, work_orders and work_order_history). For a batch, `route.received`
reads each of those for every complaint of the batch in one statement, and this holds the rows its complaints
decide until the end of the batch, when each table gets them in one statement (`flush`).

What a later complaint of the batch reads must still see what an earlier one decided, as if each were routed alone:
- a duplicate's link: the account's open work orders are read once (`open_order_for`), and each work order the
  batch opens is added to them as it is decided;
- a repeat's severity: the cases the batch stored per account are kept (`stored_counts`), and `route.py` adds them
  to the account's history read from the database;
- a complaint about a fault reads and writes the tables itself (incidents, outage notices, merges): the rows held
  so far are written first, and the open work orders are read again afterwards, since an incident that opened may
  have merged some of them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.dispatch.handlers.classifications import decision_entry
from services.dispatch.model import Case, ClassificationEntry, HistoryEntry, WorkOrder
from services.dispatch.repository import DispatchRepository


@dataclass
class ReceivedBatch:
    """The households of a batch, the rows it holds until written, and what it knows of the households' work
    orders. (A household is an account or a customer: `route._households`; "account" in the names below is it.)"""

    accounts: frozenset[str]
    #: Each complaint's household (None: neither customer nor account).
    households: Mapping[uuid.UUID, str | None]
    cases: list[Case] = field(default_factory=list)
    classifications: list[ClassificationEntry] = field(default_factory=list)
    orders: list[WorkOrder] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    #: Each account's open lead work orders, oldest first; None until read, or once a fault's handling made it stale.
    open_orders: dict[str, list[WorkOrder]] | None = None
    #: The cases this batch stored, per account (repeats).
    stored: dict[str, list[Case]] = field(default_factory=dict)

    @classmethod
    def of(cls, households: Mapping[uuid.UUID, str | None]) -> ReceivedBatch:
        return cls(frozenset(h for h in households.values() if h), households)

    def keep_case(self, case: Case, at: datetime) -> None:
        """A new case and dispatch's classification of it, written with the batch."""
        self.cases.append(case)
        self.classifications.append(decision_entry(case, at))

    def keep_order(self, order: WorkOrder, entry: HistoryEntry, account_no: str | None) -> None:
        """A new work order and its first history entry, written with the batch; duplicates see it at once."""
        self.orders.append(order)
        self.history.append(entry)
        if account_no and self.open_orders is not None:
            self.open_orders.setdefault(account_no, []).append(order)

    def stored_case(self, case: Case) -> None:
        """A case the batch stored, by whichever path: later complaints of its account count it as history."""
        if case.household:
            self.stored.setdefault(case.household, []).append(case)

    def stored_counts(self, account_no: str, since: datetime) -> Counter[str]:
        """The account's cases this batch stored, per category, as `category_counts` counts them."""
        return Counter(
            c.category for c in self.stored.get(account_no, ()) if c.accepted_at >= since and c.linked_to is None
        )

    async def open_order_for(self, repo: DispatchRepository, account_no: str, category: str) -> WorkOrder | None:
        """The account's open lead work order in this category (`open_work_order_for_account`), from the batch's
        one read of its accounts."""
        if self.open_orders is None:
            self.open_orders = await repo.open_work_orders_for_accounts(self.accounts)
        return next((o for o in self.open_orders.get(account_no, ()) if o.category == category), None)

    async def flush(self, repo: DispatchRepository) -> None:
        """Write the rows held so far, one statement per table, cases before the rows that refer to them."""
        await repo.insert_cases(self.cases)
        await repo.add_classifications(self.classifications)
        await repo.insert_work_orders(self.orders)
        await repo.add_histories(self.history)
        self.cases, self.classifications, self.orders, self.history = [], [], [], []

    async def before_fault(self, repo: DispatchRepository) -> None:
        """A complaint about a fault reads and writes the tables itself: what the batch holds is written first."""
        await self.flush(repo)

    def after_fault(self) -> None:
        """An incident that opened may have merged open work orders: read them again when next needed."""
        self.open_orders = None
