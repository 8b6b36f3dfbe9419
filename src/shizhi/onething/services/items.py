"""Writes of the list (清单管理): items and their versions, draft -> review -> published -> withdrawn/superseded,
each change in the change log (变更记录) and the audit log. Only a draft changes; a published version never does."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from shizhi.core.audit import audit_record, snapshot
from shizhi.core.errors import Conflict, InvalidState, ValidationFailed
from shizhi.core.models import Area, AreaLevel, Unit, User
from shizhi.core.text import check_text
from shizhi.onething.content import CODE_RE, MatterSpec, parse_matters
from shizhi.onething.models import (
    ENTERPRISE_STAGES,
    PERSON_STAGES,
    ChangeAction,
    Item,
    ItemChange,
    ItemVersion,
    Level,
    Matter,
    Stage,
    Subject,
    VersionStatus,
)
from shizhi.onething.services.common import require_perm

V = VersionStatus
BATCH_RE = r"^20\d{2}-\d{1,2}$"

# Scalar content of a version that drafts may change, with what their change log calls them.
CONTENT_FIELDS = (
    "name",
    "summary",
    "keywords",
    "lead_unit_id",
    "lead_department_name",
    "supporting_departments",
    "legal_basis",
    "change_note",
    "is_demo",
)


@dataclass(frozen=True)
class VersionContent:
    """A version's content, validated (the ``matters`` are None when the caller did not give them)."""

    values: dict[str, Any]
    matters: list[MatterSpec] | None


