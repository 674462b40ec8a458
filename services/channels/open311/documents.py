"""Each Open311 answer as a `formats.Document`, field by field in the spec's order (GeoReport v2's response
tables): the service list, a service definition, a filed request's token, a token's request id, service requests,
and the discovery file. Pure; the routes render them as XML or JSON.

A field the spec lists is always present — empty (`null` in JSON) when we do not give it — so a client reads the
same shape from every request. No personal data: a request shows the public copy kept when it was filed
(`repository/open311.py`) and the case's status, notes, department and expected time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from services.channels.open311.catalogue import SERVICES, Attribute, Language, Service
from services.channels.open311.formats import Document
from services.channels.repository.open311 import ServiceRequestView

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this endpoint's services or behaviour last changed (discovery's `changeset`).
CHANGESET = "2026-12-05T00:00:00Z"
AGENCIES: dict[Language, dict[str, str]] = {
    "zh": {"repair": "维修部", "billing": "营业收费部", "customer_service": "客户服务部"},
    "en": {"repair": "Repair department", "billing": "Billing department", "customer_service": "Customer service"},
}
SERVICE_NOTICE: dict[Language, str] = {
    "zh": "已收到。受理后将告知受理号（即 service_request_id），可凭此查询进度。",
    "en": "Received. The reference number (the service_request_id) follows once it is registered; use it to "
    "follow the request.",
}


def language(accept_language: str | None) -> Language:
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def services(lang: Language) -> Document:
    return Document(
        "services",
        [
            {
                "service_code": s.code,
                "service_name": s.name[lang],
                "description": s.description[lang],
                "metadata": s.metadata,
                "type": "batch",
                "keywords": s.keywords[lang],
                "group": s.group,
            }
            for s in SERVICES
        ],
    )


def _attribute(attribute: Attribute, lang: Language) -> dict[str, Any]:
    described = attribute.datatype_description
    return {
        "variable": True,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": described[lang] if described else None,
        "order": attribute.order,
        "description": attribute.description[lang],
        "values": [{"key": choice.key, "name": choice.name[lang]} for choice in attribute.values],
    }


def definition(service: Service, lang: Language) -> Document:
    return Document(
        "service_definition",
        {"service_code": service.code, "attributes": [_attribute(a, lang) for a in service.attributes]},
    )


def filed(token: uuid.UUID, lang: Language) -> Document:
    """POST requests: a token (we are a `batch` endpoint), never a service_request_id beside it."""
    return Document(
        "service_requests", [{"token": str(token), "service_notice": SERVICE_NOTICE[lang], "account_id": None}]
    )


def token(token: uuid.UUID, view: ServiceRequestView) -> Document:
    return Document("service_requests", [{"service_request_id": view.reference_no, "token": str(token)}])


def _request(view: ServiceRequestView, lang: Language) -> dict[str, Any]:
    request = view.request
    service = next((s for s in SERVICES if s.code == request.service_code), None)
    return {
        "service_request_id": view.reference_no,
        "status": view.status,
        "status_notes": view.status_notes,
        "service_name": service.name[lang] if service else None,
        "service_code": request.service_code,
        "description": request.description,
        "agency_responsible": AGENCIES[lang].get(view.department or "", view.department),
        "service_notice": None,
        "requested_datetime": request.requested_at,
        "updated_datetime": view.updated_at or request.requested_at,
        "expected_datetime": view.eta,
        "address": request.address,
        "address_id": None,
        "zipcode": None,
        "lat": request.latitude,
        "long": request.longitude,
        "media_url": request.media_url,
    }


def service_requests(views: Sequence[ServiceRequestView], lang: Language) -> Document:
    return Document("service_requests", [_request(view, lang) for view in views])


def discovery(url: str, contact: str, changeset: str = CHANGESET) -> Document:
    return Document(
        "discovery",
        {
            "changeset": changeset,
            "contact": contact,
            "key_service": "API keys per client system: ask the utility's customer service (contact)",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": url,
                    "changeset": changeset,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )
