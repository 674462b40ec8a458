"""What the event loop is still running, as text for a log line: each task's name and where it waits.

Why: a stopping service once waited for ever on a database connection that never came back to its pool (CI74), and
`shared.runtime.close_pool` now gives up after a bound — but the log could not say who held the connection. The
holder is usually a task still waiting somewhere (a request, a worker, a handler): its await chain names the code.
Function names, files and lines only, never local values: nothing personal reaches the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

#: Frames shown per task, the innermost kept (where it waits is what tells).
MAX_FRAMES = 12


def pending_tasks(*, exclude: asyncio.Task[Any] | None = None) -> list[str]:
    """Every unfinished task of the running loop but `exclude`, as "name: outer (file:line) > … > inner (file:line)"."""
    described = []
    for task in asyncio.all_tasks():
        if task is exclude or task.done():
            continue
        frames = [f"{f.f_code.co_name} ({Path(f.f_code.co_filename).name}:{f.f_lineno})" for f in _awaiting(task)]
        described.append(f"{task.get_name()}: {' > '.join(frames[-MAX_FRAMES:]) or '?'}")
    return sorted(described)


def _awaiting(task: asyncio.Task[Any]) -> Iterator[FrameType]:
    """The frames of the task's coroutine and of each coroutine it awaits, outermost first (`Task.get_stack` gives
    only the outermost of a suspended task)."""
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            yield frame
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