def parse_content(raw: Mapping[str, Any], *, partial: bool) -> VersionContent:
    """Validate a version's content. ``partial``: only the keys present (an update); otherwise name and lead
    department are required (a new item)."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed("内容必须是对象", details={"field": "content"})
    unknown = sorted(set(raw) - set(CONTENT_FIELDS) - {"matters"})
    if unknown:
        raise ValidationFailed(
            f"未知字段：{'、'.join(unknown)}", details={"field": unknown[0], "unknown": unknown}
        )
    values: dict[str, Any] = {}
    limits = {
        "name": 100,
        "summary": 2000,
        "keywords": 255,
        "lead_department_name": 100,
        "legal_basis": 4000,
        "change_note": 255,
    }
    for key, limit in limits.items():
        if key in raw or (not partial and key in ("name", "lead_department_name")):
            required = key in ("name", "lead_department_name")
            values[key] = check_text(
                raw.get(key),
                field=key,
                label={
                    "name": "名称",
                    "summary": "简介",
                    "keywords": "关键词",
                    "lead_department_name": "牵头部门",
                    "legal_basis": "设立依据",
                    "change_note": "修订说明",
                }[key],
                max_length=limit,
                required=required,
                multiline=key in ("summary", "legal_basis"),
            )
    if "lead_unit_id" in raw:
        unit_id = raw["lead_unit_id"]
        if unit_id is not None and (
            isinstance(unit_id, bool)
            or not isinstance(unit_id, int)
            or not Unit.objects.filter(pk=unit_id).exists()
        ):
            raise ValidationFailed("牵头单位不存在", details={"field": "lead_unit_id"})
        values["lead_unit_id"] = unit_id
    if "supporting_departments" in raw:
        deps = raw["supporting_departments"]
        if not isinstance(deps, list) or len(deps) > 30:
            raise ValidationFailed(
                "配合部门必须是名称列表，最多30个", details={"field": "supporting_departments"}
            )
        names = [
            check_text(d, field="supporting_departments", label="配合部门", max_length=100, multiline=False)
            for d in deps
        ]
        if len(set(names)) != len(names):
            raise ValidationFailed("配合部门有重复", details={"field": "supporting_departments"})
        values["supporting_departments"] = names
    if "is_demo" in raw:
        if not isinstance(raw["is_demo"], bool):
            raise ValidationFailed("示例内容必须是true或false", details={"field": "is_demo"})
        values["is_demo"] = raw["is_demo"]
    matters = None
    if "matters" in raw:
        matters = parse_matters(raw["matters"])
        unit_ids = {m.unit_id for m in matters if m.unit_id is not None}
        found = set(Unit.objects.filter(pk__in=unit_ids).values_list("pk", flat=True))
        missing = sorted(unit_ids - found)
        if missing:
            raise ValidationFailed("事项的承办单位不存在", details={"field": "matters", "unit_ids": missing})
    return VersionContent(values=values, matters=matters)


def _log(
    *,
    actor: User | None,
    item: Item,
    version: ItemVersion | None,
    action: ChangeAction,
    note: str = "",
    changes: Mapping[str, Any] | None = None,
) -> ItemChange:
    entry = ItemChange.objects.create(
        item=item,
        version=version,
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None and actor.pk else "system",
        note=note[:255],
        changes=dict(changes or {}),
    )
    audit_record(
        actor=actor,
        action=f"onething.version.{action}" if version is not None else f"onething.item.{action}",
        obj=version if version is not None else item,
        changes={**(changes or {}), **({"note": note} if note else {})},
    )
    return entry


def _write_matters(version: ItemVersion, matters: Sequence[MatterSpec]) -> None:
    version.matters.all().delete()
    Matter.objects.bulk_create(
        [
            Matter(
                version=version,
                code=m.code,
                name=m.name,
                department_name=m.department_name,
                unit_id=m.unit_id,
                materials=[x.as_dict() for x in m.materials],
                fields=[f.as_dict() for f in m.fields],
                steps=m.steps,
                statutory_days=m.statutory_days,
                promised_days=m.promised_days,
                fee=m.fee,
                online=m.online,
                trips=m.trips,
                depends_on=list(m.depends_on),
                sort=i,
                is_demo=m.is_demo,
            )
            for i, m in enumerate(matters)
        ]
    )


def _matter_dicts(version: ItemVersion) -> list[dict[str, Any]]:
    from shizhi.onething.content import spec_of

    return [spec_of(m).as_dict() for m in version.matters.order_by("sort", "id")]


@transaction.atomic
def item_create(
    *,
    actor: User | None,
    code: str,
    subject: str,
    stage: str,
    level: str,
    content: Mapping[str, Any],
    batch: str = "",
    area: Area | None = None,
    sort: int = 0,
) -> ItemVersion:
    """A new item with its first version, a draft (新建事项)."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationFailed(
            "事项编码只能含字母、数字、点、横线和下划线，最长32位", details={"field": "code"}
        )
    if subject not in Subject.values:
        raise ValidationFailed(
            "服务对象必须是个人或企业", details={"field": "subject", "allowed": Subject.values}
        )
    if stage not in Stage.values:
        raise ValidationFailed("生命周期阶段不正确", details={"field": "stage", "allowed": Stage.values})
    stages = PERSON_STAGES if subject == Subject.PERSON else ENTERPRISE_STAGES
    if stage not in stages:
        raise ValidationFailed(
            f"“{Stage(stage).label}”不是{Subject(subject).label}的生命周期阶段",
            details={"field": "stage", "allowed": sorted(stages)},
        )
    if level not in Level.values:
        raise ValidationFailed("清单层级不正确", details={"field": "level", "allowed": Level.values})
    batch = (batch or "").strip()
    if level == Level.NATIONAL and not re.match(BATCH_RE, batch):
        raise ValidationFailed("国家重点事项须填写批次，如2024-1", details={"field": "batch"})
    if level != Level.NATIONAL and batch:
        raise ValidationFailed("只有国家重点事项有批次", details={"field": "batch"})
    if area is not None and area.level > AreaLevel.DISTRICT:
        raise ValidationFailed("所属区划只能是市或区县", details={"field": "area"})
    if not isinstance(sort, int) or isinstance(sort, bool) or sort < 0:
        raise ValidationFailed("排序必须是非负整数", details={"field": "sort"})
    parsed = parse_content(content, partial=False)
    if Item.objects.filter(code=code).exists():
        raise Conflict(f"事项编码“{code}”已存在", details={"field": "code"})
    item = Item.objects.create(
        code=code,
        subject=subject,
        stage=stage,
        level=level,
        batch=batch,
        area=area,
        sort=sort,
        created_by=actor if actor is not None and actor.pk else None,
    )
    version = ItemVersion(item=item, number=1, created_by=item.created_by, **parsed.values)
    version.full_clean(exclude=["item", "created_by", "lead_unit"])
    version.save()
    if parsed.matters:
        _write_matters(version, parsed.matters)
    _log(
        actor=actor,
        item=item,
        version=version,
        action=ChangeAction.CREATE,
        changes={
            **snapshot(item, ["code", "subject", "stage", "level", "batch"]),
            **snapshot(version, ["name", "lead_department_name"]),
            "matters": [None, [m.code for m in parsed.matters or []]],
        },
    )
    return version


