"""What every hotline write shares: the transition table, permission and scope checks, timeline + audit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from shizhi.core import hotpath
from shizhi.core.audit import audit_record
from shizhi.core.errors import InvalidState, NotFound, PermissionDenied
from shizhi.core.models import Role, Unit, User
from shizhi.core.permissions import actor_scope, has_perm
from shizhi.hotline.models import Assignment, AssignmentStatus, Case, CaseEvent, CaseStatus
from shizhi.hotline.signals import case_status_changed

S = CaseStatus

# The workflow as data (流转规则): action -> (states it may start from, state it leads to; None = unchanged).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "answer_directly": (frozenset({S.RECEIVED}), S.REPLIED),
    "dispatch": (frozenset({S.RECEIVED}), S.DISPATCHED),
    "add_assist": (frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}), None),
    "accept": (frozenset({S.DISPATCHED}), S.ACCEPTED),
    "return": (frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURNED),
    "approve_return": (frozenset({S.RETURNED}), S.DISPATCHED),
    "reject_return": (frozenset({S.RETURNED}), S.DISPATCHED),
    "start": (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    "assist_note": (frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}), None),
    "request_extension": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    "decide_extension": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    "reply": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.REPLIED),
    "callback": (frozenset({S.REPLIED}), S.CLOSED),
    "reopen": (frozenset({S.CLOSED}), S.DISPATCHED),
    "merge": (frozenset({S.RECEIVED, S.DISPATCHED, S.RETURNED}), S.MERGED),
    "supervise": (
        frozenset({S.RECEIVED, S.DISPATCHED, S.RETURNED, S.ACCEPTED, S.IN_PROGRESS, S.REPLIED}),
        None,
    ),
}

# Which permission each action needs (unit actions additionally need the actor's unit on the case).
ACTION_PERMISSION: dict[str, str] = {
    "answer_directly": "hotline.answer_directly",
    "dispatch": "hotline.dispatch",
    "add_assist": "hotline.dispatch",
    "accept": "hotline.handle",
    "return": "hotline.handle",
    "approve_return": "hotline.review_return",
    "reject_return": "hotline.review_return",
    "start": "hotline.handle",
    "assist_note": "hotline.handle",
    "request_extension": "hotline.handle",
    "decide_extension": "hotline.decide_extension",
    "reply": "hotline.handle",
    "callback": "hotline.callback",
    "reopen": "hotline.reopen",
    "merge": "hotline.merge",
    "supervise": "hotline.supervise",
}

# A tag is "<name ...>" or "</name>" or "<!...>" with an ASCII tag name ending at a space, "/" or ">": so that
# book titles in brackets as citizens write them ("<A市新图>") pass, and "<script>", "<img onerror=...>" do not.


def require_transition(case: Case, action: str) -> str | None:
    allowed, target = TRANSITIONS[action]
    if case.status not in allowed:
        raise InvalidState(
            f"工单当前状态为“{CaseStatus(case.status).label}”，不能执行“{ACTION_LABELS.get(action, action)}”",
            details={"status": case.status, "action": action, "allowed_from": sorted(allowed)},
        )
    return target


ACTION_LABELS = {
    "create": "受理",
    "answer_directly": "直接答复",
    "dispatch": "派单",
    "add_assist": "增派协办单位",
    "accept": "签收",
    "return": "退单",
    "approve_return": "同意退单并改派",
    "reject_return": "驳回退单",
    "start": "开始办理",
    "assist_note": "协办反馈",
    "request_extension": "申请延期",
    "decide_extension": "审批延期",
    "reply": "答复",
    "callback": "回访",
    "reopen": "重办",
    "merge": "合并",
    "merged_follow": "随主工单答复",
    "supervise": "督办",
    "link": "关联工单",
    "attach": "上传附件",
    "sla_overdue": "超期",
    "import": "导入历史工单",
}


def require_perm(actor: User | None, action: str) -> None:
    if actor is None:
        return  # the system (CLI, tasks, the public intake path checks its own rules)
    if not has_perm(actor, ACTION_PERMISSION[action]):
        raise PermissionDenied(f"没有“{ACTION_LABELS[action]}”的权限")


def actor_units(actor: User | None) -> set[int]:
    if actor is None:
        return set()
    scope = actor_scope(actor)
    return scope.unit_ids.get(Role.UNIT_HANDLER, set()) | scope.unit_ids.get(Role.UNIT_LEADER, set())


def unit_assignment(
    case: Case, actor: User | None, *, statuses: Iterable[str], role: str | None = None
) -> Assignment:
    """The actor's unit's current assignment on this case, or a refusal that says why."""
    units = actor_units(actor)
    qs = case.assignments.filter(unit_id__in=units).exclude(status=AssignmentStatus.WITHDRAWN)
    if role:
        qs = qs.filter(role=role)
    assignment = qs.order_by("-id").first()
    if assignment is None:
        raise PermissionDenied("本单位不是该工单的承办单位")
    if assignment.status not in set(statuses):
        raise InvalidState(
            f"本单位的承办状态为“{AssignmentStatus(assignment.status).label}”，不能执行此操作",
            details={"assignment_status": assignment.status},
        )
    return assignment


def record(
    case: Case,
    *,
    actor: User | None,
    action: str,
    status_from: str = "",
    note: str = "",
    unit: Unit | None = None,
    data: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> CaseEvent:
    """One timeline entry and one audit event for a change of a case (inside the caller's transaction)."""
    event = CaseEvent(
        case=case,
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.display_name or actor.username) if actor is not None and actor.pk else "系统",
        unit=unit,
        status_from=status_from,
        status_to=case.status,
        note=note,
        data=data or {},
    )
    hotpath.insert(event)
    audit_record(
        actor=actor,
        action=f"case.{action}",
        obj=case,
        changes={"status": [status_from, case.status]}
        if status_from and status_from != case.status
        else (changes or {}),
        area_path=case.area_path,
        unit=unit or case.lead_unit,
    )
    if status_from and status_from != case.status:
        case_status_changed.send(
            sender=Case, case=case, status_from=status_from, status_to=case.status, actor=actor
        )
    return event


def save(case: Case, fields: Iterable[str]) -> None:
    case.updated_at = timezone.now()
    case.save(update_fields=[*fields, "updated_at"])


def get_case_for_update(case_id: int) -> Case:
    """Lock the case row (PostgreSQL) so that two handlers cannot move it at once; SQLite serialises writes."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("工单")
    return case
