"""Reading GeoReport v2's parameters: the POST form of a service request, and GET requests' filters.

The spec's rules, kept: a parameter given empty is as if not given; a location is `lat` and `long` together, or
`address_string`, or `address_id`; `description` is at most 4,000 characters; attributes come as
`attribute[code]=value` (`attribute[code][]=value` repeated for a multivaluelist) and are checked against the
service's definition (`catalogue.py`); dates are W3C datetimes with a zone, a range spans at most 90 days and
defaults to the latest 90. Every fault found is named (the error list carries one entry each); an unknown
service code is a 404, anything else wrong a 400. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from services.channels.handlers.open311 import FileRequest
from services.channels.open311.catalogue import BY_CODE, Attribute, Service
from services.channels.repository.open311 import Open311Status, RequestQuery
from shared.errors import Invalid, NotFound

Pairs = Sequence[tuple[str, str]]
DESCRIPTION_MAX = 4000
SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 12, 31, tzinfo=UTC)
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,32}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The form's fields in order; a body that is not UTF-8 or not a form is refused (400)."""
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"the body is not a UTF-8 application/x-www-form-urlencoded form: {exc}") from None


def one(pairs: Pairs, name: str) -> str | None:
    """The first non-empty value of `name`, stripped (empty counts as not given)."""
    return next((v.strip() for k, v in pairs if k == name and v.strip()), None)


def one_line(pairs: Pairs, name: str) -> str | None:
    """`one`, with line breaks and other control characters made spaces (an address, a name: one line)."""
    value = one(pairs, name)
    return " ".join(_CONTROL.sub(" ", value).split()) or None if value is not None else None


def check_jurisdiction(given: str | None, ours: str) -> None:
    if ours and given and given != ours:
        raise NotFound(f"jurisdiction_id {given!r} was not found: this endpoint serves {ours!r}")


def _refuse(faults: list[tuple[str, str]]) -> None:
    if faults:
        raise Invalid(
            "; ".join(f"{field}: {message}" for field, message in faults),
            errors=[{"field": field, "message": message} for field, message in faults],
        )