def _latest(item: Item) -> ItemVersion:
    version = item.versions.order_by("-number").first()
    assert version is not None  # an item is created with its first version
    return version


@transaction.atomic
def version_draft(*, actor: User | None, item: Item, note: str = "") -> ItemVersion:
    """A new draft, a copy of the latest version (起草新版本). One unpublished version at a time."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    note = check_text(note, field="note", label="说明", max_length=255, required=False, multiline=False)
    Item.objects.select_for_update().filter(pk=item.pk).first()
    open_version = item.versions.filter(status__in=[V.DRAFT, V.IN_REVIEW]).first()
    if open_version is not None:
        raise Conflict(
            f"该事项已有未发布的版本v{open_version.number}（{VersionStatus(open_version.status).label}）",
            details={"version": open_version.number},
        )
    source = _latest(item)
    number = (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ItemVersion.objects.create(
        item=item,
        number=number,
        status=V.DRAFT,
        created_by=actor if actor is not None and actor.pk else None,
        change_note=note,
        **{f: getattr(source, f) for f in CONTENT_FIELDS if f != "change_note"},
    )
    Matter.objects.bulk_create(
        [
            Matter(
                version=draft,
                **{
                    f.name: getattr(m, f.name)
                    for f in Matter._meta.concrete_fields
                    if f.name not in ("id", "version")
                },
            )
            for m in source.matters.order_by("sort", "id")
        ]
    )
    _log(
        actor=actor,
        item=item,
        version=draft,
        action=ChangeAction.DRAFT,
        note=note,
        changes={"from_version": source.number},
    )
    return draft


def _require_status(version: ItemVersion, allowed: set[str], action: str) -> None:
    if version.status not in allowed:
        raise InvalidState(
            f"版本v{version.number}当前为“{VersionStatus(version.status).label}”，不能{action}",
            details={"status": version.status, "allowed_from": sorted(allowed)},
        )


def _lock(version: ItemVersion) -> ItemVersion:
    locked = ItemVersion.objects.select_for_update().get(pk=version.pk)
    version.status = locked.status
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked


@transaction.atomic
def version_update(*, actor: User | None, version: ItemVersion, content: Mapping[str, Any]) -> ItemVersion:
    """Change a draft (修改草稿): any of the content fields, and the matters as a whole list."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    locked = _lock(version)
    _require_status(locked, {V.DRAFT}, "修改（只有草稿可以修改，已发布的版本不会改变）")
    parsed = parse_content(content, partial=True)
    changes: dict[str, Any] = {}
    for name, value in parsed.values.items():
        old = getattr(locked, name)
        if old != value:
            changes[name] = [old, value]
            setattr(locked, name, value)
    if parsed.matters is not None:
        before = _matter_dicts(locked)
        after = [m.as_dict() for m in parsed.matters]
        if before != after:
            from shizhi.onething.diff import diff_matter_lists

            changes["matters"] = diff_matter_lists(before, after)
            _write_matters(locked, parsed.matters)
    if not changes:
        return locked  # a change that changes nothing writes nothing
    scalar = [n for n in changes if n != "matters"]
    if scalar:
        locked.full_clean(exclude=["item", "created_by", "lead_unit", "published_by"])
        locked.save(update_fields=scalar)
    _log(actor=actor, item=locked.item, version=locked, action=ChangeAction.UPDATE, changes=changes)
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked


