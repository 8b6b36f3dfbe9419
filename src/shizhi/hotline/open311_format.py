"""The wire formats of Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): JSON and XML documents,
the error list, and W3C date-times.

Every document is built from plain data (dicts, lists, strings, numbers, booleans, None) once and written in
either format, so the JSON and the XML of a response always carry the same fields. XML is written with
ElementTree, which escapes text; element names are only ever our own constants, never client input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shizhi.core.errors import ApplicationError, ErrorCode

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

# In XML a list is an element per item; these are the item element names of the nested lists.
LIST_ITEMS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """A refusal in the spec's shape: ``[{"code": <HTTP status>, "description": "..."}]``."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# Shizhi's error codes as Open311 statuses: the spec knows 400 (bad request, including a duplicate submission
# or an action the request's state does not allow), 403 (api_key) and 404 (unknown resource).
_STATUS_BY_CODE = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION_FAILED: 400,
    ErrorCode.CONFLICT: 400,
    ErrorCode.INVALID_STATE: 400,
    ErrorCode.NOT_AUTHENTICATED: 403,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.SERVER_ERROR: 500,
}

# Shizhi's field names as the Open311 parameters the client sent.
_PARAMETER_BY_FIELD = {
    "category": "service_code",
    "title": "description",
    "content": "description",
    "citizen_name": "first_name/last_name",
    "citizen_phone": "phone",
    "address": "address_string",
    "lng": "long",
    "lat": "lat",
    "media_url": "media_url",
}


def from_application_error(exc: ApplicationError) -> Open311Error:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    parameter = _PARAMETER_BY_FIELD.get(str(field)) if field else None
    description = f"{parameter}: {exc.message}" if parameter else exc.message
    if exc.code == ErrorCode.CONFLICT and isinstance(exc.details, dict) and exc.details.get("number"):
        description += f"（工单编号{exc.details['number']}）"  # a duplicate: the client can follow that one
    return Open311Error(_STATUS_BY_CODE.get(exc.code, 400), description)


def w3c(moment: dt.datetime | None) -> str | None:
    """2026-11-27T09:30:00+08:00: local time (Asia/Shanghai) with its offset, as the spec's W3C note asks."""
    if moment is None:
        return None
    return moment.astimezone(timezone.get_default_timezone()).isoformat(timespec="seconds")


def parse_w3c(value: str, parameter: str) -> dt.datetime:
    """A W3C date-time (1997-07-16T19:20:30+01:00, ...Z, fractions allowed) or a date (local midnight).

    An unencoded "+" in a query string arrives as a space: "…T10:00:00 08:00" is read as "+08:00"."""
    text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", value.strip())
    try:
        moment = parse_datetime(text)  # also takes a bare date: midnight
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(400, f"{parameter} is not a W3C date-time (e.g. 2026-11-27T09:30:00+08:00)")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _fill(element: ET.Element, value: Any, item: str | None = None) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child, LIST_ITEMS.get(key))
    elif isinstance(value, list | tuple):
        for child in value:
            _fill(ET.SubElement(element, item or "item"), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))


def xml_document(root: str, data: Any, item: str | None = None) -> bytes:
    element = ET.Element(root)
    _fill(element, data, item)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def render(fmt: str, data: Any, *, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    """``data`` as JSON, or as XML under ``<root>`` (lists: one ``<item>`` per element)."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    else:
        body = xml_document(root, data, item)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_error(fmt: str, error: Open311Error) -> HttpResponse:
    """``[{"code": 400, "description": "..."}]`` or ``<errors><error><code>400</code>…</error></errors>``."""
    fmt = fmt if fmt in FORMATS else "xml"  # XML is the format every GeoReport v2 server must speak
    payload = [{"code": error.status, "description": error.description}]
    return render(fmt, payload, root="errors", item="error", status=error.status)
