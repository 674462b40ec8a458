"""Schemathesis against each service's OpenAPI document: every operation is fuzzed with schema-valid and
schema-invalid requests (positive and negative generation), and every response must be no 5xx, a documented
status code with the documented content type, headers and schema; invalid input must be rejected, and an
operation that requires a credential must refuse a request without a valid one.

Each service runs for real in this process: its own lifespan (pool, consumers, relay, workers) under uvicorn in
a thread on a loopback port, against the session's Postgres and broker. The OpenAPI documents are read from the
apps when this module is collected (one test per operation) and checked against what the servers serve.
Generation is derandomized with a fixed seed and no example database, so the same command sends the same requests
again. (Hypothesis also draws string and number constants from the project's loaded non-test modules, so running
this module alone and in the whole suite send slightly different, each repeatable, requests.)

A complaint is pushed through the pipeline first (intake → dispatch → followup, reporting), so that about half
of the schema-valid requests that name a resource in their path name one that exists: responses other than
404 get their schemas checked too. Notify is handed a notice for a staff member and an SMS about that case, so its
deliveries (queried by the case, the query aimed like a path), its inbox (under that staff member's token) and a
notice to mark read exist; its receipt endpoints name each vendor's real parser, which refuses the fuzzer's
unsigned calls (their bodies are the vendors' own, not in the document: the parsers' unit tests read those).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from schemathesis import Case, GenerationMode

from services.dispatch.bootstrap import create_app as create_dispatch
from services.dispatch.settings import DispatchSettings
from services.followup.bootstrap import create_app as create_followup
from services.followup.settings import FollowupSettings
from services.intake.bootstrap import create_app as create_intake
from services.intake.schemas import normalise_phone
from services.intake.settings import IntakeSettings
from services.notify.bootstrap import create_app as create_notify
from services.notify.providers import aliyun_sms, email_smtp, tencent_sms, wechat
from services.notify.providers.catalog import Catalog
from services.notify.settings import NotifySettings
from services.reporting.bootstrap import create_app as create_reporting
from services.reporting.settings import ReportingSettings
from shared.contracts import Channel, Recipient
from tests.support.complaints import complaint
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.notify import FakeDirectory, FakeProvider, StaffAddress, catalog, phone, request
from tests.support.ports import bound_socket, port_of
from tests.support.tokens import LocalIssuer

SEED = 20261123
#: Generated cases per operation, besides the schema's examples and the coverage phase's boundary cases.
MAX_EXAMPLES = 40

# Service → how to build it, and the settings field naming its consumer group (a fresh one per run).
SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any], str]] = {
    "intake": (create_intake, IntakeSettings, "intake_consumer_group"),
    "dispatch": (create_dispatch, DispatchSettings, "dispatch_consumer_group"),
    "followup": (create_followup, FollowupSettings, "followup_consumer_group"),
    "reporting": (create_reporting, ReportingSettings, "reporting_consumer_group"),
    "notify": (create_notify, NotifySettings, "notify_consumer_group"),
}
CHANNEL_KEYS = {channel.value: f"dev-only-{channel.value}-key" for channel in Channel}
KEYS = {
    "intake": CHANNEL_KEYS[Channel.WEB.value],
    "dispatch": "dev-only-supervisor-key",
    "followup": "dev-only-agent-key",
    "reporting": "dev-only-manager-key",
    "notify": "dev-only-notify-key",
}
CHANNEL, SUPERVISOR = {"X-API-Key": KEYS["intake"]}, {"X-API-Key": KEYS["dispatch"]}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
PHONE = "13912345678"
# Preferred way of contact → the field it needs, and a value for it.
CONTACT_FIELDS = {
    "phone": ("phone", PHONE),
    "sms": ("phone", PHONE),
    "email": ("email", "kf@heat-utility.cn"),
    "wechat": ("wechat_openid", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"),
}

# Notify: its inbox is a signed-in person's, so the inbox operations carry this staff member's token (from a local
# issuer notify trusts) instead of the machine key; its receipts are checked by the vendors' real parsers, configured
# with a test secret; its senders are fakes, so a request is delivered without a vendor.
NOTIFY_ISSUER = LocalIssuer()
INBOX_STAFF = "s-fuzz-inbox"
RECEIPT_SECRET = "fuzz-receipt-token"


#: Settings of a service's own for the run: notify sends customer messages at any hour (no quiet hours to wait out).
SETTINGS: dict[str, dict[str, Any]] = {"notify": {"notify_quiet_hours": ""}}


def _notify_catalog() -> Catalog:
    providers = catalog(FakeProvider("sms-fuzz", "sms"), FakeProvider("smtp-fuzz", "email"))
    parsers = (
        aliyun_sms.receipts(aliyun_sms.Settings(receipt_token=RECEIPT_SECRET)),
        tencent_sms.receipts(tencent_sms.Settings(receipt_token=RECEIPT_SECRET)),
        wechat.receipts(wechat.Settings(wechat_callback_token=RECEIPT_SECRET)),
        email_smtp.receipts(email_smtp.Settings(notify_bounce_token=RECEIPT_SECRET, notify_email_domain="fuzz.test")),
    )
    providers.receipts.update({parser.name: parser for parser in parsers if parser is not None})
    return providers


def _create(service: str, settings: Any) -> FastAPI:
    create_app = SERVICES[service][0]
    if service != "notify":
        return create_app(settings)
    return create_notify(
        settings,
        catalog=_notify_catalog(),
        directory=FakeDirectory({INBOX_STAFF: StaffAddress(INBOX_STAFF, "值班员", None, None)}),
        persons=NOTIFY_ISSUER.verifier(),
    )


# Hypothesis flags any change of the global `random` state while a case is drawn; the services' threads (their Kafka
# clients) draw from it concurrently. Schemathesis' own strategies use Hypothesis' randoms, so generation is unaffected.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)

CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "request-timeout": 30,
    "operations": [
        {
            # `positive_data_acceptance` (every schema-valid request is accepted) cannot hold here: these operations
            # enforce rules relative to the server's clock, which no static schema can state — a complaint's
            # `received_at` may not lie ahead of now, a reporting period ends today by default and spans at most
            # 731 days; the contact-access log's `from` and `to` and the personal-data reads' `since` are moments
            # with an offset, and one its pattern admits but no calendar has (month 00) is refused. Their 422s for
            # such input are documented; every other check still runs on them.
            "include-name": [
                "GET /v1/contact-access",
                "GET /v1/personal-data-reads",
                "POST /v1/complaints",
                "GET /v1/kpis",
                "GET /v1/kpis.csv",
                "GET /v1/cases.csv",
                "GET /v1/reports/staff",
                "GET /v1/reports/staff.csv",
                "GET /v1/reports/serious",
                "GET /v1/reports/serious.csv",
                "GET /v1/reports/root-causes",
                "GET /v1/reports/root-causes.csv",
            ],
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
        {
            # Rules across fields, which the schema cannot state either: an incident names its asset or its
            # district and compound, an outage notice ends after it starts and an area notice names its family,
            # and an asset registry file is checked as a whole (ids, types, places, conflicts); a validity decision
            # takes a note when valid and a reason when not; an unreachable customer answered no survey; a household
            # lookup names at least one of phone, account and address (a phone of digits), a privacy request exactly
            # one of phone and account (a real phone number); a visit window (an
            # appointment, the next visit after a missed one) ends after it starts, and findings record a temperature
            # or a note. Their 422s name the problem; every other check still runs on them.
            "include-name": [
                "POST /v1/work-orders/{work_order_id}/appointment",
                "POST /v1/work-orders/{work_order_id}/not-at-home",
                "POST /v1/work-orders/{work_order_id}/findings",
                "GET /v1/households/lookup",
                "POST /v1/incidents",
                "POST /v1/outage-notices",
                "POST /v1/assets/import",
                "POST /v1/complaints/{complaint_id}/validity",
                "POST /v1/callbacks/{callback_id}/outcome",
                "GET /v1/privacy/subjects",
                "POST /v1/privacy/correction",
                "POST /v1/privacy/erasure",
            ],
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
        {
            # Rules that depend on the resource the request names: a resolution's root cause must be a code of the
            # work order's own department's catalogue, and a serious or emergency work order needs a cause analysis
            # and corrective action; a corrective action's deadline (also in a serious case's proposal) lies ahead
            # of the server's clock; an assisting department is not the lead's own nor one already assisting; a crew
            # sent is one of the work order's department. Their 422s name the field (a refused root cause lists the
            # valid codes); every other check still runs on them.
            "include-name": [
                "POST /v1/work-orders/{work_order_id}/crew",
                "POST /v1/work-orders/{work_order_id}/resolve",
                "POST /v1/complaints/{complaint_id}/corrective-actions",
                "POST /v1/work-orders/{work_order_id}/assist",
                "POST /v1/work-orders/{work_order_id}/serious/propose",
            ],
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
    ],
}


def _openapi(service: str) -> dict[str, Any]:
    create_app, settings_class, _ = SERVICES[service]
    return create_app(settings_class(app_env="test")).openapi()


def _load(service: str) -> Any:
    schema = schemathesis.openapi.from_dict(_openapi(service), config=schemathesis.Config.from_dict(CONFIG))

    @schema.auth(refresh_interval=None, retry_on=[])
    class ApiKey:
        """The service's dev credential; on intake, the credential of the channel the body names, so submissions
        reach the handler instead of all stopping at 'credential of another channel'."""

        def get(self, case: Case, ctx: Any) -> tuple[str, str]:
            if service == "intake" and isinstance(case.body, dict):
                channel = case.body.get("channel")
                if isinstance(channel, str) and channel in CHANNEL_KEYS:
                    return "X-API-Key", CHANNEL_KEYS[channel]
            if service == "notify" and case.operation.path.startswith("/v1/inbox"):
                token = NOTIFY_ISSUER.mint(INBOX_STAFF, roles=("dispatcher",), department="heating", expires_in=3600)
                return "Authorization", f"Bearer {token}"
            return "X-API-Key", KEYS[service]

        def set(self, case: Case, data: tuple[str, str], ctx: Any) -> None:
            header, value = data
            case.headers = {**(case.headers or {}), header: value}

    return schema


intake = _load("intake")
dispatch = _load("dispatch")
followup = _load("followup")
reporting = _load("reporting")
notify = _load("notify")


@dataclass
class Served:
    urls: dict[str, str]
    #: Path parameter (and, on notify, query parameter) → values naming resources that exist.
    known: dict[str, list[str]]

    def call(self, service: str, case: Case) -> None:
        if _positive(case):
            self.aim(case, query=service == "notify")
            if service == "intake" and isinstance(case.body, dict):
                _fit_submission_rules(case.body)
        _fresh_idempotency_key(case)
        case.call_and_validate(base_url=self.urls[service])

    def aim(self, case: Case, *, query: bool = False) -> None:
        """Point about half of the schema-valid cases at an existing resource (chosen from the generated value,
        so the same case is aimed the same way on every run). Negative cases keep their invalid values. With
        `query`, query parameters naming a resource (notify's `complaint_id`) are aimed too."""
        for parameters in (case.path_parameters, case.query if query else None):
            for name, value in (parameters or {}).items():
                choices = self.known.get(name)
                if choices and parameters is not None:
                    pick = zlib.crc32(str(value).encode())
                    if pick % 2 == 0:
                        parameters[name] = choices[(pick // 2) % len(choices)]


_KEYS_SENT = itertools.count()
_RUN = uuid.uuid4().hex[:12]
_VALID_KEY = re.compile(r"^[!-~]{1,128}$")


def _fresh_idempotency_key(case: Case) -> None:
    """A valid generated `Idempotency-Key` made unique to its case: the generator draws few distinct short keys
    ("0", "!"), and a key reused by the next case with another body is rightly 422 (or, with the same body, the
    first case's answer) — not what that case is about. An invalid one (a negative case's) is kept, to be refused."""
    headers = case.headers or {}
    if isinstance(headers.get("Idempotency-Key"), str) and _VALID_KEY.match(headers["Idempotency-Key"]):
        headers["Idempotency-Key"] = f"fuzz-{_RUN}-{next(_KEYS_SENT)}"


def _positive(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def _fit_submission_rules(body: dict[str, Any]) -> None:
    """Make a schema-valid submission meet the rules its schema does not state, so that schema-valid cases reach
    the accepting path (store, reference number, outbox) instead of nearly all ending in 422: a `received_at` not
    ahead of now, a real phone number, the preferred way of contact given, no control characters. Values the
    generator chose are kept wherever they already pass."""
    received_at = body.get("received_at")
    if isinstance(received_at, str):
        try:
            if datetime.fromisoformat(received_at) > datetime.now(UTC):
                body["received_at"] = "2026-01-01T08:00:00+08:00"
        except ValueError:
            pass
    if isinstance(body.get("text"), str):
        body["text"] = _CONTROL.sub(" ", body["text"])
    customer = body.get("customer")
    if not isinstance(customer, dict):
        return
    if isinstance(customer.get("name"), str):
        customer["name"] = _CONTROL.sub(" ", customer["name"])
    if customer.get("phone") is not None and not _valid_phone(customer["phone"]):
        customer["phone"] = PHONE
    field, value = CONTACT_FIELDS.get(customer.get("preferred_contact") or "phone", (None, None))
    if field is not None and customer.get(field) is None:
        customer[field] = value


def _valid_phone(value: object) -> bool:
    try:
        normalise_phone(str(value))
    except ValueError:
        return False
    return True


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread, on a loopback port of its own, with its lifespan running."""
    sock = bound_socket()
    port = port_of(sock)
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


async def _seed_notify(db: asyncpg.Pool, complaint_id: uuid.UUID, bootstrap: str) -> dict[str, list[str]]:
    """Two messages about the open case delivered by notify: a notice in the fuzzing staff member's inbox and an
    SMS to the customer (sent by the fake vendor)."""
    staff = Recipient(kind="staff", staff_id=INBOX_STAFF)
    notice = request(staff, template_id="sla_warning", complaint_id=complaint_id)
    sms = request(Recipient(kind="customer", phone=phone()), complaint_id=complaint_id)
    await publish(bootstrap, notice, sms)
    for event, statuses in ((notice, ["delivered"]), (sms, ["sent", "delivered"])):
        await wait_until(
            lambda event=event, statuses=statuses: db.fetchval(
                "SELECT true FROM notify.deliveries WHERE notification_id = $1 AND status = ANY($2::text[])",
                event.payload.notification_id,
                statuses,
            ),
            timeout=60,
        )
    return {
        "notification_id": [str(notice.payload.notification_id), str(sms.payload.notification_id)],
        "provider": ["aliyun_sms", "tencent_sms", "wechat", "smtp"],
    }


async def _seed(urls: dict[str, str], db: asyncpg.Pool, bootstrap: str) -> dict[str, list[str]]:
    """One complaint left open (its work order assigned) and one resolved (its callback scheduled)."""
    async with httpx.AsyncClient(timeout=30) as http:

        async def submit(account_no: str) -> dict[str, Any]:
            body = complaint("web")
            body["customer"]["account_no"] = account_no
            answer = await http.post(f"{urls['intake']}/v1/complaints", json=body, headers=CHANNEL)
            assert answer.status_code == 202, answer.text
            return answer.json()

        async def work_order(complaint_id: str) -> uuid.UUID:
            return await wait_until(
                lambda: db.fetchval(
                    "SELECT work_order_id FROM dispatch.work_orders WHERE complaint_id = $1 AND status = 'assigned'",
                    uuid.UUID(complaint_id),
                ),
                timeout=60,
            )

        async def answers(url: str, headers: dict[str, str]) -> bool:
            return (await http.get(url, headers=headers)).status_code == 200

        # Accounts of their own: an open work order of the same account and category would link, not route, them.
        accounts = [f"FZ-{uuid.uuid4().hex[:12]}" for _ in range(2)]
        open_case, resolved_case = await submit(accounts[0]), await submit(accounts[1])
        open_order, resolved_order = (
            await work_order(open_case["complaint_id"]),
            await work_order(resolved_case["complaint_id"]),
        )
        for step, body in (
            ("acknowledge", None),
            ("resolve", {"resolution": "已测温并排气", "root_cause": "repair.air_lock"}),
        ):
            done = await http.post(
                f"{urls['dispatch']}/v1/work-orders/{resolved_order}/{step}", json=body, headers=SUPERVISOR
            )
            assert done.status_code == 200, done.text
        callback = await wait_until(
            lambda: db.fetchval(
                "SELECT callback_id FROM followup.callbacks WHERE complaint_id = $1",
                uuid.UUID(resolved_case["complaint_id"]),
            ),
            timeout=60,
        )
        sla = f"{urls['followup']}/v1/complaints/{open_case['complaint_id']}/sla"
        await wait_until(lambda: answers(sla, {"X-API-Key": KEYS["followup"]}), timeout=60)
        case = f"{urls['reporting']}/v1/cases/{open_case['reference_no']}"
        await wait_until(lambda: answers(case, {"X-API-Key": KEYS["reporting"]}), timeout=60)

    complaint_ids = [open_case["complaint_id"], resolved_case["complaint_id"]]
    references = [open_case["reference_no"], resolved_case["reference_no"]]
    return {
        **await _seed_notify(db, uuid.UUID(open_case["complaint_id"]), bootstrap),
        "complaint_ref": complaint_ids + references,  # intake
        "ref": complaint_ids + references,  # reporting
        "complaint_id": complaint_ids,  # dispatch reclassify, followup SLA
        "work_order_id": [str(open_order), str(resolved_order)],
        "callback_id": [str(callback)],
        "account_no": accounts,
    }


@pytest.fixture(scope="module")
async def served(migrated: Infrastructure, db: asyncpg.Pool) -> AsyncIterator[Served]:
    with ExitStack() as stack:
        urls = {}
        for service, (_, settings_class, group_setting) in SERVICES.items():
            settings = settings_class(
                app_env="test",
                database_url=migrated.database_url,
                kafka_bootstrap_servers=migrated.kafka_bootstrap_servers,
                **{group_setting: f"{service}-fuzz-{uuid.uuid4().hex[:8]}"},
                **SETTINGS.get(service, {}),
            )
            urls[service] = stack.enter_context(_serve(_create(service, settings)))
        yield Served(urls, await _seed(urls, db, migrated.kafka_bootstrap_servers))


@pytest.mark.parametrize("service", list(SERVICES))
def test_fuzzed_document_is_the_served_one(served: Served, service: str) -> None:
    served_document = requests.get(f"{served.urls[service]}/openapi.json", timeout=10).json()
    assert served_document == _openapi(service)


@intake.parametrize()
def test_intake(case: Case, served: Served) -> None:
    served.call("intake", case)


@dispatch.parametrize()
def test_dispatch(case: Case, served: Served) -> None:
    served.call("dispatch", case)


@followup.parametrize()
def test_followup(case: Case, served: Served) -> None:
    served.call("followup", case)


@reporting.parametrize()
def test_reporting(case: Case, served: Served) -> None:
    served.call("reporting", case)


@notify.parametrize()
def test_notify(case: Case, served: Served) -> None:
    served.call("notify", case)
