"""Intake (受理): every channel ends here. Numbers, location, time limit class, duplicate-submission guard."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from shizhi.core import hotpath
from shizhi.core import selectors as core_selectors
from shizhi.core.errors import Conflict, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, User
from shizhi.core.permissions import has_perm
from shizhi.core.text import check_text
from shizhi.hotline.models import (
    Case,
    CaseEvent,
    CaseNumber,
    CaseStatus,
    Category,
    Channel,
    DemandType,
    SlaKind,
    Urgency,
)
from shizhi.hotline.services.common import record
from shizhi.hotline.sla import month_of

PUBLIC_CHANNELS = frozenset({Channel.WEB, Channel.APP, Channel.WECHAT, Channel.OPEN311})
# Cases the platform raises by itself (a sensor alert, shizhi.warning): server code passes actor=None.
SYSTEM_CHANNELS = frozenset({Channel.SENSOR})
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
DUPLICATE_WINDOW = dt.timedelta(minutes=10)


@dataclass
class CaseIn:
    channel: str
    demand_type: str
    category: Category
    title: str
    content: str
    citizen_name: str = ""
    citizen_phone: str = ""
    address: str = ""
    lng: float | None = None
    lat: float | None = None
    urgency: str = Urgency.NORMAL
    anonymous: bool = False
    idempotency_key: str | None = None
    external_id: str = ""
    received_at: dt.datetime | None = None  # for imports of history; default now


def next_number(moment: dt.datetime) -> str:
    """2026112700001: the local date and a per-day sequence, unique under concurrency (one ``UPDATE ...
    RETURNING`` of the day's counter row in the caller's transaction: PostgreSQL locks the row, SQLite the
    database; the day's first case inserts the row)."""
    day = moment.astimezone(timezone.get_default_timezone()).date()
    table = connection.ops.quote_name(CaseNumber._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE {table} SET "last" = "last" + 1 WHERE "day" = %s RETURNING "last"', [day])
        row = cursor.fetchone()
    if row is not None:
        last = row[0]
    else:
        try:
            with transaction.atomic():
                CaseNumber.objects.create(day=day, last=1)
            last = 1
        except IntegrityError:  # another request created the day's row first
            CaseNumber.objects.filter(day=day).update(last=F("last") + 1)
            last = CaseNumber.objects.get(day=day).last
    return f"{day:%Y%m%d}{last:05d}"


def _check_permission(actor: User | None, data: CaseIn) -> None:
    if actor is None and data.channel in SYSTEM_CHANNELS:
        return
    if actor is None or not actor.is_authenticated:
        if data.channel not in PUBLIC_CHANNELS:
            raise PermissionDenied("只有工作人员可以登记此渠道的诉求")
        return
    if has_perm(actor, "hotline.intake"):
        return
    if has_perm(actor, "hotline.submit_own") and data.channel in PUBLIC_CHANNELS:
        return
    raise PermissionDenied("没有登记诉求的权限")


def _check(data: CaseIn) -> dict[str, object]:
    if data.channel not in Channel.values:
        raise ValidationFailed("来源渠道不正确", details={"field": "channel", "allowed": Channel.values})
    if data.demand_type not in DemandType.values:
        raise ValidationFailed(
            "诉求类型不正确", details={"field": "demand_type", "allowed": DemandType.values}
        )
    if data.urgency not in Urgency.values:
        raise ValidationFailed("紧急程度不正确", details={"field": "urgency", "allowed": Urgency.values})
    if not data.category.is_active:
        raise ValidationFailed("该诉求分类已停用", details={"field": "category"})
    values: dict[str, object] = {
        "title": check_text(data.title, field="title", label="标题", max_length=100),
        "content": check_text(data.content, field="content", label="诉求内容", max_length=4000, min_length=5),
        "citizen_name": check_text(
            data.citizen_name, field="citizen_name", label="诉求人姓名", max_length=32, min_length=0
        ),
        "address": check_text(data.address, field="address", label="地址", max_length=200, min_length=0),
    }
    phone = re.sub(r"[\s]", "", data.citizen_phone or "")
    if phone and not _PHONE.match(phone):
        raise ValidationFailed("联系电话格式不正确", details={"field": "citizen_phone"})
    if (
        not phone
        and not data.anonymous
        and data.channel in (Channel.PHONE, Channel.WEB, Channel.APP, Channel.WECHAT)
    ):
        raise ValidationFailed("请留下联系电话以便回访，或选择匿名", details={"field": "citizen_phone"})
    values["citizen_phone"] = phone
    if (data.lng is None) != (data.lat is None):
        raise ValidationFailed("经度和纬度须同时提供", details={"field": "lng"})
    return values


def case_create(*, actor: User | None, data: CaseIn) -> Case:
    """Record a request. Refuses bad input and repeated submissions without writing anything."""
    return case_receive(actor=actor, data=data)[0]


@transaction.atomic
def case_receive(*, actor: User | None, data: CaseIn) -> tuple[Case, CaseEvent]:
    """:func:`case_create`, also returning the case's first timeline entry (the API answers with both)."""
    _check_permission(actor, data)
    values = _check(data)
    if data.idempotency_key:
        existing = Case.objects.filter(idempotency_key=data.idempotency_key).values_list("number", flat=True)
        if number := next(iter(existing.order_by()[:1]), None):
            raise Conflict("重复提交：该诉求已受理", details={"number": number})
    now = data.received_at or timezone.now()
    if values["citizen_phone"] and data.received_at is None:
        # Every intake asks: hand-written (core.hotpath), served by case_phone_recv_idx.
        repeat = hotpath.fetch_one(
            f"SELECT {hotpath.column(Case, 'number')} FROM {hotpath.table(Case)}"
            f" WHERE {hotpath.column(Case, 'citizen_phone')} = %s AND {hotpath.column(Case, 'received_at')} >= %s"
            f" AND {hotpath.column(Case, 'content')} = %s LIMIT 1",
            [values["citizen_phone"], hotpath.moment(now - DUPLICATE_WINDOW), values["content"]],
        )
        if repeat is not None:
            raise Conflict("重复提交：相同内容的诉求刚刚已受理", details={"number": repeat[0]})
    grid = community = street = district = None
    area_path = ""
    if data.lng is not None and data.lat is not None:
        loc = core_selectors.locate_point(data.lng, data.lat)  # refuses out-of-range coordinates
        if loc.city is None and Area.objects.exists():
            raise ValidationFailed(
                "坐标不在本市范围内", details={"field": "lng", "lng": data.lng, "lat": data.lat}
            )
        grid, community, street, district = loc.grid, loc.community, loc.street, loc.district
        deepest = community or street or district or loc.city
        area_path = deepest.path if deepest else ""
    urgent = data.urgency == Urgency.URGENT
    citizen = (
        actor
        if actor is not None and actor.is_authenticated and has_perm(actor, "hotline.submit_own")
        else None
    )
    case = Case(
        number=next_number(now),
        channel=data.channel,
        demand_type=data.demand_type,
        category=data.category,
        category_path=data.category.path,
        citizen=citizen,
        anonymous=data.anonymous,
        lng=data.lng,
        lat=data.lat,
        grid=grid,
        community=community,
        street=street,
        district=district,
        area_path=area_path,
        urgency=data.urgency,
        sla_kind=SlaKind.EMERGENCY if urgent else data.category.sla_kind,
        status=CaseStatus.RECEIVED,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        received_at=now,
        received_month=month_of(now),
        idempotency_key=data.idempotency_key or None,
        external_id=data.external_id,
        updated_at=now,
        **values,  # type: ignore[arg-type]
    )
    try:
        with transaction.atomic():
            hotpath.insert(case)  # case.save() without compiling the INSERT each time
    except IntegrityError as exc:
        raise Conflict("重复提交：该诉求已受理") from exc
    event = record(case, actor=actor, action="create", note=f"{Channel(case.channel).label}受理")
    return case, event
