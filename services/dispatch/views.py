"""What dispatch shows over HTTP: one work order with its history, and a department's queue.

Read-only: each view reads through the repository in a unit of work it never commits. The access rule is the
one the handlers apply (`Actor.may_handle`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.dispatch.model import Actor, Forbidden, NotFound, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from shared.contracts import Department
from shared.db import Transactions


@dataclass
class DispatchViews:
    transactions: Transactions[DispatchRepository]

    async def work_order(self, work_order_id: uuid.UUID, actor: Actor) -> WorkOrderView:
        """A work order and its history; one the actor may not handle is reported as missing, not forbidden,
        so a department cannot probe for other departments' work orders."""
        async with self.transactions() as work:
            order = await work.repo.get_work_order(work_order_id)
            if order is None or not actor.may_handle(order.department):
                raise NotFound(f"no work order {work_order_id} for {actor.name}")
            return WorkOrderView(order, await work.repo.history(work_order_id))

    async def queue(
        self, department: Department, actor: Actor, *, limit: int, offset: int
    ) -> tuple[list[WorkOrder], int]:
        """A page of a department's open work orders, most urgent first, and their total."""
        if not actor.may_handle(department):
            raise Forbidden(f"{actor.name} cannot read the {department.value} queue")
        async with self.transactions() as work:
            return await work.repo.queue(department.value, limit=limit, offset=offset)