@transaction.atomic
def version_submit(*, actor: User | None, version: ItemVersion, note: str = "") -> ItemVersion:
    """Send a draft for review (提交审核): it must have matters and a lead department."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    note = check_text(note, field="note", label="说明", max_length=255, required=False, multiline=False)
    locked = _lock(version)
    _require_status(locked, {V.DRAFT}, "提交审核")
    if not locked.matters.exists():
        raise ValidationFailed("至少要有一个政务服务事项才能提交审核", details={"field": "matters"})
    locked.status = V.IN_REVIEW
    locked.submitted_at = timezone.now()
    locked.save(update_fields=["status", "submitted_at"])
    _log(
        actor=actor,
        item=locked.item,
        version=locked,
        action=ChangeAction.SUBMIT,
        note=note,
        changes={"status": [V.DRAFT, V.IN_REVIEW]},
    )
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked


@transaction.atomic
def version_return(*, actor: User | None, version: ItemVersion, note: str) -> ItemVersion:
    """Send a version under review back to draft (退回修改), saying why."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    note = check_text(note, field="note", label="退回原因", max_length=255, multiline=False)
    locked = _lock(version)
    _require_status(locked, {V.IN_REVIEW}, "退回修改")
    locked.status = V.DRAFT
    locked.submitted_at = None
    locked.save(update_fields=["status", "submitted_at"])
    _log(
        actor=actor,
        item=locked.item,
        version=locked,
        action=ChangeAction.RETURN,
        note=note,
        changes={"status": [V.IN_REVIEW, V.DRAFT]},
    )
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked


@transaction.atomic
def version_publish(*, actor: User | None, version: ItemVersion, note: str = "") -> ItemVersion:
    """Publish a reviewed version (发布): citizens see it from now on; the previously published one is superseded."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    note = check_text(note, field="note", label="说明", max_length=255, required=False, multiline=False)
    locked = _lock(version)
    _require_status(locked, {V.IN_REVIEW}, "发布（须先提交审核）")
    now = timezone.now()
    previous = (
        ItemVersion.objects.select_for_update().filter(item_id=locked.item_id, status=V.PUBLISHED).first()
    )
    if previous is not None:
        previous.status = V.SUPERSEDED
        previous.save(update_fields=["status"])
        _log(
            actor=actor,
            item=locked.item,
            version=previous,
            action=ChangeAction.WITHDRAW,
            note=f"被v{locked.number}替代",
            changes={"status": [V.PUBLISHED, V.SUPERSEDED]},
        )
    locked.status = V.PUBLISHED
    locked.published_at = now
    locked.published_by = actor if actor is not None and actor.pk else None
    locked.save(update_fields=["status", "published_at", "published_by"])
    _log(
        actor=actor,
        item=locked.item,
        version=locked,
        action=ChangeAction.PUBLISH,
        note=note,
        changes={
            "status": [V.IN_REVIEW, V.PUBLISHED],
            **({"supersedes": previous.number} if previous else {}),
        },
    )
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked


@transaction.atomic
def version_withdraw(*, actor: User | None, version: ItemVersion, note: str) -> ItemVersion:
    """Take the published version off the public list (撤回), saying why. Applications already filed go on."""
    require_perm(actor, "onething.manage_list", "没有管理一件事清单的权限")
    note = check_text(note, field="note", label="撤回原因", max_length=255, multiline=False)
    locked = _lock(version)
    _require_status(locked, {V.PUBLISHED}, "撤回")
    locked.status = V.WITHDRAWN
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["status", "withdrawn_at"])
    _log(
        actor=actor,
        item=locked.item,
        version=locked,
        action=ChangeAction.WITHDRAW,
        note=note,
        changes={"status": [V.PUBLISHED, V.WITHDRAWN]},
    )
    version.refresh_from_db()  # the caller's object shows the new state too
    return locked
