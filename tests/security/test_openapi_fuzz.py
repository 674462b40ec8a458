"""Schemathesis against each service's OpenAPI document: every operation is fuzzed with schema-valid and
schema-invalid requests, and every response must be no 5xx, a documented status code, of the documented
content type and schema, and invalid input must be rejected.

Each service runs for real in this process — its own lifespan (pool, consumers, relay) under uvicorn on a
loopback port — against the session's Postgres and broker. The OpenAPI documents are read from the apps
when this module is collected (one test per operation), and checked against what the servers serve.
Generation is derandomized with a fixed seed and no example database, so a run repeats exactly.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from schemathesis import Case

from services.dispatch.bootstrap import create_app as create_dispatch
from services.dispatch.settings import DispatchSettings
from services.followup.bootstrap import create_app as create_followup
from services.followup.settings import FollowupSettings
from services.intake.bootstrap import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.reporting.bootstrap import create_app as create_reporting
from services.reporting.settings import ReportingSettings
from shared.contracts import Channel
from tests.support.infrastructure import Infrastructure

SEED = 20261123
MAX_EXAMPLES = 25

# Service → how to build it, and the settings field naming its consumer group (a fresh one per run).
SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any], str]] = {
    "intake": (create_intake, IntakeSettings, "intake_consumer_group"),
    "dispatch": (create_dispatch, DispatchSettings, "dispatch_consumer_group"),
    "followup": (create_followup, FollowupSettings, "followup_consumer_group"),
    "reporting": (create_reporting, ReportingSettings, "reporting_consumer_group"),
}
CHANNEL_KEYS = {channel.value: f"dev-only-{channel.value}-key" for channel in Channel}
KEYS = {
    "intake": CHANNEL_KEYS[Channel.WEB.value],
    "dispatch": "dev-only-supervisor-key",
    "followup": "dev-only-agent-key",
    "reporting": "dev-only-manager-key",
}


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "request-timeout": 30,
        }
    )


def _openapi(service: str) -> dict[str, Any]:
    create_app, settings_class, _ = SERVICES[service]
    return create_app(settings_class(app_env="test")).openapi()


def _load(service: str) -> Any:
    schema = schemathesis.openapi.from_dict(_openapi(service), config=_config())

    @schema.auth(refresh_interval=None, retry_on=[])
    class ApiKey:
        """The service's dev credential; on intake, the credential of the channel the body names, so submissions
        reach the handler instead of stopping at 'credential of another channel'."""

        def get(self, case: Case, ctx: Any) -> str:
            if service == "intake" and isinstance(case.body, dict):
                channel = case.body.get("channel")
                if isinstance(channel, str) and channel in CHANNEL_KEYS:
                    return CHANNEL_KEYS[channel]
            return KEYS[service]

        def set(self, case: Case, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "X-API-Key": data}

    return schema


intake = _load("intake")
dispatch = _load("dispatch")
followup = _load("followup")
reporting = _load("reporting")


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread, on a loopback port of its own, with its lifespan running."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"{app.title} did not start (see its log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{app.title} did not start within 60 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def served(migrated: Infrastructure) -> Iterator[dict[str, str]]:
    """Base URL of each running service."""
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        for service, (create_app, settings_class, group_setting) in SERVICES.items():
            settings = settings_class(
                app_env="test",
                database_url=migrated.database_url,
                kafka_bootstrap_servers=migrated.kafka_bootstrap_servers,
                **{group_setting: f"{service}-fuzz-{uuid.uuid4().hex[:8]}"},
            )
            urls[service] = stack.enter_context(_serve(create_app(settings)))
        yield urls


@pytest.mark.parametrize("service", list(SERVICES))
def test_fuzzed_document_is_the_served_one(served: dict[str, str], service: str) -> None:
    served_document = requests.get(f"{served[service]}/openapi.json", timeout=10).json()
    assert served_document == _openapi(service)


@intake.parametrize()
def test_intake(case: Case, served: dict[str, str]) -> None:
    case.call_and_validate(base_url=served["intake"])


@dispatch.parametrize()
def test_dispatch(case: Case, served: dict[str, str]) -> None:
    case.call_and_validate(base_url=served["dispatch"])


@followup.parametrize()
def test_followup(case: Case, served: dict[str, str]) -> None:
    case.call_and_validate(base_url=served["followup"])


@reporting.parametrize()
def test_reporting(case: Case, served: dict[str, str]) -> None:
    case.call_and_validate(base_url=served["reporting"])
