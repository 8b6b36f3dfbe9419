"""Writes of the standing promotion (常态化推进): each item's roll-out in each district, its state, targets and
dated milestones. Measured performance, alerts and reports are reads (``onething.promotion``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from shizhi.core.audit import audit_record, field_changes, snapshot
from shizhi.core.errors import Conflict, InvalidState, ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit, User
from shizhi.core.text import check_text
from shizhi.onething.models import Item, Milestone, Rollout, RolloutState
from shizhi.onething.services.common import require_perm

PERMISSION = "onething.manage_promotion"
DENIED = "没有管理一件事推进情况的权限"
TARGET_FIELDS = ("target_on_time_rate", "target_rating", "target_online_share")
DATE_FIELDS = ("target_pilot_date", "target_online_date", "target_fully_online_date")


def _check_targets(values: dict[str, Any]) -> None:
    for name in ("target_on_time_rate", "target_online_share"):
        v = values.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1):
            raise ValidationFailed("目标比例须在0到1之间", details={"field": name})
    v = values.get("target_rating")
    if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 1 <= v <= 5):
        raise ValidationFailed("目标平均评价须在1到5之间", details={"field": "target_rating"})
    for name in DATE_FIELDS:
        d = values.get(name)
        if d is not None and not isinstance(d, dt.date):
            raise ValidationFailed("日期格式不正确", details={"field": name})
    dates = [values.get(n) for n in DATE_FIELDS]
    known = [d for d in dates if d is not None]
    if known != sorted(known):
        raise ValidationFailed(
            "计划日期须依次为试点、上线、全程网办", details={"field": "target_online_date"}
        )


@transaction.atomic
def rollout_upsert(
    *,
    actor: User | None,
    item: Item,
    district: Area,
    owner_unit: Unit | None = None,
    note: str = "",
    **targets: Any,
) -> Rollout:
    """Create or change the roll-out plan of an item in a district (推进计划): owner unit, target dates and
    performance targets (``target_*`` keyword arguments)."""
    require_perm(actor, PERMISSION, DENIED)
    if district.level != AreaLevel.DISTRICT:
        raise ValidationFailed("推进情况按区县填报", details={"field": "district"})
    unknown = sorted(set(targets) - set(TARGET_FIELDS) - set(DATE_FIELDS))
    if unknown:
        raise ValidationFailed(f"未知字段：{'、'.join(unknown)}", details={"field": unknown[0]})
    note = check_text(note, field="note", label="备注", max_length=255, required=False, multiline=False)
    rollout = Rollout.objects.select_for_update().filter(item=item, district=district).first()
    merged = {n: getattr(rollout, n) if rollout else None for n in (*TARGET_FIELDS, *DATE_FIELDS)}
    merged.update(targets)
    _check_targets(merged)
    values: dict[str, Any] = {"owner_unit": owner_unit, "note": note, **targets}
    if rollout is None:
        rollout = Rollout(item=item, district=district, **values)
        rollout.full_clean()
        rollout.save()
        audit_record(
            actor=actor,
            action="onething.rollout.create",
            obj=rollout,
            changes=snapshot(rollout, ["item", "district", "state", "owner_unit", *targets]),
            area_path=district.path,
        )
        return rollout
    changes = field_changes(rollout, values)
    if not changes:
        return rollout
    for name, value in values.items():
        setattr(rollout, name, value)
    rollout.updated_at = timezone.now()
    rollout.full_clean()
    rollout.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor, action="onething.rollout.update", obj=rollout, changes=changes, area_path=district.path
    )
    return rollout


@transaction.atomic
def rollout_set_state(*, actor: User | None, rollout: Rollout, state: str, note: str = "") -> Rollout:
    """Move a roll-out to another state (计划中、试点中、已上线、全程网办)."""
    require_perm(actor, PERMISSION, DENIED)
    if state not in RolloutState.values:
        raise ValidationFailed("推进状态不正确", details={"field": "state", "allowed": RolloutState.values})
    note = check_text(note, field="note", label="备注", max_length=255, required=False, multiline=False)
    locked = Rollout.objects.select_for_update(of=("self",)).select_related("district").get(pk=rollout.pk)
    if locked.state == state:
        raise InvalidState(f"推进状态已经是“{RolloutState(state).label}”", details={"state": state})
    old = locked.state
    locked.state = state
    locked.state_changed_at = locked.updated_at = timezone.now()
    fields = ["state", "state_changed_at", "updated_at"]
    if note:
        locked.note = note
        fields.append("note")
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="onething.rollout.set_state",
        obj=locked,
        changes={"state": [old, state], **({"note": note} if note else {})},
        area_path=locked.district.path,
    )
    return locked


@transaction.atomic
def milestone_add(
    *,
    actor: User | None,
    rollout: Rollout,
    title: str,
    due_date: dt.date,
    owner_name: str = "",
    owner_unit: Unit | None = None,
    note: str = "",
) -> Milestone:
    """A dated milestone of a roll-out (推进节点) with its owner."""
    require_perm(actor, PERMISSION, DENIED)
    title = check_text(title, field="title", label="节点名称", max_length=100, multiline=False)
    owner_name = check_text(
        owner_name, field="owner_name", label="责任人", max_length=64, required=False, multiline=False
    )
    note = check_text(note, field="note", label="备注", max_length=255, required=False, multiline=False)
    if not isinstance(due_date, dt.date):
        raise ValidationFailed("计划完成日期格式不正确", details={"field": "due_date"})
    if rollout.milestones.filter(title=title).exists():
        raise Conflict(f"节点“{title}”已存在", details={"field": "title"})
    milestone = Milestone.objects.create(
        rollout=rollout,
        title=title,
        due_date=due_date,
        owner_name=owner_name,
        owner_unit=owner_unit,
        note=note,
    )
    audit_record(
        actor=actor,
        action="onething.milestone.add",
        obj=milestone,
        changes=snapshot(milestone, ["rollout", "title", "due_date", "owner_name", "owner_unit"]),
        area_path=rollout.district.path,
    )
    return milestone


@transaction.atomic
def milestone_complete(
    *, actor: User | None, milestone: Milestone, done_at: dt.datetime | None = None, note: str = ""
) -> Milestone:
    """Mark a milestone done (完成节点), now or at the given moment (not in the future)."""
    require_perm(actor, PERMISSION, DENIED)
    note = check_text(note, field="note", label="备注", max_length=255, required=False, multiline=False)
    locked = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("rollout__district")
        .get(pk=milestone.pk)
    )
    if locked.done_at is not None:
        raise InvalidState("该节点已完成", details={"done_at": locked.done_at.isoformat()})
    now = timezone.now()
    moment = done_at or now
    if moment > now:
        raise ValidationFailed("完成时间不能晚于现在", details={"field": "done_at"})
    locked.done_at = moment
    fields = ["done_at"]
    if note:
        locked.note = note
        fields.append("note")
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="onething.milestone.complete",
        obj=locked,
        changes={"done_at": [None, moment.isoformat()]},
        area_path=locked.rollout.district.path,
    )
    return locked
