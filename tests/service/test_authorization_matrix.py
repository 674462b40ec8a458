"""Every role × every endpoint: each credential opens only its own service, and within it only what
its role may do. Roles: channel, department, supervisor, agent, manager, anonymous."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.complaints import complaint
from tests.support.dispatch import running_dispatch
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.reporting import running_reporting

TOKENS = {
    "channel": "dev-only-web-key",
    "department": "dev-only-repair-key",
    "supervisor": "dev-only-supervisor-key",
    "agent": "dev-only-agent-key",
    "manager": "dev-only-manager-key",
    "anonymous": None,
}
# Fixed, not random: a test id names it, and every xdist worker must collect the same ids.
UNKNOWN = "00000000-0000-4000-8000-00000000dead"
# (service, method, path, json body, {role: expected status}); roles not listed expect 401.
ENDPOINTS: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("intake", "POST", "/v1/complaints", complaint("web"), {"channel": 202}),
    ("intake", "POST", "/v1/complaints", complaint("phone"), {"channel": 403}),
    ("intake", "GET", f"/v1/complaints/{UNKNOWN}", None, {"channel": 404}),
    ("dispatch", "GET", f"/v1/work-orders/{UNKNOWN}", None, {"department": 404, "supervisor": 404}),
    ("dispatch", "POST", f"/v1/work-orders/{UNKNOWN}/acknowledge", None, {"department": 404, "supervisor": 404}),
    (
        "dispatch",
        "POST",
        f"/v1/work-orders/{UNKNOWN}/resolve",
        {"resolution": "r", "root_cause": "repair.other"},
        {"department": 404, "supervisor": 404},
    ),
    ("dispatch", "GET", "/v1/queues/repair", None, {"department": 200, "supervisor": 200}),
    ("dispatch", "GET", "/v1/queues/billing", None, {"department": 403, "supervisor": 200}),
    (
        "dispatch",
        "POST",
        f"/v1/complaints/{UNKNOWN}/reclassify",
        {"category": "billing", "reason": "x"},
        {"department": 403, "supervisor": 404},
    ),
    ("dispatch", "GET", "/v1/root-causes", None, {"department": 200, "supervisor": 200}),
    (
        "dispatch",
        "POST",
        f"/v1/work-orders/{UNKNOWN}/assist",
        {"department": "billing", "note": "x"},
        {"department": 404, "supervisor": 404},
    ),
    (
        "dispatch",
        "POST",
        f"/v1/complaints/{UNKNOWN}/corrective-actions",
        {"description": "d", "owner": "o", "deadline": "2099-01-01T00:00:00+00:00"},
        {"department": 403, "supervisor": 404},
    ),
    (
        "dispatch",
        "POST",
        f"/v1/corrective-actions/{UNKNOWN}/complete",
        {"outcome": "done"},
        {"department": 403, "supervisor": 404},
    ),
    ("dispatch", "GET", "/v1/corrective-actions", None, {"department": 200, "supervisor": 200}),
    ("dispatch", "GET", f"/v1/complaints/{UNKNOWN}", None, {"department": 404, "supervisor": 404}),
    (
        "dispatch",
        "POST",
        f"/v1/complaints/{UNKNOWN}/validity",
        {"valid": True, "note": "ours after all"},
        {"department": 403, "supervisor": 404},
    ),
    ("followup", "GET", "/v1/callbacks", None, {"agent": 200}),
    ("followup", "POST", f"/v1/callbacks/{UNKNOWN}/outcome", {"outcome": "satisfied"}, {"agent": 404}),
    ("followup", "GET", f"/v1/complaints/{UNKNOWN}/sla", None, {"agent": 404}),
    ("followup", "POST", f"/v1/complaints/{UNKNOWN}/duty-manager/acknowledge", {"manager": "dm-1"}, {"agent": 403}),
    # Issue 24: an escalation's answer step; an agent's key reaches no escalation (the rules say who may answer).
    ("followup", "GET", "/v1/escalations", None, {"agent": 200}),
    ("followup", "GET", f"/v1/escalations/{UNKNOWN}", None, {"agent": 404}),
    (
        "followup",
        "POST",
        f"/v1/escalations/{UNKNOWN}/answer",
        {"action": "a", "by": "2099-01-01T00:00:00Z"},
        {"agent": 404},
    ),
    ("reporting", "GET", "/v1/kpis", None, {"manager": 200}),
    ("reporting", "GET", "/v1/kpis.csv", None, {"manager": 200}),
    ("reporting", "GET", "/v1/cases.csv", None, {"manager": 200}),
    ("reporting", "GET", f"/v1/cases/{UNKNOWN}", None, {"manager": 404}),
    ("reporting", "GET", "/v1/households/HT-1/cases", None, {"manager": 200}),
    ("reporting", "GET", "/v1/queues", None, {"manager": 200}),
    ("reporting", "GET", "/v1/overdue", None, {"manager": 200}),
    ("reporting", "GET", "/v1/hotspots", None, {"manager": 200}),
    ("reporting", "GET", "/v1/repeat-complainants", None, {"manager": 200}),
    ("reporting", "GET", "/v1/meta", None, {"manager": 200}),
    ("reporting", "GET", "/v1/reports/serious", None, {"manager": 200}),
    ("reporting", "GET", "/v1/reports/serious.csv", None, {"manager": 200}),
    ("reporting", "GET", "/v1/reports/root-causes", None, {"manager": 200}),
    ("reporting", "GET", "/v1/reports/staff", None, {"manager": 200}),
    ("reporting", "GET", "/v1/reports/staff.csv", None, {"manager": 200}),
]


@pytest.fixture(scope="module")
async def clients(migrated: Infrastructure) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    d, b = migrated.database_url, migrated.kafka_bootstrap_servers
    async with (
        running_intake(d, b) as (_, intake),
        running_dispatch(d, b) as (_, dispatch),
        running_followup(d, b) as (_, followup),
        running_reporting(d, b) as (_, reporting),
    ):
        yield {"intake": intake, "dispatch": dispatch, "followup": followup, "reporting": reporting}


CASES = [(role, *endpoint) for endpoint in ENDPOINTS for role in TOKENS]


@pytest.mark.parametrize(
    ("role", "service", "method", "path", "body", "allowed"), CASES, ids=[f"{c[0]}-{c[2]}-{c[1]}-{c[3]}" for c in CASES]
)
async def test_role_on_endpoint(
    clients: dict[str, httpx.AsyncClient],
    role: str,
    service: str,
    method: str,
    path: str,
    body: Any,
    allowed: dict[str, int],
) -> None:
    token = TOKENS[role]
    headers = {"X-API-Key": token} if token else {}
    if isinstance(body, dict) and service == "intake":
        body = {**body, "channel_ticket_id": f"m-{uuid.uuid4().hex[:12]}"}
    response = await clients[service].request(method, path, json=body, headers=headers)
    expected = allowed.get(role, 401)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    if expected == 401:
        assert response.headers.get("www-authenticate") == "Bearer"
