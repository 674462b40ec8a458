"""Whether a service's consumers are still consuming (issue 26): readiness fails when one has stopped, and a
watchdog restarts it.

Why: FastStream runs each subscriber's consume loop as a task, restarted when it raises but not when it returns —
and it returns for good when its aiokafka consumer reports itself stopped, while the process, its HTTP and its other
subscribers carry on. /readyz checked Postgres only, so such a service looked healthy with a group that took
nothing (the external group probe shows the group's lag grow; this names the process). A subscriber whose loop has
ended while the broker is running is stopped; /readyz then answers 503 naming it.

A loop can also go on while its consumer takes nothing: aiokafka runs a fetch task and a coordination task beside
it, and surfaces neither's death. A fetch task that ended on an unexpected error is never read again (its
`error_future` is consulted nowhere), so `getmany` waits for ever while the heartbeats keep the member in its group,
Stable with its partitions; a coordination task that ended re-raises its error at every poll, which FastStream logs
every 5 s and carries on. Both count as stopped here (`consumer_dead`). aiokafka exposes neither task, so this reads
its private attributes (`tests/service/test_consumer_restart.py` fails if they are renamed).

Readiness alone is not enough: the orchestrator restarts a pod that stays unready, but the embedded runner restarts
only a process that exited, and a whole process restart is a heavy cure for one consumer. So `keep_consuming`
restarts the subscriber itself — FastStream's `stop()` then `start()`: a fresh aiokafka consumer that joins the group
and reads from its committed offsets (at-least-once, the door deduplicates). It waits one whole check interval
first, so a stop is seen (503, a logged error) before it is cured, and a restart that fails (the broker still down)
is tried again at the next check.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from shared.logging import get_logger

log = get_logger(__name__)

#: How often the watchdog looks; a loop seen ended at two checks in a row is restarted.
CHECK_INTERVAL_S = 10.0
#: The subscribers being restarted, or whose restart failed and waits for the next check: stopped, they are not
#: running, yet they take nothing, and readiness must not say they do (a CI run read 200 in that window). Weakly
#: held, not by id: a subscriber gone with its app (tests run many in one process) must not mark a later one that
#: happens to get its id.
_restarting: weakref.WeakSet[Any] = weakref.WeakSet()


def loop_ended(subscriber: Any) -> bool:
    """A running subscriber whose consume loop task(s) have all ended, or whose consumer's fetch or coordination task
    has: it takes nothing any more."""
    tasks = getattr(subscriber, "tasks", None)
    if not (getattr(subscriber, "running", False) and tasks):
        return False
    return all(task.done() for task in tasks) or consumer_dead(getattr(subscriber, "consumer", None))


def consumer_dead(consumer: Any) -> bool:
    """An aiokafka consumer, started and not closed, whose background fetch or coordination task has ended."""
    if consumer is None or getattr(consumer, "_closed", True):
        return False
    fetch = getattr(getattr(consumer, "_fetcher", None), "_fetch_task", None)
    coordination = getattr(getattr(consumer, "_coordinator", None), "_coordination_task", None)
    return any(task is not None and task.done() for task in (fetch, coordination))


def describe(subscriber: Any) -> str:
    """`group: topic, topic` — how readiness and the logs name a subscriber."""
    group = getattr(subscriber, "group_id", None) or "-"
    return f"{group}: {', '.join(getattr(subscriber, 'topic_names', ()))}"


def stopped_subscribers(broker: Any) -> list[str]:
    """The running subscribers (group: topics) whose consume loop has ended, and those being restarted."""
    return [describe(s) for s in getattr(broker, "subscribers", ()) if s in _restarting or loop_ended(s)]


async def keep_consuming(broker: Any, interval: float = CHECK_INTERVAL_S) -> None:
    """Until cancelled: restart each subscriber whose consume loop stayed ended from one check to the next, and retry
    each restart that failed."""
    suspects: set[int] = set()
    failed: dict[int, Any] = {}
    while True:
        await asyncio.sleep(interval)
        ended = {id(s): s for s in getattr(broker, "subscribers", ()) if loop_ended(s)}
        due = {key: ended[key] for key in ended.keys() & suspects} | failed
        suspects = set(ended) - set(due)
        failed = {key: s for key, s in due.items() if not await restart(s)}


async def restart(subscriber: Any) -> bool:
    """Stop `subscriber` and start it again (a new consumer in its group); False when the start failed."""
    name = describe(subscriber)
    log.error("kafka consume loop ended, restarting the subscriber", subscriber=name)
    _restarting.add(subscriber)
    try:
        await subscriber.stop()
        await subscriber.start()
    except Exception as exc:
        log.warning("subscriber restart failed, retried at the next check", subscriber=name, error=repr(exc))
        return False
    _restarting.discard(subscriber)
    log.info("subscriber restarted", subscriber=name)
    return True
