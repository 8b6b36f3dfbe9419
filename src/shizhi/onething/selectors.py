"""Every read of 高效办成一件事 that filters by scope or state.

- The published list is public (一次告知): anyone, signed in or not, sees published versions.
- Drafts, reviews, the change log and old versions are for the list office (``onething.manage_list``).
- An application is seen by its applicant and by ``onething.view_applications`` roles (city-wide, or their area).
- A department (``onething.handle``) sees only its own unit's sub-tasks; everything else answers 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from shizhi.core.errors import NotFound, PermissionDenied, ValidationFailed
from shizhi.core.permissions import has_perm
from shizhi.core.selectors import Actor, scope_filter
from shizhi.onething import search as search_mod
from shizhi.onething.models import (
    Application,
    Item,
    ItemChange,
    ItemVersion,
    Level,
    Matter,
    Promise,
    Stage,
    Subject,
    SubTask,
    SubTaskStatus,
    VersionStatus,
)
from shizhi.onething.services.common import actor_units

MATTERS = Prefetch("matters", queryset=Matter.objects.select_related("unit").order_by("sort", "id"))


def _published() -> QuerySet[ItemVersion]:
    return (
        ItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("item", "lead_unit")
        .prefetch_related(MATTERS)
        .order_by("item__sort", "item__code")
    )


@dataclass
class ItemFilters:
    q: str | None = None
    subject: str | None = None
    stage: str | None = None
    level: str | None = None


def published_items(filters: ItemFilters | None = None) -> list[ItemVersion]:
    """The published list citizens see, optionally filtered; with ``q``, ranked by the plain-words search."""
    f = filters or ItemFilters()
    qs = _published()
    for name, allowed, value in (
        ("subject", Subject.values, f.subject),
        ("stage", Stage.values, f.stage),
        ("level", Level.values, f.level),
    ):
        if value:
            if value not in allowed:
                raise ValidationFailed(f"{name}取值不正确", details={"field": name, "allowed": allowed})
            qs = qs.filter(**{f"item__{name}": value})
    versions = list(qs)
    if f.q and f.q.strip():
        return search_mod.search(f.q.strip()[:100], versions)
    return versions


def published_item(code: str) -> ItemVersion:
    """The published version of one item (the 一次告知 guide), or 404."""
    version = _published().filter(item__code=(code or "").strip()).first()
    if version is None:
        raise NotFound("一件事")
    return version


# ---------------------------------------------------------------------------------------------- list office


def _require_manager(actor: Actor) -> None:
    if not has_perm(actor, "onething.manage_list"):
        raise PermissionDenied("没有管理一件事清单的权限")


def managed_items(*, actor: Actor, status: str | None = None) -> list[tuple[Item, list[ItemVersion]]]:
    """Every item with all its versions (newest first), for the list office; ``status`` keeps items that have
    a version in that state."""
    _require_manager(actor)
    qs = Item.objects.prefetch_related(
        Prefetch("versions", queryset=ItemVersion.objects.order_by("-number").select_related("lead_unit"))
    ).order_by("sort", "code")
    if status:
        if status not in VersionStatus.values:
            raise ValidationFailed(
                "版本状态不正确", details={"field": "status", "allowed": VersionStatus.values}
            )
        qs = qs.filter(versions__status=status).distinct()
    return [(item, list(item.versions.all())) for item in qs]


def access_item(*, actor: Actor, code: str) -> Item:
    """An item for the list office (any state); for anyone else only an item with a published version."""
    item = Item.objects.filter(code=(code or "").strip()).first()
    if item is None:
        raise NotFound("一件事")
    if (
        not has_perm(actor, "onething.manage_list")
        and not item.versions.filter(status=VersionStatus.PUBLISHED).exists()
    ):
        raise NotFound("一件事")
    return item


def access_version(*, actor: Actor, code: str, number: int) -> ItemVersion:
    """One version: the list office sees any; others only the published one."""
    qs = ItemVersion.objects.select_related("item", "lead_unit").prefetch_related(MATTERS)
    version = qs.filter(item__code=(code or "").strip(), number=number).first()
    if version is None:
        raise NotFound("版本")
    if version.status != VersionStatus.PUBLISHED and not has_perm(actor, "onething.manage_list"):
        raise NotFound("版本")
    return version


def item_changes(*, actor: Actor, item: Item) -> QuerySet[ItemChange]:
    _require_manager(actor)
    return item.changes.select_related("version", "actor").order_by("-created_at", "-id")


# --------------------------------------------------------------------------------------------- applications


def visible_applications(actor: Actor) -> QuerySet[Application]:
    """The applicant's own, plus city-wide or area-scoped viewers' (``onething.view_applications``)."""
    qs = Application.objects.select_related("item", "version", "district")
    return scope_filter(
        qs, actor, permission="onething.view_applications", path_field="area_path", owner_field="applicant_id"
    )


def application_list(
    *, actor: Actor, status: str | None = None, item_code: str | None = None, mine: bool = False
) -> QuerySet[Application]:
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied("请先登录")
    qs = visible_applications(actor)
    if mine:
        qs = qs.filter(applicant_id=actor.pk)
    if status:
        from shizhi.onething.models import ApplicationStatus

        if status not in ApplicationStatus.values:
            raise ValidationFailed(
                "状态不正确", details={"field": "status", "allowed": ApplicationStatus.values}
            )
        qs = qs.filter(status=status)
    if item_code:
        qs = qs.filter(item__code=item_code)
    return qs.order_by("-submitted_at", "-id")


def access_application(*, actor: Actor, application_id: int) -> Application:
    app = visible_applications(actor).filter(pk=application_id).first()
    if app is None:
        raise NotFound("申请")
    return app


def application_detail(application: Application) -> Application:
    """The application with its sub-tasks, promises, materials, events and rating, one query each."""
    return (
        Application.objects.select_related("item", "version", "district", "rating")
        .prefetch_related(
            Prefetch(
                "subtasks",
                queryset=SubTask.objects.select_related("matter", "unit")
                .prefetch_related(Prefetch("promises", queryset=Promise.objects.order_by("due_at", "id")))
                .order_by("sort", "id"),
            ),
            "materials",
            "events",
        )
        .get(pk=application.pk)
    )


# ----------------------------------------------------------------------------------------- department inbox

INBOX_STATUSES = (SubTaskStatus.READY, SubTaskStatus.IN_PROGRESS)


def _require_handler(actor: Actor) -> set[int]:
    if not has_perm(actor, "onething.handle"):
        raise PermissionDenied("没有办理一件事子任务的权限")
    return actor_units(actor)  # type: ignore[arg-type]


def subtask_inbox(*, actor: Actor, statuses: Sequence[str] | None = None) -> QuerySet[SubTask]:
    """The actor's units' sub-tasks (部门待办): by default those to accept or finish, earliest deadline first."""
    units = _require_handler(actor)
    wanted = list(statuses) if statuses else list(INBOX_STATUSES)
    bad = [s for s in wanted if s not in SubTaskStatus.values]
    if bad:
        raise ValidationFailed("状态不正确", details={"field": "status", "allowed": SubTaskStatus.values})
    return (
        SubTask.objects.filter(unit_id__in=units, status__in=wanted)
        .select_related("application", "application__item", "matter", "unit")
        .prefetch_related(Prefetch("promises", queryset=Promise.objects.order_by("due_at", "id")))
        .order_by("due_at", "id")
    )


def access_subtask(*, actor: Actor, subtask_id: int) -> SubTask:
    """One of the actor's units' sub-tasks, or 404 (another department's part does not exist for it)."""
    units = _require_handler(actor)
    subtask = (
        SubTask.objects.select_related(
            "application", "application__item", "application__version", "matter", "unit"
        )
        .filter(pk=subtask_id, unit_id__in=units)
        .first()
    )
    if subtask is None:
        raise NotFound("子任务")
    return subtask


def overdue_promises(*, actor: Actor) -> QuerySet[Promise]:
    """Promises past their deadline and not met, on the actor's units' open sub-tasks (容缺逾期)."""
    units = _require_handler(actor)
    return (
        Promise.objects.filter(
            subtask__unit_id__in=units,
            supplied_at__isnull=True,
            due_at__lt=timezone.now(),
            subtask__status__in=[SubTaskStatus.WAITING, *INBOX_STATUSES],
        )
        .select_related("subtask", "subtask__application")
        .order_by("due_at")
    )
