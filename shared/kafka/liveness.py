"""Whether a service's consumers are still consuming (issue 26): readiness fails when one has stopped.

Why: FastStream runs each subscriber's consume loop as a task, restarted when it raises but not when it returns —
and it returns for good when its aiokafka consumer reports itself stopped, while the process, its HTTP and its other
subscribers carry on. /readyz checked Postgres only, so such a service looked healthy with a group that took
nothing (the external group probe shows the group's lag grow; this names the process). A subscriber whose loop has
ended while the broker is running is stopped; /readyz then answers 503 naming it, and the orchestrator restarts the
pod (the embedded runner, the process).
"""

from __future__ import annotations

from typing import Any


def stopped_subscribers(broker: Any) -> list[str]:
    """The running subscribers (group: topics) whose consume loop has ended."""
    stopped = []
    for subscriber in getattr(broker, "subscribers", ()):
        tasks = getattr(subscriber, "tasks", None)
        if getattr(subscriber, "running", False) and tasks and all(task.done() for task in tasks):
            group = getattr(subscriber, "group_id", None) or "-"
            stopped.append(f"{group}: {', '.join(getattr(subscriber, 'topic_names', ()))}")
    return stopped
