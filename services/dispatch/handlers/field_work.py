"""Photos taken on site: the one use case of two units of work, because the bytes go to the photo storage between
them. Who may add one and whether the work order takes one now are checked before any byte is stored; the bytes are
stored before the row and the event commit (a row never points at nothing), and removed again when the step fails
after all. The other field steps are work-order steps (`work_orders.act`, rules in `field_work.py`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from services.dispatch.errors import Forbidden, NotFound
from services.dispatch.handlers.context import DispatchDoor, DispatchWork
from services.dispatch.handlers.work_orders import Act, act
from services.dispatch.model import Actor, Photo, Step, WorkOrderView
from services.dispatch.photos import check_photo
from services.dispatch.photos.storage import photo_key
from services.dispatch.steps import not_theirs
from services.dispatch.workorders.lifecycle import Action, next_status
from shared.contracts import WorkOrderStatus


@dataclass(frozen=True)
class AddPhoto:
    work_order_id: uuid.UUID
    data: bytes
    actor: Actor


async def photo_allowed(command: AddPhoto, work: DispatchWork) -> None:
    """NotFound, Forbidden or IllegalTransition (not on site) before any byte is stored."""
    order = await work.repo.get_work_order(command.work_order_id)
    if order is None:
        raise NotFound(f"no work order {command.work_order_id}")
    if not command.actor.may_act_on(order):
        raise Forbidden(not_theirs(order, command.actor))
    next_status(Action.ADD_PHOTO, WorkOrderStatus(order.status))


async def add_photo(door: DispatchDoor, command: AddPhoto) -> tuple[WorkOrderView, Photo]:
    """Attach a photo taken on site. Raises NotFound, Forbidden, IllegalTransition (not on site), PhotoTooLarge,
    NotAnImage."""
    await door.run(photo_allowed, command)
    context, data = door.context, command.data
    content_type = check_photo(data, context.photo_max_bytes)
    if context.photos is None:
        raise RuntimeError("no photo storage configured")
    photo_id = uuid.uuid4()
    key = photo_key(command.work_order_id, photo_id)
    await context.photos.put(key, data, content_type)
    photo = Photo(
        photo_id=photo_id,
        work_order_id=command.work_order_id,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        actor=command.actor.name,
        actor_name=command.actor.label,
        at=door.clock(),
    )
    step = Act(command.work_order_id, Step(Action.ADD_PHOTO, photo=photo), command.actor)
    try:
        return await door.run(act, step), photo
    except BaseException:
        await context.photos.delete(key)
        raise
