"""GeoReport v2's two formats, from one document: XML (required by the spec) and JSON (the Spark convention's
mapping of that XML: a repeated element becomes an array, an empty one `null`).

Why one renderer for both: the spec defines the XML and derives the JSON from it, so a field that is in one is in
the other by construction. A document is plain data: a root name and a dict or a list of dicts; each list is
written in XML as its parent's name with one child element per item, named by `ITEM_NAMES` (`services` →
`service`, `service_requests` → `request`, …). Values: text, numbers, booleans (`true`/`false`), None (an empty
element; `null` in JSON), nested dicts and lists. Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from xml.etree import ElementTree

Format = Literal["xml", "json"]
FORMATS: tuple[Format, ...] = ("xml", "json")
CONTENT_TYPES: dict[Format, str] = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
#: The spec's list elements and the name of each item in them.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class Document:
    """What an Open311 call answers: `root` names the XML root element; `body` is its content."""

    root: str
    body: Mapping[str, Any] | Sequence[Mapping[str, Any]]


def w3_datetime(moment: datetime | None) -> str | None:
    """The spec's date format (the W3C note's subset of ISO 8601), in UTC with `Z`, to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3_datetime(value) or ""
    return str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for name, child in value.items():
            _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, (list, tuple)):
        item_name = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ElementTree.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(document: Document) -> bytes:
    root = ElementTree.Element(document.root)
    _fill(root, document.body)
    return (XML_DECLARATION + ElementTree.tostring(root, encoding="unicode")).encode("utf-8")


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {name: _json_value(child) for name, child in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, datetime):
        return w3_datetime(value)
    return value


def to_json(document: Document) -> bytes:
    return json.dumps(_json_value(document.body), ensure_ascii=False).encode("utf-8")


def render(document: Document, fmt: Format) -> tuple[bytes, str]:
    """The body and its content type."""
    body = to_xml(document) if fmt == "xml" else to_json(document)
    return body, CONTENT_TYPES[fmt]
