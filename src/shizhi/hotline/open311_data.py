"""Shizhi's hotline as Open311 GeoReport v2 data: categories as services, cases as service requests, and an
Open311 submission as a :class:`CaseIn`.

Status mapping (as FixMyStreet maps its many states onto the spec's two):
  open   = received, dispatched, returned, accepted, in_progress (nobody has answered the citizen yet)
  closed = replied, closed, merged (the citizen has an answer, or the request follows the case it duplicates)

Privacy: the citizen's name and phone are never part of a service request; where they (or any mainland mobile
or resident ID number) appear inside free text they are masked. Reports (举报) are not published at all: they protect
whistle-blowers, whose complaint text may identify them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.utils import timezone

from shizhi.core import masking
from shizhi.hotline.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Category,
    Channel,
    DemandType,
    SlaKind,
)
from shizhi.hotline.open311_format import Open311Error, parse_w3c, w3c
from shizhi.hotline.services.intake import CaseIn
from shizhi.hotline.services.open311keys import Open311Extras

MAX_RESULTS = 1000  # the spec's default limit: 90 days or 1000 requests, whichever is smaller
WINDOW = dt.timedelta(days=90)
OPEN311_STATUSES = ("open", "closed")
_ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_TITLE_LENGTH = 30


# ---------------------------------------------------------------------------------------------------- services


def active_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).order_by("path")


def _group_name(category: Category, names_by_code: Mapping[str, str]) -> str:
    """The name of the top-level category: the first code of the materialised path "/CX/CX01/CX0101/"."""
    top = category.path.strip("/").split("/")[0]
    return names_by_code.get(top, category.name)


def service_list() -> list[dict[str, Any]]:
    """Every active category, leaf or not: the client picks the one that fits."""
    categories = list(active_categories())
    top_names = dict(Category.objects.filter(level=1).values_list("code", "name"))
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description or c.full_name,
            "metadata": False,  # no extra attributes: a service definition has none
            "type": "realtime",  # the service_request_id is returned by the POST itself
            "keywords": c.keywords,
            "group": _group_name(c, top_names),
        }
        for c in categories
    ]


def service_definition(code: str) -> dict[str, Any]:
    category = active_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"service_code {code} was not found")
    return {"service_code": category.code, "attributes": []}


# ---------------------------------------------------------------------------------------------------- requests


def public_cases() -> QuerySet[Case]:
    """The cases an anonymous Open311 reader may see: all but reports (举报)."""
    return Case.objects.exclude(demand_type=DemandType.REPORT).select_related(
        "category", "lead_unit", "merged_into", "open311"
    )


def scrub(text: str | None, case: Case) -> str | None:
    """Free text with the citizen's phone and name (and any mobile or resident ID number) masked."""
    if not text:
        return None
    if case.citizen_phone:
        text = text.replace(case.citizen_phone, masking.mask_mobile(case.citizen_phone))
    if len(case.citizen_name) >= 2:
        text = text.replace(case.citizen_name, masking.mask_name(case.citizen_name))
    text = _ID_NUMBER_IN_TEXT.sub(lambda m: masking.mask_id_number(m.group(0)), text)
    return _MOBILE_IN_TEXT.sub(lambda m: masking.mask_mobile(m.group(0)), text)


def open311_status(case: Case) -> str:
    return "open" if case.status in OPEN_STATUSES else "closed"


def status_notes(case: Case) -> str | None:
    if case.status == CaseStatus.MERGED and case.merged_into is not None:
        return f"与工单{case.merged_into.number}为同一诉求，已合并办理"
    if case.status in (CaseStatus.REPLIED, CaseStatus.CLOSED) and case.reply:
        return scrub(case.reply, case)
    return str(CaseStatus(case.status).label)


def service_notice(case: Case) -> str:
    return f"按“{SlaKind(case.sla_kind).label}”时限办理，可凭工单编号{case.number}查询办理进度"


def request_dict(case: Case) -> dict[str, Any]:
    submission = getattr(case, "open311", None)  # only cases submitted through Open311 have one
    return {
        "service_request_id": case.number,
        "status": open311_status(case),
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": scrub(case.content, case),
        "agency_responsible": case.lead_unit.name if case.lead_unit else None,
        "service_notice": service_notice(case),
        "requested_datetime": w3c(case.received_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.due_at),
        "address": scrub(case.address, case),
        "address_id": None,  # Shizhi has no master address repository
        "zipcode": None,
        "lat": case.lat,
        "long": case.lng,
        "media_url": (submission.media_url or None) if submission else None,
    }


