"""History (历史工单): cases received, and perhaps answered, before they came into Shizhi, imported from another
system's export (``shizhi import cases``) or generated for the demo city. They are written in bulk and never
run the live workflow: no clocks start, nothing becomes overdue, no unit is asked to accept anything.

Numbers follow the received date (``2019022800001``), in order of the received time within each day, from the
same per-day counters as live intake, so imported and live cases never share a number."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from shizhi.core.audit import audit_record
from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.core.text import check_text
from shizhi.hotline.models import (
    Assignment,
    Case,
    CaseEvent,
    CaseNumber,
    CaseStatus,
    Category,
    Channel,
    DemandType,
    Supervision,
)
from shizhi.hotline.sla import month_of

# Real government replies run to 8,000 characters; the live form's 4,000 is a limit for typing, not for history.
REPLY_MAX = 10000
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class HistoryIn:
    """One historical case as read from a file: already parsed, not yet validated."""

    row: int  # where it came from (the spreadsheet's row number), for the error report
    title: str
    content: str
    category: Category
    received_at: dt.datetime
    channel: str = Channel.WEB
    demand_type: str = DemandType.COMPLAINT
    citizen_name: str = ""
    citizen_phone: str = ""
    address: str = ""
    external_id: str = ""
    reply: str = ""
    replied_at: dt.datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)  # kept on the import event (e.g. likes, dislikes)


@dataclass
class RowError:
    row: int  # 1 is the header; 0 the file as a whole
    column: str
    message: str


@dataclass
class HistoryResult:
    created: int = 0
    skipped_existing: int = 0
    without_id: int = 0  # created without an external number: importing them again would repeat them
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    first_number: str = ""
    last_number: str = ""


_DEMAND_LABELS = {str(label): value for value, label in DemandType.choices}


def _check_row(row: HistoryIn) -> HistoryIn:
    values: dict[str, Any] = {
        "title": check_text(row.title, field="title", label="标题", max_length=100),
        "content": check_text(row.content, field="content", label="诉求内容", max_length=4000, min_length=5),
        "citizen_name": check_text(
            row.citizen_name, field="citizen_name", label="诉求人", max_length=32, min_length=0
        ),
        "citizen_phone": check_text(
            row.citizen_phone, field="citizen_phone", label="联系电话", max_length=20, min_length=0
        ),
        "address": check_text(row.address, field="address", label="地址", max_length=200, min_length=0),
        "reply": check_text(row.reply, field="reply", label="答复内容", max_length=REPLY_MAX, min_length=0),
        "external_id": check_text(
            row.external_id, field="external_id", label="外部编号", max_length=64, min_length=0
        ),
        "demand_type": _DEMAND_LABELS.get(row.demand_type, row.demand_type),
    }
    if row.channel not in Channel.values:
        raise ValidationFailed("来源渠道不正确", details={"field": "channel"})
    if values["demand_type"] not in DemandType.values:
        raise ValidationFailed(f"诉求类型“{row.demand_type}”不正确", details={"field": "demand_type"})
    if not row.category.is_active:
        raise ValidationFailed("该诉求分类已停用", details={"field": "category"})
    if row.replied_at is not None and row.replied_at < row.received_at:
        raise ValidationFailed("答复时间早于留言时间", details={"field": "replied_at"})
    return dataclasses.replace(row, **values)


def history_check(rows: Sequence[HistoryIn]) -> tuple[list[HistoryIn], list[RowError]]:
    """Every row checked as intake checks a case (required text, lengths, no HTML), and external numbers
    unique within the batch. Returns the cleaned valid rows and one error per invalid row."""
    valid: list[HistoryIn] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for row in rows:
        try:
            clean = _check_row(row)
        except ValidationFailed as exc:
            errors.append(RowError(row.row, str(exc.details.get("field", "")), exc.message))
            continue
        if clean.external_id:
            if clean.external_id in first_row:
                errors.append(
                    RowError(row.row, "external_id", f"编号与第{first_row[clean.external_id]}行重复")
                )
                continue
            first_row[clean.external_id] = row.row
        valid.append(clean)
    return valid, errors


def allocate_numbers(moments: Sequence[dt.datetime]) -> list[str]:
    """Case numbers for cases received at these moments: per local day, in time order, continuing each day's
    counter (one locked row update per day, as :func:`intake.next_number` does for one case)."""
    tz = timezone.get_default_timezone()
    order = sorted(range(len(moments)), key=lambda i: (moments[i], i))
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for i in order:
        by_day[moments[i].astimezone(tz).date()].append(i)
    numbers = [""] * len(moments)
    for day in sorted(by_day):
        indexes = by_day[day]
        if not CaseNumber.objects.filter(day=day).update(last=F("last") + len(indexes)):
            try:
                with transaction.atomic():
                    CaseNumber.objects.create(day=day, last=len(indexes))
            except IntegrityError:
                CaseNumber.objects.filter(day=day).update(last=F("last") + len(indexes))
        last = CaseNumber.objects.get(day=day).last
        for seq, i in enumerate(indexes, start=last - len(indexes) + 1):
            numbers[i] = f"{day:%Y%m%d}{seq:05d}"
    return numbers


@dataclass(slots=True)
class EventRow:
    """A timeline entry (CaseEvent) to be written in bulk: the same columns without a model instance's weight
    (a demo year has 300,000 of them)."""

    action: str
    created_at: dt.datetime
    actor_id: int | None = None
    actor_label: str = ""
    unit_id: int | None = None
    status_from: str = ""
    status_to: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None


@dataclass
class BulkCase:
    """A case with its whole history, unsaved: the writer fills in the number and the foreign keys."""

    case: Case
    assignments: list[Assignment] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    master: int | None = None  # a merged duplicate: the index of its master case in the same batch


@transaction.atomic
def cases_bulk_write(
    items: Sequence[BulkCase],
    *,
    batch: int = 2000,
    progress: Progress | None = None,
    numbered: Callable[[Sequence[BulkCase]], None] | None = None,
) -> None:
    """Write cases with their assignments, timeline and supervisions with a handful of INSERTs per batch.
    The caller has validated everything and writes the one audit event. ``numbered`` is called once every
    case has its number, before anything is written (for texts that cite other cases' numbers)."""
    numbers = allocate_numbers([item.case.received_at for item in items])
    for item, number in zip(items, numbers, strict=True):
        item.case.number = number
    if numbered is not None:
        numbered(items)
    total = len(items)
    for start in range(0, total, batch):
        chunk = items[start : start + batch]
        insert_rows(Case, [item.case for item in chunk])
        ids = dict(Case.objects.filter(number__in=[i.case.number for i in chunk]).values_list("number", "id"))
        children: dict[type[models.Model], list[Any]] = {Assignment: [], CaseEvent: [], Supervision: []}
        for item in chunk:
            item.case.pk = ids[item.case.number]
            for kind, objs in (
                (Assignment, item.assignments),
                (CaseEvent, item.events),
                (Supervision, item.supervisions),
            ):
                for obj in objs:
                    obj.case_id = item.case.pk
                children[kind].extend(objs)
        for model, rows in children.items():
            insert_rows(model, rows)
        if progress:
            progress("写入", min(start + batch, total), total)
    merged = [item for item in items if item.master is not None]
    if merged:
        for item in merged:
            item.case.merged_into_id = items[item.master].case.pk  # type: ignore[index]
        Case.objects.bulk_update([item.case for item in merged], ["merged_into"], batch_size=500)
        through = Case.related.through
        links = []
        for item in merged:
            a, b = item.case.pk, item.case.merged_into_id
            links += [through(from_case_id=a, to_case_id=b), through(from_case_id=b, to_case_id=a)]
        through.objects.bulk_create(links, batch_size=500, ignore_conflicts=True)


# Columns whose Python values the database drivers take as they are; others (times, dates, JSON) are
# prepared by their field, as the ORM does.
_PLAIN = {
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "FloatField", "ForeignKey",
    "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
}  # fmt: skip


def insert_rows(model: type[models.Model], objs: Sequence[Any], *, batch: int = 1000) -> None:
    """INSERT new rows (without their ids) with one prepared statement per batch, from model instances or any
    objects with the same attributes (:class:`EventRow`). ``bulk_create`` compiles
    every value through several layers (about 10 µs each, a minute for a demo year); this prepares each value
    once, with the field's own ``get_db_prep_save`` where the driver needs it. No signals, no returned ids."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.attname) for f in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    adapt_datetime = connection.ops.adapt_datetimefield_value  # aware datetimes, as the models hold them

    def preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
        kind = field.get_internal_type()
        if kind in _PLAIN:
            return None
        if kind == "DateTimeField":
            return adapt_datetime
        return lambda value: field.get_db_prep_save(value, connection)

    prepare = [(f.attname, preparer(f)) for f in fields]
    rows = [
        tuple(getattr(obj, name) if p is None else p(getattr(obj, name)) for name, p in prepare)
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            cursor.executemany(sql, rows[start : start + batch])


def _require(actor: User | None) -> None:
    if actor is not None and not (
        has_perm(actor, "hotline.intake") and has_perm(actor, "hotline.manage_catalogue")
    ):
        raise PermissionDenied("没有导入历史工单的权限")


def existing_external_ids(ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    wanted = sorted({i for i in ids if i})
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        found.update(Case.objects.filter(external_id__in=part).values_list("external_id", flat=True))
    return found


def _historical_case(row: HistoryIn, *, actor: User | None, close: bool, now: dt.datetime) -> Case:
    status = CaseStatus.CLOSED if close else (CaseStatus.REPLIED if row.reply else CaseStatus.RECEIVED)
    return Case(
        channel=row.channel,
        demand_type=row.demand_type,
        category=row.category,
        category_path=row.category.path,
        title=row.title,
        content=row.content,
        citizen_name=row.citizen_name,
        citizen_phone=row.citizen_phone,
        address=row.address,
        sla_kind=row.category.sla_kind,
        status=status,
        created_by=actor if actor is not None and actor.pk else None,
        received_at=row.received_at,
        received_month=month_of(row.received_at),
        reply=row.reply,
        replied_at=row.replied_at if row.reply else None,
        closed_at=(row.replied_at or row.received_at) if close else None,
        callback_note="历史数据导入，未回访" if close else "",
        external_id=row.external_id,
        updated_at=now,
    )


@transaction.atomic
def history_import(
    *,
    actor: User | None,
    rows: Sequence[HistoryIn],
    source: str,
    close: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> HistoryResult:
    """Import historical cases. All rows are checked first: with any invalid row nothing is written, unless
    ``skip_invalid`` (then the valid rows are). Rows whose external number (留言编号) is already stored are
    skipped, so importing a file twice adds nothing. A case with a reply is ``replied`` (waiting for no
    callback clock), without one ``received``; ``close`` closes them all unrated. One timeline event per
    case and one audit event for the batch."""
    _require(actor)
    valid, errors = history_check(rows)
    result = HistoryResult(errors=errors, invalid=len(errors))
    existing = existing_external_ids([r.external_id for r in valid])
    todo = [r for r in valid if not (r.external_id and r.external_id in existing)]
    result.skipped_existing = len(valid) - len(todo)
    if (errors and not skip_invalid) or not todo:
        return result
    now = timezone.now()
    label = (actor.display_name or actor.username) if actor is not None and actor.pk else "系统"
    items = []
    for row in todo:
        case = _historical_case(row, actor=actor, close=close, now=now)
        event = EventRow(
            action="import",
            actor_id=actor.pk if actor is not None and actor.pk else None,
            actor_label=label,
            status_to=case.status,
            note=f"从“{source}”第{row.row}行导入的历史工单",
            data={"source": source, "row": row.row, "external_id": row.external_id, **row.data},
            created_at=now,
        )
        items.append(BulkCase(case=case, events=[event]))
    cases_bulk_write(items, progress=progress)
    numbers = sorted(item.case.number for item in items)
    result.created, result.first_number, result.last_number = len(items), numbers[0], numbers[-1]
    result.without_id = sum(1 for r in todo if not r.external_id)
    audit_record(
        actor=actor,
        action="case.import",
        object_type="hotline.case",
        changes={
            "source": source,
            "created": result.created,
            "skipped_existing": result.skipped_existing,
            "skipped_invalid": result.invalid,
            "numbers": [result.first_number, result.last_number],
        },
    )
    return result