def _coordinate(pairs: Pairs, name: str, bound: float, faults: list[tuple[str, str]]) -> float | None:
    value = one(pairs, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        faults.append((name, f"must be a WGS84 number between -{bound:g} and {bound:g}"))
        return None
    return number


def _attribute_values(pairs: Pairs) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        match = _ATTRIBUTE.match(key)
        if match and value.strip():
            values.setdefault(match.group(1), []).append(value.strip())
    return values


def _checked(attribute: Attribute, given: list[str]) -> str | None:
    """The fault with the values given for one attribute, or None."""
    if attribute.datatype != "multivaluelist" and len(given) > 1:
        return "takes one value"
    keys = {choice.key for choice in attribute.values}
    value = given[0]
    if attribute.datatype in ("singlevaluelist", "multivaluelist") and not set(given) <= keys:
        return f"must be one of {', '.join(sorted(keys))}"
    if attribute.datatype == "number" and not re.fullmatch(r"-?\d{1,6}(\.\d{1,3})?", value):
        return "must be a number"
    if attribute.datatype == "datetime":
        return _w3_fault(value)
    if attribute.pattern and not re.fullmatch(attribute.pattern, value):
        return "is not in the expected form"
    return "at most 1000 characters" if len(value) > 1000 else None


def _attributes(service: Service, pairs: Pairs, faults: list[tuple[str, str]]) -> tuple[str | None, tuple[str, ...]]:
    """The account number (if given) and the other attributes as sentences of the complaint text."""
    values = _attribute_values(pairs)
    account, lines = None, []
    for attribute in service.attributes:
        field, given = f"attribute[{attribute.code}]", values.get(attribute.code)
        if not given:
            if attribute.required:
                faults.append((field, "is required for this service"))
            continue
        fault = _checked(attribute, given)
        if fault:
            faults.append((field, fault))
        elif attribute.code == "account_no":
            account = given[0]
        elif attribute.in_text:
            names = {choice.key: choice.name["zh"] for choice in attribute.values}
            lines.append(attribute.in_text["zh"].format(value="、".join(names.get(v, v) for v in given)))
    return account, tuple(lines)


def _contact(pairs: Pairs, faults: list[tuple[str, str]]) -> dict[str, str | None]:
    found = {name: one_line(pairs, name) for name in ("email", "phone", "first_name", "last_name", "media_url")}
    if found["email"] and (len(found["email"]) > 254 or not _EMAIL.match(found["email"])):
        faults.append(("email", "is not a mail address"))
    if found["phone"] and not _PHONE.match(found["phone"]):
        faults.append(("phone", "is not a phone number"))
    for name in ("first_name", "last_name"):
        if len(found[name] or "") > 32:
            faults.append((name, "at most 32 characters"))
    url = found["media_url"]
    if url and (len(url) > 500 or not re.match(r"^https?://[^\s]+$", url)):
        faults.append(("media_url", "must be an http(s) URL of at most 500 characters"))
    return found


def service_of(code: str | None) -> Service:
    if code is None:
        raise Invalid("service_code was not provided", field="service_code")
    service = BY_CODE.get(code)
    if service is None:
        raise NotFound(f"service_code {code!r} was not found (GET services.xml lists them)")
    return service


def file_request(pairs: Pairs, *, client: str, raw_body: bytes) -> FileRequest:
    """The POST's form as a checked request; every fault named at once (400), an unknown service 404."""
    service = service_of(one(pairs, "service_code"))
    faults: list[tuple[str, str]] = []
    latitude = _coordinate(pairs, "lat", 90, faults)
    longitude = _coordinate(pairs, "long", 180, faults)
    address_string, address_id = one_line(pairs, "address_string"), one_line(pairs, "address_id")
    if (latitude is None or longitude is None) and not (address_string or address_id) and not faults:
        faults.append(("location", "give lat and long, or address_string, or address_id"))
    if len(address_string or "") > 300 or len(address_id or "") > 64:
        faults.append(("address_string", "at most 300 characters (address_id 64)"))
    description = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", one(pairs, "description") or "")
    if len(description) > DESCRIPTION_MAX:
        faults.append(("description", f"at most {DESCRIPTION_MAX} characters"))
    account, lines = _attributes(service, pairs, faults)
    contact = _contact(pairs, faults)
    _refuse(faults)
    return FileRequest(
        client=client,
        service_code=service.code,
        description=description or service.name["zh"],
        raw_body=raw_body,
        latitude=latitude if longitude is not None else None,
        longitude=longitude if latitude is not None else None,
        address_string=address_string,
        address_id=address_id,
        account_no=account,
        attribute_lines=lines,
        **contact,
    )


def _w3_fault(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "must be a W3C datetime, e.g. 2010-01-01T00:00:00Z"
    if moment.tzinfo is None:
        return "must carry a time zone (Z or ±hh:mm)"
    try:  # year 1 or 9999 with an offset, or 90 days from them, is past what a datetime holds: a fault, not a 500
        in_range = _EARLIEST <= moment.astimezone(UTC) <= _LATEST
    except OverflowError:
        in_range = False
    return None if in_range else "must lie between the years 1900 and 2999"


def _date(pairs: Pairs, name: str, faults: list[tuple[str, str]]) -> datetime | None:
    value = one(pairs, name)
    if value is None:
        return None
    fault = _w3_fault(value)
    if fault:
        faults.append((name, fault))
        return None
    return datetime.fromisoformat(value)


def _listed(pairs: Pairs, name: str) -> tuple[str, ...]:
    """A list parameter: comma-delimited, and it may be declared several times (the spec allows both)."""
    parts = (part.strip() for key, value in pairs if key == name for part in value.split(","))
    return tuple(dict.fromkeys(part for part in parts if part))


def _range(pairs: Pairs, now: datetime, faults: list[tuple[str, str]]) -> tuple[datetime | None, datetime | None]:
    start, end = _date(pairs, "start_date", faults), _date(pairs, "end_date", faults)
    if faults:
        return None, None
    if start is None:
        return (now - SPAN, None) if end is None else (end - SPAN, end)
    if end is None:
        return start, start + SPAN
    if end < start:
        faults.append(("end_date", "is before start_date"))
    elif end - start > SPAN:
        faults.append(("end_date", "the range may not span more than 90 days"))
    return start, end


def request_query(pairs: Pairs, now: datetime) -> RequestQuery:
    """GET requests' filters: `service_request_id` overrides the rest; at most 90 days, 1,000 requests."""
    ids = _listed(pairs, "service_request_id")
    if ids:
        if len(ids) > MAX_REQUESTS or any(len(i) > 40 for i in ids):
            _refuse([("service_request_id", f"at most {MAX_REQUESTS} ids of at most 40 characters")])
        return RequestQuery(reference_nos=ids, limit=MAX_REQUESTS)
    faults: list[tuple[str, str]] = []
    statuses = _listed(pairs, "status")
    if any(s not in ("open", "closed") for s in statuses):
        faults.append(("status", "options: open, closed"))
    start, end = _range(pairs, now, faults)
    _refuse(faults)
    chosen: tuple[Open311Status, ...] = tuple(s for s in ("open", "closed") if s in statuses)
    return RequestQuery(
        service_codes=_listed(pairs, "service_code"), statuses=chosen, start=start, end=end, limit=MAX_REQUESTS
    )
