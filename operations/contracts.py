"""`python -m operations.contracts` (or `make contracts`): write the contracts' documents.

- `docs/contracts/<event_type>.v<version>.json`: JSON Schema of every event, one file per version, kept
  forever — integrators pin to them, and a test fails when a contract changes without a new version.
- `docs/asyncapi/<service>.json`: AsyncAPI 3 of each service's topics, generated from its FastStream app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.contracts import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "contracts"
ASYNCAPI_DIR = ROOT / "docs" / "asyncapi"


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def ingress_contracts() -> dict[str, tuple[type[BaseModel], int]]:
    """Messages other systems send us, versioned like our events."""
    from services.dispatch.department_ingress import DEPARTMENT_UPDATE_VERSION, DepartmentUpdate
    from services.dispatch.outage_ingress import OUTAGE_NOTICE_VERSION, OutageNoticeMessage
    from services.intake.partner_ingress import PARTNER_TICKET_VERSION, PartnerTicket

    return {
        "ingress.partner-ticket": (PartnerTicket, PARTNER_TICKET_VERSION),
        "ingress.department-update": (DepartmentUpdate, DEPARTMENT_UPDATE_VERSION),
        "ingress.outage-notice": (OutageNoticeMessage, OUTAGE_NOTICE_VERSION),
    }


def event_schemas() -> dict[str, str]:
    """File name → rendered JSON Schema, for every event and ingress contract."""
    documents: dict[str, str] = {}
    for event_type, cls in EVENT_TYPES.items():
        version = cls.model_fields["schema_version"].default
        documents[f"{event_type}.v{version}.json"] = render(cls.model_json_schema())
    for name, (model, version) in ingress_contracts().items():
        documents[f"{name}.v{version}.json"] = render(model.model_json_schema())
    return documents


#: The broker the documents describe: the platform's authenticated, encrypted Kafka (SASL_SSL, SCRAM), fixed here
#: so a document does not change with the environment it is generated in (the test session's, a developer's).
DOCUMENTED_KAFKA: dict[str, Any] = {
    "app_env": "dev",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_username": "documentation-only",
    "kafka_sasl_password": "documentation-only",
}


def asyncapi_builders() -> dict[str, Callable[[], Any]]:
    def no_dependencies() -> Any:
        raise RuntimeError("documentation only")

    def intake() -> Any:
        from services.intake.bootstrap import build_intake_broker
        from services.intake.settings import IntakeSettings

        return build_intake_broker(IntakeSettings(**DOCUMENTED_KAFKA), no_dependencies)

    def dispatch() -> Any:
        from services.dispatch.bootstrap import build_dispatch_broker
        from services.dispatch.settings import DispatchSettings

        return build_dispatch_broker(DispatchSettings(**DOCUMENTED_KAFKA), no_dependencies)

    def followup() -> Any:
        from services.followup.bootstrap import build_followup_broker
        from services.followup.settings import FollowupSettings

        return build_followup_broker(FollowupSettings(**DOCUMENTED_KAFKA), no_dependencies)

    def reporting() -> Any:
        from services.reporting.bootstrap import build_reporting_broker
        from services.reporting.settings import ReportingSettings

        return build_reporting_broker(ReportingSettings(**DOCUMENTED_KAFKA), no_dependencies)

    return {"intake": intake, "dispatch": dispatch, "followup": followup, "reporting": reporting}


def asyncapi_documents() -> dict[str, str]:
    from faststream.specification import AsyncAPI

    documents = {}
    for service, build in asyncapi_builders().items():
        spec = AsyncAPI(build(), title=f"Utility complaints — {service}", version="1.0.0").to_specification()
        documents[f"{service}.json"] = render(spec.to_jsonable())
    return documents


def main() -> None:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    ASYNCAPI_DIR.mkdir(parents=True, exist_ok=True)
    for folder, documents in ((SCHEMA_DIR, event_schemas()), (ASYNCAPI_DIR, asyncapi_documents())):
        for name, text in documents.items():
            path = folder / name
            if path.exists() and path.read_text(encoding="utf-8") != text and folder == SCHEMA_DIR:
                raise SystemExit(
                    f"{path.relative_to(ROOT)} exists with a different schema: a published version is immutable."
                    " Bump the event's schema_version (and keep the old file)."
                )
            path.write_text(text, encoding="utf-8")
            print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