def _comma_list(params: Mapping[str, str], name: str) -> list[str]:
    return [v.strip() for v in (params.get(name) or "").split(",") if v.strip()]


@dataclass
class RequestQuery:
    ids: list[str]
    service_codes: list[str]
    statuses: list[str]
    start: dt.datetime
    end: dt.datetime


def parse_request_query(params: Mapping[str, str], *, now: dt.datetime | None = None) -> RequestQuery:
    """The GET requests filters. Without dates: the last 90 days; a range may not span more than 90 days."""
    statuses = [s.lower() for s in _comma_list(params, "status")]
    unknown = sorted(set(statuses) - set(OPEN311_STATUSES))
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {','.join(unknown)}")
    start_raw, end_raw = (params.get("start_date") or "").strip(), (params.get("end_date") or "").strip()
    start = parse_w3c(start_raw, "start_date") if start_raw else None
    end = parse_w3c(end_raw, "end_date") if end_raw else None
    if start is None and end is None:
        end = now or timezone.now()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return RequestQuery(
        ids=_comma_list(params, "service_request_id")[:MAX_RESULTS],
        service_codes=_comma_list(params, "service_code"),
        statuses=statuses,
        start=start,
        end=end,
    )


def find_requests(query: RequestQuery) -> list[Case]:
    qs = public_cases()
    if query.ids:  # the spec: service_request_id overrides all other arguments
        qs = qs.filter(number__in=query.ids)
    else:
        qs = qs.filter(received_at__gte=query.start, received_at__lte=query.end)
        if query.service_codes:
            qs = qs.filter(category__code__in=query.service_codes)
        if set(query.statuses) == {"open"}:
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif set(query.statuses) == {"closed"}:
            qs = qs.exclude(status__in=OPEN_STATUSES)
    return list(qs.order_by("-received_at", "-id")[:MAX_RESULTS])


def find_request(number: str) -> Case:
    case = public_cases().filter(number=number).first()
    if case is None:
        raise Open311Error(404, f"service_request_id {number} was not found")
    return case


# ---------------------------------------------------------------------------------------------------- submission


def _coordinate(params: Mapping[str, str], name: str) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number: {raw[:32]}") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} is not a finite number")
    return value


def _citizen_name(first: str, last: str) -> str:
    """Chinese names are written family name first (last_name + first_name), others "first last"."""
    first, last = first.strip(), last.strip()
    if re.fullmatch(r"[\u3400-\u9fff·]*", first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _media_url(params: Mapping[str, str]) -> str:
    url = (params.get("media_url") or "").strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        raise Open311Error(400, "media_url is not an http(s) URL") from None
    if len(url) > 500:
        raise Open311Error(400, "media_url is longer than 500 characters")
    return url


def submission_from_params(params: Mapping[str, str]) -> tuple[CaseIn, Open311Extras]:
    """An Open311 POST as a case to record. Refuses what the spec requires and is missing (400)."""
    code = (params.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    category = active_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(400, f"service_code {code[:32]} was not found")
    lat, lng = _coordinate(params, "lat"), _coordinate(params, "long")
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long must be provided together")
    address = (params.get("address_string") or "").strip()
    if lat is None and not address:
        if (params.get("address_id") or "").strip():
            raise Open311Error(
                400, "address_id is not supported (no address repository): send lat/long or address_string"
            )
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    media_url = _media_url(params)
    description = (params.get("description") or "").strip()
    content = description or f"{category.full_name}（通过Open311提交，未填写描述）"
    if media_url:
        content = f"{content}\n\n图片：{media_url}"
    phone = (params.get("phone") or "").strip()
    device_id = (params.get("device_id") or "").strip()
    account_id = (params.get("account_id") or "").strip()
    data = CaseIn(
        channel=Channel.OPEN311,
        demand_type=DemandType.INQUIRY if "咨询" in category.full_name else DemandType.COMPLAINT,
        category=category,
        title=" ".join(description.split())[:_TITLE_LENGTH] or category.name,
        content=content,
        citizen_name=_citizen_name(params.get("first_name") or "", params.get("last_name") or ""),
        citizen_phone=phone,
        address=address,
        lng=lng,
        lat=lat,
        anonymous=not phone,
        external_id=(account_id or device_id)[:64],
    )
    return data, Open311Extras(media_url=media_url, device_id=device_id, account_id=account_id)
