"""Open311 GeoReport v2's formats, checked against the spec's field lists (wiki.open311.org/GeoReport_v2): every
document in XML (declaration, root, one element per item) and in JSON (the Spark mapping: arrays, `null`), the
error list, and the reading of the POST form and of GET requests' filters. Pure: no I/O."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from services.channels.open311 import documents, params
from services.channels.open311.catalogue import SERVICES
from services.channels.open311.errors import error_document, http_status, requested_format
from services.channels.open311.formats import Document, render, to_json, to_xml, w3_datetime
from services.channels.repository.open311 import Open311Request, ServiceRequestView
from shared.errors import Invalid, NotFound

# The spec's response tables, field by field.
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _xml(document: Document) -> ElementTree.Element:
    body = to_xml(document)
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    return ElementTree.fromstring(body)


def _view(status: str | None = "resolved", reference_no: str | None = "TS-20261205-000001") -> ServiceRequestView:
    request = Open311Request(
        message_id=uuid.uuid4(),
        client="fixmystreet",
        service_code="heating_temperature",
        requested_at=NOW,
        description="暖气不热，电话 138****0000",
        address="朝阳区",
        latitude=39.912,
        longitude=116.401,
        media_url="https://example.org/p.jpg",
        complaint_id=uuid.uuid4(),
    )
    return ServiceRequestView(request, reference_no, status, "已更换阀门", "repair", NOW, NOW + timedelta(hours=4))


def test_the_service_list_has_the_spec_fields_in_both_formats() -> None:
    document = documents.services("en")
    root = _xml(document)
    assert root.tag == "services"
    assert [child.tag for child in root] == ["service"] * len(SERVICES)
    assert [field.tag for field in root[0]] == SERVICE_FIELDS
    assert root[0].findtext("metadata") == "true" and root[0].findtext("type") == "batch"
    listed = json.loads(to_json(document))
    assert isinstance(listed, list) and list(listed[0]) == SERVICE_FIELDS
    assert listed[0]["metadata"] is True
    assert documents.services("zh").body[0]["service_name"] == "室温不达标"  # type: ignore[index]


def test_a_service_definition_lists_attributes_and_their_values() -> None:
    outage = next(s for s in SERVICES if s.code == "outage")
    root = _xml(documents.definition(outage, "zh"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "outage"
    attributes = root.find("attributes")
    assert attributes is not None
    supply = next(a for a in attributes if a.findtext("code") == "supply")
    assert [field.tag for field in supply] == ATTRIBUTE_FIELDS
    assert supply.findtext("datatype") == "singlevaluelist" and supply.findtext("required") == "true"
    assert [v.findtext("key") for v in supply.iter("value")] == ["heat", "power", "water", "gas"]
    as_json = json.loads(to_json(documents.definition(outage, "en")))
    assert as_json["service_code"] == "outage"
    assert [list(a) for a in as_json["attributes"]] == [ATTRIBUTE_FIELDS] * 2
    assert as_json["attributes"][0]["datatype_description"]
    assert as_json["attributes"][1]["values"][1] == {"key": "power", "name": "Electricity"}


def test_service_requests_carry_every_spec_field_and_no_personal_data() -> None:
    document = documents.service_requests([_view(), _view("routed")], "zh")
    root = _xml(document)
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request", "request"]
    assert [field.tag for field in root[0]] == REQUEST_FIELDS
    assert root[0].findtext("status") == "closed" and root[1].findtext("status") == "open"
    assert root[0].findtext("agency_responsible") == "维修部"
    assert root[0].findtext("requested_datetime") == "2026-12-05T12:00:00Z"
    assert root[0].findtext("zipcode") == ""  # present, empty
    listed = json.loads(to_json(document))
    assert [list(r) for r in listed] == [REQUEST_FIELDS] * 2
    assert listed[0]["lat"] == 39.912 and listed[0]["address_id"] is None
    assert listed[0]["expected_datetime"] == "2026-12-05T16:00:00Z"
    assert "13800000000" not in to_json(document).decode()


def test_post_answers_a_token_and_the_token_its_request_id() -> None:
    token = uuid.uuid4()
    root = _xml(documents.filed(token, "en"))
    assert [f.tag for f in root[0]] == ["token", "service_notice", "account_id"]
    assert root[0].find("service_request_id") is None  # not returned beside a token (spec)
    pending = json.loads(to_json(documents.token(token, _view(reference_no=None))))
    assert pending == [{"service_request_id": None, "token": str(token)}]
    known = _xml(documents.token(token, _view()))
    assert known[0].findtext("service_request_id") == "TS-20261205-000001"


def test_discovery_names_the_endpoint_and_its_formats() -> None:
    document = documents.discovery("https://utility.example/open311/v2", "hotline 96069")
    as_json = json.loads(to_json(document))
    assert list(as_json) == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = as_json["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = _xml(document)
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_errors_are_the_spec_list_with_its_http_statuses() -> None:
    document = error_document(403, ["api_key was not provided"])
    root = _xml(document)
    assert root.tag == "errors" and [f.tag for f in root[0]] == ["code", "description"]
    assert root[0].findtext("code") == "403"
    assert json.loads(to_json(document)) == [{"code": 403, "description": "api_key was not provided"}]
    assert [http_status(s) for s in (401, 403, 404, 409, 422, 500, 503)] == [403, 403, 404, 400, 400, 400, 400]
    assert requested_format("/open311/v2/requests.json") == "json"
    assert requested_format("/open311/v2/nowhere") == "xml"
    _, content_type = render(document, "xml")
    assert content_type == "text/xml; charset=utf-8"


def test_w3_datetimes_are_utc_with_z() -> None:
    offset = datetime(2010, 4, 14, 6, 37, 38, 123, tzinfo=UTC).astimezone(UTC)
    assert w3_datetime(offset) == "2010-04-14T06:37:38Z"
    assert w3_datetime(None) is None


def _form(**fields: str) -> list[tuple[str, str]]:
    return list(fields.items())


def test_a_form_becomes_a_checked_request() -> None:
    pairs = [
        ("service_code", "outage"),
        ("lat", "39.9"),
        ("long", "116.4"),
        ("description", "整栋楼停暖"),
        ("attribute[supply]", "heat"),
        ("attribute[account_no]", "A-1001"),
        ("first_name", "明"),
        ("last_name", "王"),
        ("phone", "13800138000"),
        ("email", ""),  # empty is as if not given
    ]
    cmd = params.file_request(pairs, client="fixmystreet", raw_body=b"x")
    assert (cmd.service_code, cmd.latitude, cmd.longitude, cmd.account_no) == ("outage", 39.9, 116.4, "A-1001")
    assert cmd.attribute_lines == ("中断：供热",) and cmd.email is None and cmd.phone == "13800138000"


def test_every_fault_of_a_form_is_named() -> None:
    with pytest.raises(Invalid) as refused:
        params.file_request(
            _form(service_code="outage", lat="91", long="x", description="d" * 4001, phone="call me"),
            client="c",
            raw_body=b"",
        )
    fields = [e["field"] for e in refused.value.extra["errors"]]
    assert fields == ["lat", "long", "description", "attribute[supply]", "phone"]
    with pytest.raises(Invalid, match="location"):
        params.file_request(_form(service_code="billing", description="bill"), client="c", raw_body=b"")
    with pytest.raises(Invalid, match="service_code was not provided"):
        params.file_request(_form(address_string="x"), client="c", raw_body=b"")
    with pytest.raises(NotFound, match="pothole"):
        params.file_request(_form(service_code="pothole", address_string="x"), client="c", raw_body=b"")
    with pytest.raises(Invalid, match="UTF-8"):
        params.form_pairs(b"description=\xff\xfe")


def test_get_requests_filters_default_to_ninety_days_and_refuse_longer() -> None:
    query = params.request_query([], NOW)
    assert query.start == NOW - timedelta(days=90) and query.end is None and query.limit == 1000
    query = params.request_query(_form(status="closed", service_code="outage,billing"), NOW)
    assert query.statuses == ("closed",) and query.service_codes == ("outage", "billing")
    repeated = params.request_query([("status", "open"), ("status", "closed"), ("service_code", "outage")], NOW)
    assert repeated.statuses == ("open", "closed") and repeated.service_codes == ("outage",)
    ids = params.request_query(_form(service_request_id="TS-1,TS-2", status="bogus"), NOW)
    assert ids.reference_nos == ("TS-1", "TS-2")  # ids override every other filter
    with pytest.raises(Invalid, match="90 days"):
        params.request_query(_form(start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z"), NOW)
    with pytest.raises(Invalid, match="time zone"):
        params.request_query(_form(start_date="2026-01-01T00:00:00"), NOW)
    for far in ({"start_date": "9999-12-31T23:59:59+14:00"}, {"end_date": "0001-01-05T00:00:00Z"}):
        with pytest.raises(Invalid, match="between the years"):  # past a datetime's range: refused, not a 500
            params.request_query(_form(**far), NOW)
    with pytest.raises(Invalid, match="open, closed"):
        params.request_query(_form(status="pending"), NOW)
    with pytest.raises(NotFound):
        params.check_jurisdiction("other.gov", "utility.example")
    params.check_jurisdiction(None, "utility.example")
