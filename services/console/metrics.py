"""The console's process metrics: sign-ins by outcome, sign-outs and token refreshes (counted once what they
changed committed), and the services' answers to the console by service and status class. Labels are bounded:
never a person, a case or a path with an id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from services.console.model import ConsoleFact

SIGN_INS = Counter(
    "console_sign_ins_total", "Sign-ins by outcome (ok, refused, state_mismatch, unknown_state).", ["outcome"]
)
SIGN_OUTS = Counter("console_sign_outs_total", "Sessions ended by their person.")
REFRESHES = Counter("console_token_refreshes_total", "Access tokens refreshed, by outcome (ok, refused).", ["outcome"])
SERVICE_CALLS = Counter(
    "console_service_calls_total",
    "Calls to the services as a person, by service and answer class.",
    ["service", "answer"],
)


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        if not isinstance(item, ConsoleFact):
            continue
        if item.kind == "sign_in":
            SIGN_INS.labels(item.outcome).inc()
        elif item.kind == "sign_out":
            SIGN_OUTS.inc()
        elif item.kind == "refresh":
            REFRESHES.labels(item.outcome).inc()


def count_call(service: str, status: int | None) -> None:
    """One call's answer: 2xx, 4xx, 5xx, or `unreachable`."""
    SERVICE_CALLS.labels(service, "unreachable" if status is None else f"{status // 100}xx").inc()
