"""Writes of applications (一件事申请): filing once with one form and one set of materials, the fan-out into one
sub-task per matter (ready when the matters it depends on are done, the rest in parallel), the departments'
accept / complete / reject, promise-based handling (容缺受理) and the rating (好差评).

The application's status is derived from its sub-tasks and promises (``derive_status``), so the applicant sees
one status whatever the departments are doing."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from shizhi.core import workcalendar
from shizhi.core.audit import audit_record
from shizhi.core.errors import Conflict, InvalidState, NotFound, ValidationFailed
from shizhi.core.models import Area, AreaLevel, User
from shizhi.core.text import check_text
from shizhi.onething.content import CREDIT_RE, material_set, merged_form, spec_of, validate_form
from shizhi.onething.metrics import critical_path
from shizhi.onething.models import (
    OPEN_SUBTASK_STATUSES,
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    Channel,
    ItemVersion,
    MaterialSource,
    Matter,
    Promise,
    Rating,
    Subject,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)
from shizhi.onething.services.common import (
    check_phone,
    check_upload,
    require_perm,
    require_unit,
)

A = ApplicationStatus
S = SubTaskStatus

# Working days an applicant has to hand in a material promised at filing (容缺补交期限), unless a department
# grants another deadline.
DEFAULT_PROMISE_DAYS = 5
MAX_PROMISE_DAYS = 30
MAX_FILES = 30

# 好差评: five levels, and the reasons the national 政务服务好差评 system offers for each side.
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
GOOD_REASONS = ("一次办成", "材料精简", "办理快捷", "全程网办方便", "服务态度好", "告知清楚")
BAD_REASONS = ("办理时间长", "材料要求多", "多次跑动", "流程不清楚", "服务态度差", "系统不好用", "结果不满意")
RATING_REASONS = GOOD_REASONS + BAD_REASONS


@dataclass
class ApplicationIn:
    """What an applicant files. ``uploads``: material key -> file; ``promised``: material keys to hand in later
    (容缺, only materials the item allows)."""

    item_code: str
    form: Mapping[str, Any]
    applicant_name: str = ""
    applicant_phone: str = ""
    org_name: str = ""
    org_code: str = ""
    channel: str = Channel.ONLINE
    district_id: int | None = None
    promised: Sequence[str] = ()
    uploads: Mapping[str, UploadedFile] = field(default_factory=dict)


def _event(
    application: Application,
    *,
    actor: User | None,
    action: str,
    subtask: SubTask | None = None,
    note: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    ApplicationEvent.objects.create(
        application=application,
        subtask=subtask,
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        unit=subtask.unit if subtask is not None else None,
        note=note,
        data=dict(data or {}),
    )
    audit_record(
        actor=actor,
        action=f"onething.{'subtask' if subtask is not None else 'application'}.{action}",
        obj=subtask if subtask is not None else application,
        changes=dict(data or {}),
        area_path=application.area_path,
        unit=subtask.unit if subtask is not None else None,
    )


def _save_numbered(application: Application, now: dt.datetime, attempts: int = 5) -> None:
    """Save with the day's next number. Two submissions at the same moment (PostgreSQL lets both read the same
    highest number) clash on the unique number: the loser takes the next one."""
    for attempt in range(attempts):
        application.number = next_number(now)
        try:
            with transaction.atomic():
                application.save(force_insert=True)
            return
        except IntegrityError:
            application.pk = None
            if attempt == attempts - 1:
                raise


def next_number(now: dt.datetime) -> str:
    day = now.astimezone(workcalendar.local_tz()).strftime("%Y%m%d")
    prefix = f"YJS{day}"
    last = Application.objects.filter(number__startswith=prefix).aggregate(n=Max("number"))["n"]
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:05d}"


def published_version(item_code: str) -> ItemVersion:
    version = (
        ItemVersion.objects.select_related("item")
        .filter(item__code=(item_code or "").strip(), status=VersionStatus.PUBLISHED)
        .first()
    )
    if version is None:
        raise NotFound("一件事")
    return version


def _check_district(district_id: int | None) -> Area | None:
    if district_id is None:
        return None
    area = Area.objects.filter(pk=district_id, level=AreaLevel.DISTRICT).first()
    if area is None:
        raise ValidationFailed("办理区县不存在", details={"field": "district_id"})
    return area


@transaction.atomic
def application_submit(*, actor: User | None, data: ApplicationIn) -> Application:
    """File an application (一表申请、一套材料). Everything is checked before anything is stored: the item,
    the applicant, the form, every material (uploaded, shared or promised) and every file."""
    require_perm(actor, "onething.apply", "请先登录后再申请")
    version = published_version(data.item_code)
    item = version.item
    matters = list(version.matters.select_related("unit").order_by("sort", "id"))
    specs = [spec_of(m) for m in matters]
    without_unit = [m.name for m in matters if m.unit_id is None]
    if without_unit:
        raise InvalidState(
            f"事项“{'、'.join(without_unit)}”尚未配置承办单位，暂不能在线申请",
            details={"matters": without_unit},
        )
    if data.channel not in Channel.values:
        raise ValidationFailed("申请渠道不正确", details={"field": "channel", "allowed": Channel.values})
    name = check_text(
        data.applicant_name or (actor.display_name if actor is not None else ""),
        field="applicant_name",
        label="申请人姓名",
        max_length=64,
        multiline=False,
    )
    phone = check_phone(data.applicant_phone or (actor.mobile if actor is not None else ""))
    org_name, org_code = "", ""
    if item.subject == Subject.ENTERPRISE:
        org_name = check_text(
            data.org_name, field="org_name", label="经营主体名称", max_length=100, multiline=False
        )
        org_code = (data.org_code or "").strip().upper()
        if not CREDIT_RE.match(org_code):
            raise ValidationFailed("统一社会信用代码不正确（18位）", details={"field": "org_code"})
    district = _check_district(data.district_id)
    form = validate_form(merged_form(specs), data.form)
    entries = {e.spec.key: e for e in material_set(specs)}
    if len(data.uploads) > MAX_FILES:
        raise ValidationFailed(f"一次最多上传{MAX_FILES}个文件", details={"field": "materials"})
    unknown = sorted(set(data.uploads) - set(entries))
    if unknown:
        raise ValidationFailed(
            f"该事项不需要材料“{unknown[0]}”",
            details={"field": f"materials.{unknown[0]}", "unknown": unknown},
        )
    promised = list(dict.fromkeys(k.strip() for k in data.promised))
    for key in promised:
        entry = entries.get(key)
        if entry is None:
            raise ValidationFailed(f"该事项不需要材料“{key}”", details={"field": f"promised.{key}"})
        if key in data.uploads:
            raise ValidationFailed(
                f"“{entry.spec.name}”已上传，无需承诺补交", details={"field": f"promised.{key}"}
            )
        if not entry.spec.promisable:
            raise ValidationFailed(
                f"“{entry.spec.name}”不能容缺，请上传", details={"field": f"materials.{key}", "material": key}
            )
    missing = [
        e.spec
        for e in entries.values()
        if e.spec.required and e.to_submit and e.spec.key not in data.uploads and e.spec.key not in promised
    ]
    if missing:
        raise ValidationFailed(
            f"请上传{'、'.join(m.name for m in missing[:5])}",
            details={"field": f"materials.{missing[0].key}", "missing": [m.key for m in missing]},
        )
    checked = {key: check_upload(upload, field=f"materials.{key}") for key, upload in data.uploads.items()}

    now = timezone.now()
    days, _ = critical_path(specs)
    application = Application(
        item=item,
        version=version,
        applicant=actor if actor is not None and actor.pk else None,
        applicant_name=name,
        applicant_phone=phone,
        org_name=org_name,
        org_code=org_code,
        subject=item.subject,
        channel=data.channel,
        district=district,
        area_path=district.path if district is not None else "",
        form_data=form,
        status=A.SUBMITTED,
        fully_online=data.channel == Channel.ONLINE and all(s.online for s in specs),
        submitted_at=now,
        due_at=workcalendar.add_working_days(now, days),
    )
    _save_numbered(application, now)
    for key, entry in entries.items():
        upload = data.uploads.get(key)
        if upload is not None:
            content_type, size = checked[key]
            _store_material(
                application,
                key=key,
                name=entry.spec.name,
                upload=upload,
                content_type=content_type,
                size=size,
                actor=actor,
            )
        elif not entry.to_submit:
            ApplicationMaterial.objects.create(
                application=application, material_key=key, name=entry.spec.name, source=MaterialSource.SHARED
            )
    subtasks = _fan_out(application, matters, now)
    promise_due = workcalendar.add_working_days(now, DEFAULT_PROMISE_DAYS)
    for key in promised:
        for st in subtasks:
            if any(m.key == key and m.required for m in spec_of(st.matter).materials):
                Promise.objects.create(
                    subtask=st,
                    material_key=key,
                    material_name=entries[key].spec.name,
                    due_at=promise_due,
                    granted_at=now,
                    note="申请时承诺补交",
                )
    _event(
        application,
        actor=actor,
        action="submit",
        data={
            "item": item.code,
            "version": version.number,
            "matters": [m.code for m in matters],
            "uploaded": sorted(data.uploads),
            "promised": promised,
        },
    )
    _refresh_status(application, actor=actor, now=now)
    return application


def _store_material(
    application: Application,
    *,
    key: str,
    name: str,
    upload: UploadedFile,
    content_type: str,
    size: int,
    actor: User | None,
) -> ApplicationMaterial:
    material = ApplicationMaterial.objects.filter(application=application, material_key=key).first()
    if material is None:
        material = ApplicationMaterial(application=application, material_key=key, name=name)
    material.source = MaterialSource.UPLOAD
    material.original_name = (upload.name or name)[-200:]
    material.content_type = content_type
    material.size = size
    material.uploaded_by = actor if actor is not None and actor.pk else None
    material.created_at = timezone.now()
    material.file.save(f"{application.number}-{key}{_ext(upload.name)}", upload, save=False)
    material.save()
    return material


def _ext(name: str | None) -> str:
    return os.path.splitext(name or "")[1].lower()


def _fan_out(application: Application, matters: Sequence[Matter], now: dt.datetime) -> list[SubTask]:
    """One sub-task per matter; those that depend on nothing are ready at once (in parallel)."""
    subtasks = []
    for i, m in enumerate(matters):
        ready = not m.depends_on
        subtasks.append(
            SubTask(
                application=application,
                matter=m,
                unit=m.unit,
                department_name=m.department_name,
                status=S.READY if ready else S.WAITING,
                ready_at=now if ready else None,
                due_at=workcalendar.add_working_days(now, m.promised_days) if ready else None,
                sort=i,
            )
        )
    SubTask.objects.bulk_create(subtasks)
    return list(application.subtasks.select_related("matter", "unit").order_by("sort", "id"))


# ------------------------------------------------------------------------------------------- derived status


def derive_status(subtask_statuses: Iterable[str], *, pending_promises: int, withdrawn: bool = False) -> str:
    """The one status the applicant sees: withdrawn; rejected when a department refused; completed when every
    part is done; awaiting material while a promised material is outstanding; in progress once any department
    has accepted; otherwise submitted."""
    statuses = list(subtask_statuses)
    if withdrawn:
        return A.WITHDRAWN
    if S.REJECTED in statuses:
        return A.REJECTED
    if statuses and all(s == S.DONE for s in statuses):
        return A.COMPLETED
    if pending_promises:
        return A.AWAITING_MATERIAL
    if any(s in (S.IN_PROGRESS, S.DONE) for s in statuses):
        return A.IN_PROGRESS
    return A.SUBMITTED


def _refresh_status(application: Application, *, actor: User | None, now: dt.datetime) -> None:
    statuses = list(application.subtasks.values_list("status", flat=True))
    pending = Promise.objects.filter(
        subtask__application=application, supplied_at__isnull=True, subtask__status__in=OPEN_SUBTASK_STATUSES
    ).count()
    new = derive_status(statuses, pending_promises=pending, withdrawn=application.status == A.WITHDRAWN)
    old = application.status
    if new == old and not (new in (A.COMPLETED, A.REJECTED) and application.finished_at is None):
        return
    update = ["status"]
    application.status = new
    if new in (A.COMPLETED, A.REJECTED) and application.finished_at is None:
        application.finished_at = now
        application.on_time = now <= application.due_at
        update += ["finished_at", "on_time"]
        if new == A.COMPLETED:
            application.result = "；".join(
                f"{st.department_name}：{st.result}"
                for st in application.subtasks.order_by("sort", "id")
                if st.result
            )
            update.append("result")
    application.save(update_fields=update)
    if old != new:
        _event(application, actor=actor, action="status", data={"status": [old, new]})


# ---------------------------------------------------------------------------------------- department actions


def _lock_subtask(subtask: SubTask) -> SubTask:
    locked = (
        SubTask.objects.select_for_update(of=("self",))
        .select_related("application", "matter", "unit")
        .get(pk=subtask.pk)
    )
    subtask.status = locked.status
    return locked


def _require_subtask(subtask: SubTask, allowed: set[str], action: str) -> None:
    if subtask.status not in allowed:
        raise InvalidState(
            f"子任务当前为“{SubTaskStatus(subtask.status).label}”，不能{action}",
            details={"status": subtask.status, "allowed_from": sorted(allowed)},
        )


@transaction.atomic
def subtask_accept(*, actor: User | None, subtask: SubTask, note: str = "") -> SubTask:
    """The department accepts its part (受理): only when it is ready (its prerequisites are done)."""
    require_unit(actor, subtask.unit_id)
    note = check_text(note, field="note", label="受理意见", max_length=500, required=False, multiline=True)
    locked = _lock_subtask(subtask)
    if locked.status == S.WAITING:
        raise InvalidState(
            "前置事项尚未办结，暂不能受理",
            details={"status": locked.status, "depends_on": locked.matter.depends_on},
        )
    _require_subtask(locked, {S.READY}, "受理")
    now = timezone.now()
    locked.status = S.IN_PROGRESS
    locked.accepted_at = now
    locked.handler = actor if actor is not None and actor.pk else None
    locked.save(update_fields=["status", "accepted_at", "handler"])
    _event(
        locked.application,
        actor=actor,
        action="accept",
        subtask=locked,
        note=note,
        data={"status": [S.READY, S.IN_PROGRESS]},
    )
    _refresh_status(locked.application, actor=actor, now=now)
    return locked


@transaction.atomic
def subtask_complete(*, actor: User | None, subtask: SubTask, result: str) -> SubTask:
    """The department finishes its part (办结) with its result; the matters waiting on it become ready. Refused
    while a promised material is outstanding."""
    require_unit(actor, subtask.unit_id)
    result = check_text(result, field="result", label="办理结果", max_length=1000, multiline=True)
    locked = _lock_subtask(subtask)
    _require_subtask(locked, {S.IN_PROGRESS}, "办结")
    now = timezone.now()
    outstanding = list(locked.promises.filter(supplied_at__isnull=True).order_by("due_at"))
    if outstanding:
        overdue = [p.material_name for p in outstanding if p.is_overdue(now)]
        raise InvalidState(
            f"容缺材料“{'、'.join(p.material_name for p in outstanding)}”尚未补交，不能办结"
            + (f"（{'、'.join(overdue)}已超过补交期限）" if overdue else ""),
            details={"promises": [p.material_key for p in outstanding], "overdue": overdue},
        )
    locked.status = S.DONE
    locked.finished_at = now
    locked.result = result
    locked.save(update_fields=["status", "finished_at", "result"])
    application = locked.application
    _event(
        application,
        actor=actor,
        action="complete",
        subtask=locked,
        note=result,
        data={"status": [S.IN_PROGRESS, S.DONE], "on_time": locked.due_at is None or now <= locked.due_at},
    )
    _release_waiting(application, actor=actor, now=now)
    _refresh_status(application, actor=actor, now=now)
    return locked


def _release_waiting(application: Application, *, actor: User | None, now: dt.datetime) -> None:
    subtasks = list(application.subtasks.select_related("matter", "unit").select_for_update(of=("self",)))
    done = {st.matter.code for st in subtasks if st.status == S.DONE}
    for st in subtasks:
        if st.status == S.WAITING and all(d in done for d in st.matter.depends_on):
            st.status = S.READY
            st.ready_at = now
            st.due_at = workcalendar.add_working_days(now, st.matter.promised_days)
            st.save(update_fields=["status", "ready_at", "due_at"])
            _event(
                application, actor=actor, action="ready", subtask=st, data={"status": [S.WAITING, S.READY]}
            )


@transaction.atomic
def subtask_reject(*, actor: User | None, subtask: SubTask, reason: str) -> SubTask:
    """The department refuses its part (不予办理) with the reason: the application ends as rejected and the
    other open parts are cancelled."""
    require_unit(actor, subtask.unit_id)
    reason = check_text(reason, field="reason", label="不予办理理由", max_length=1000, multiline=True)
    locked = _lock_subtask(subtask)
    _require_subtask(locked, {S.READY, S.IN_PROGRESS}, "作不予办理")
    now = timezone.now()
    old = locked.status
    locked.status = S.REJECTED
    locked.finished_at = now
    locked.result = reason
    locked.save(update_fields=["status", "finished_at", "result"])
    application = locked.application
    _event(
        application,
        actor=actor,
        action="reject",
        subtask=locked,
        note=reason,
        data={"status": [old, S.REJECTED]},
    )
    cancelled = application.subtasks.filter(status__in=OPEN_SUBTASK_STATUSES).update(
        status=S.CANCELLED, finished_at=now
    )
    application.result = f"{locked.department_name}不予办理：{reason}"
    application.save(update_fields=["result"])
    if cancelled:
        _event(application, actor=actor, action="cancel_rest", data={"cancelled": cancelled})
    _refresh_status(application, actor=actor, now=now)
    return locked


@transaction.atomic
def promise_grant(
    *,
    actor: User | None,
    subtask: SubTask,
    material_key: str,
    days: int = DEFAULT_PROMISE_DAYS,
    note: str = "",
) -> Promise:
    """容缺受理 by the department: its part goes on without (a good copy of) one of its matter's materials,
    which the applicant hands in within ``days`` working days."""
    require_unit(actor, subtask.unit_id)
    note = check_text(note, field="note", label="说明", max_length=255, required=False, multiline=False)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_PROMISE_DAYS:
        raise ValidationFailed(f"补交期限须为1到{MAX_PROMISE_DAYS}个工作日", details={"field": "days"})
    locked = _lock_subtask(subtask)
    _require_subtask(locked, {S.READY, S.IN_PROGRESS}, "容缺受理")
    spec = next((m for m in spec_of(locked.matter).materials if m.key == material_key), None)
    if spec is None:
        raise ValidationFailed(
            "本事项没有这项材料", details={"field": "material_key", "material": material_key}
        )
    if spec.shared_data:
        raise ValidationFailed(
            f"“{spec.name}”由数据共享获取，无需申请人补交", details={"field": "material_key"}
        )
    if locked.promises.filter(material_key=material_key).exists():
        raise Conflict(f"“{spec.name}”已有容缺承诺", details={"field": "material_key"})
    now = timezone.now()
    promise = Promise.objects.create(
        subtask=locked,
        material_key=material_key,
        material_name=spec.name,
        due_at=workcalendar.add_working_days(now, days),
        granted_by=actor if actor is not None and actor.pk else None,
        granted_at=now,
        note=note,
    )
    _event(
        locked.application,
        actor=actor,
        action="promise",
        subtask=locked,
        note=note,
        data={"material": material_key, "due_at": promise.due_at.isoformat(), "days": days},
    )
    _refresh_status(locked.application, actor=actor, now=now)
    return promise


def _require_applicant(actor: User | None, application: Application) -> None:
    if actor is not None and (application.applicant_id is None or application.applicant_id != actor.pk):
        raise NotFound("申请")


def _lock_application(application: Application) -> Application:
    locked = (
        Application.objects.select_for_update(of=("self",))
        .select_related("item", "version")
        .get(pk=application.pk)
    )
    application.status = locked.status
    return locked


@transaction.atomic
def material_supply(
    *, actor: User | None, application: Application, material_key: str, upload: UploadedFile
) -> ApplicationMaterial:
    """The applicant hands in a promised material (补交材料): every outstanding promise of it is met."""
    _require_applicant(actor, application)
    locked = _lock_application(application)
    if not locked.is_open:
        raise InvalidState(
            f"申请当前为“{ApplicationStatus(locked.status).label}”，不能补交材料",
            details={"status": locked.status},
        )
    pending = list(
        Promise.objects.filter(
            subtask__application=locked,
            material_key=material_key,
            supplied_at__isnull=True,
            subtask__status__in=OPEN_SUBTASK_STATUSES,
        )
    )
    if not pending:
        raise Conflict(
            "这项材料没有待补交的承诺", details={"field": "material_key", "material": material_key}
        )
    content_type, size = check_upload(upload, field="file")
    now = timezone.now()
    material = _store_material(
        locked,
        key=material_key,
        name=pending[0].material_name,
        upload=upload,
        content_type=content_type,
        size=size,
        actor=actor,
    )
    late = [p.pk for p in pending if p.is_overdue(now)]
    Promise.objects.filter(pk__in=[p.pk for p in pending]).update(supplied_at=now)
    _event(
        locked,
        actor=actor,
        action="supply",
        note=pending[0].material_name,
        data={"material": material_key, "size": size, "late": bool(late)},
    )
    _refresh_status(locked, actor=actor, now=now)
    return material


@transaction.atomic
def application_withdraw(*, actor: User | None, application: Application, reason: str = "") -> Application:
    """The applicant withdraws an open application (撤回申请): every open part is cancelled."""
    _require_applicant(actor, application)
    reason = check_text(
        reason, field="reason", label="撤回原因", max_length=255, required=False, multiline=False
    )
    locked = _lock_application(application)
    if not locked.is_open:
        raise InvalidState(
            f"申请当前为“{ApplicationStatus(locked.status).label}”，不能撤回",
            details={"status": locked.status},
        )
    now = timezone.now()
    locked.subtasks.filter(status__in=OPEN_SUBTASK_STATUSES).update(status=S.CANCELLED, finished_at=now)
    old = locked.status
    locked.status = A.WITHDRAWN
    locked.withdrawn_reason = reason
    locked.finished_at = now
    locked.save(update_fields=["status", "withdrawn_reason", "finished_at"])
    _event(locked, actor=actor, action="withdraw", note=reason, data={"status": [old, A.WITHDRAWN]})
    return locked


@transaction.atomic
def application_rate(
    *,
    actor: User | None,
    application: Application,
    score: int,
    reasons: Sequence[str] = (),
    comment: str = "",
) -> Rating:
    """The applicant rates the service once it has ended (好差评): 1-5, with reasons from the standard list; a
    poor rating (1 or 2) must say why."""
    _require_applicant(actor, application)
    if isinstance(score, bool) or not isinstance(score, int) or score not in RATING_LABELS:
        raise ValidationFailed("评价等级须为1到5", details={"field": "score"})
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        raise ValidationFailed("评价原因必须是列表", details={"field": "reasons"})
    reasons = list(dict.fromkeys(reasons))
    unknown = [r for r in reasons if r not in RATING_REASONS]
    if unknown:
        raise ValidationFailed(
            f"评价原因“{unknown[0]}”不在可选范围内",
            details={"field": "reasons", "allowed": list(RATING_REASONS)},
        )
    if score <= 2 and not any(r in BAD_REASONS for r in reasons):
        raise ValidationFailed(
            "差评请选择至少一项不满意的原因", details={"field": "reasons", "allowed": list(BAD_REASONS)}
        )
    comment = check_text(
        comment, field="comment", label="评价内容", max_length=500, required=False, multiline=True
    )
    locked = _lock_application(application)
    if not locked.has_ended:
        raise InvalidState("申请办结后才能评价", details={"status": locked.status})
    if Rating.objects.filter(application=locked).exists():
        raise Conflict("该申请已经评价过了")
    rating = Rating.objects.create(
        application=locked,
        score=score,
        reasons=reasons,
        comment=comment,
        rated_by=actor if actor is not None and actor.pk else None,
    )
    _event(locked, actor=actor, action="rate", note=comment, data={"score": score, "reasons": reasons})
    return rating
