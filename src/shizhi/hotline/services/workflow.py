"""The case workflow (流转), one function per transition. Each checks the actor's right and scope and the
case's state, changes the case, and writes a timeline entry and an audit event; illegal moves are refused
with ``invalid_state`` and change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from shizhi.core import workcalendar
from shizhi.core.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from shizhi.core.models import Unit, User
from shizhi.core.permissions import has_perm
from shizhi.core.text import check_text
from shizhi.hotline.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    CaseStatus,
    Extension,
    ExtensionStatus,
    KnowledgeArticle,
    SlaKind,
    Supervision,
    SupervisionKind,
    Urgency,
)
from shizhi.hotline.services.common import (
    get_case_for_update,
    record,
    require_perm,
    require_transition,
    save,
    unit_assignment,
)
from shizhi.hotline.sla import accept_due, handling_due, month_of, sla_setting

A = AssignmentStatus
S = CaseStatus


def _lock(case: Case) -> Case:
    """A fresh, locked copy of the case: decisions are made on the stored state, not on a stale object."""
    return get_case_for_update(case.pk)


def _check_units(units: Sequence[Unit]) -> None:
    for unit in units:
        if not unit.is_active:
            raise ValidationFailed(
                f"“{unit.name}”已停用，不能派单", details={"field": "unit", "unit": unit.pk}
            )
    ids = [u.pk for u in units]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("主办和协办单位不能重复", details={"field": "assist_units"})


def _assign(case: Case, unit: Unit, role: str, now: dt.datetime) -> Assignment:
    return Assignment.objects.create(
        case=case,
        unit=unit,
        role=role,
        dispatched_at=now,
        dispatched_month=month_of(now),
        accept_due_at=accept_due(now, urgent=case.urgency == Urgency.URGENT),
    )


@transaction.atomic
def case_answer_directly(
    *, actor: User | None, case: Case, reply: str, article: KnowledgeArticle | None = None
) -> Case:
    """Answer an inquiry at once from the knowledge base (直接答复), without dispatch; a callback follows."""
    require_perm(actor, "answer_directly")
    case = _lock(case)
    require_transition(case, "answer_directly")
    text = check_text(reply, field="reply", label="答复内容", max_length=4000, min_length=5)
    status_from, now = case.status, timezone.now()
    case.status, case.reply, case.replied_at, case.replied_on_time = S.REPLIED, text, now, True
    case.knowledge_article = article
    save(case, ["status", "reply", "replied_at", "replied_on_time", "knowledge_article"])
    if article is not None:
        KnowledgeArticle.objects.filter(pk=article.pk).update(times_used=article.times_used + 1)
    record(
        case,
        actor=actor,
        action="answer_directly",
        status_from=status_from,
        note=text,
        data={"article": article.pk if article else None},
    )
    return case


@transaction.atomic
def case_dispatch(
    *,
    actor: User | None,
    case: Case,
    unit: Unit,
    assist_units: Sequence[Unit] = (),
    sla_kind: str | None = None,
    note: str = "",
) -> Case:
    """Dispatch (派单) to a lead unit (首接负责) and optional assisting units (协办); starts the clocks."""
    require_perm(actor, "dispatch")
    case = _lock(case)
    require_transition(case, "dispatch")
    _check_units([unit, *assist_units])
    if sla_kind is not None and sla_kind not in SlaKind.values:
        raise ValidationFailed("时限类别不正确", details={"field": "sla_kind"})
    note = check_text(note, field="note", label="派单说明", max_length=500, min_length=0)
    status_from, now = case.status, timezone.now()
    if sla_kind and case.urgency != Urgency.URGENT:
        case.sla_kind = sla_kind
    _assign(case, unit, AssignmentRole.LEAD, now)
    for assist in assist_units:
        _assign(case, assist, AssignmentRole.ASSIST, now)
    case.status, case.lead_unit, case.dispatched_at = S.DISPATCHED, unit, now
    case.due_at = handling_due(now, case.sla_kind)
    case.feedback_due_at = (
        workcalendar.add_hours(now, sla_setting("emergency_hours"))
        if (case.urgency == Urgency.URGENT)
        else None
    )
    save(case, ["status", "lead_unit", "dispatched_at", "due_at", "feedback_due_at", "sla_kind"])
    record(
        case,
        actor=actor,
        action="dispatch",
        status_from=status_from,
        note=note,
        unit=unit,
        data={"lead": unit.pk, "assist": [u.pk for u in assist_units], "due_at": case.due_at.isoformat()},
    )
    return case


@transaction.atomic
def case_add_assist(*, actor: User | None, case: Case, units: Sequence[Unit], note: str = "") -> Case:
    """Bring in more assisting units (街乡吹哨、部门报到) while the case is being handled."""
    require_perm(actor, "add_assist")
    case = _lock(case)
    require_transition(case, "add_assist")
    if not units:
        raise ValidationFailed("请选择协办单位", details={"field": "units"})
    current = set(case.assignments.exclude(status=A.WITHDRAWN).values_list("unit_id", flat=True))
    _check_units(list(units))
    clash = [u.name for u in units if u.pk in current]
    if clash:
        raise Conflict(f"已是该工单的承办单位：{'、'.join(clash)}", details={"field": "units"})
    now = timezone.now()
    for u in units:
        _assign(case, u, AssignmentRole.ASSIST, now)
    record(case, actor=actor, action="add_assist", note=note, data={"assist": [u.pk for u in units]})
    return case


@transaction.atomic
def case_accept(*, actor: User | None, case: Case) -> Case:
    """Accept (签收) the unit's part of the case; on time when before the acceptance deadline."""
    require_perm(actor, "accept")
    case = _lock(case)
    assignment = unit_assignment(case, actor, statuses=[A.DISPATCHED])
    now = timezone.now()
    status_from = case.status
    if assignment.role == AssignmentRole.LEAD:
        require_transition(case, "accept")
        case.status = S.ACCEPTED
        save(case, ["status"])
    assignment.status, assignment.accepted_at, assignment.handler = A.ACCEPTED, now, actor
    # A case sent back and then returned to the same unit keeps its first clock: returning is no escape.
    if assignment.accepted_on_time is None:
        assignment.accepted_on_time = now <= assignment.accept_due_at
    assignment.save(update_fields=["status", "accepted_at", "handler", "accepted_on_time"])
    record(
        case,
        actor=actor,
        action="accept",
        status_from=status_from,
        unit=assignment.unit,
        data={"role": assignment.role, "on_time": assignment.accepted_on_time},
    )
    return case


@transaction.atomic
def case_return(*, actor: User | None, case: Case, reason: str) -> Case:
    """Return (退单) a wrongly dispatched case with a reason; an operator reviews it."""
    require_perm(actor, "return")
    case = _lock(case)
    assignment = unit_assignment(case, actor, statuses=[A.DISPATCHED, A.ACCEPTED])
    text = check_text(reason, field="reason", label="退单理由", max_length=500, min_length=5)
    status_from, now = case.status, timezone.now()
    if assignment.role == AssignmentRole.LEAD:
        require_transition(case, "return")
        case.status = S.RETURNED
        save(case, ["status"])
    assignment.status, assignment.returned_at, assignment.return_reason = A.RETURNED, now, text
    assignment.save(update_fields=["status", "returned_at", "return_reason"])
    record(
        case,
        actor=actor,
        action="return",
        status_from=status_from,
        note=text,
        unit=assignment.unit,
        data={"role": assignment.role},
    )
    return case


def _lead_assignment(case: Case, statuses: Sequence[str]) -> Assignment:
    assignment = (
        case.assignments.filter(role=AssignmentRole.LEAD, status__in=statuses).order_by("-id").first()
    )
    if assignment is None:
        raise InvalidState("该工单没有符合条件的主办单位记录")
    return assignment


@transaction.atomic
def case_review_return(
    *, actor: User | None, case: Case, approve: bool, unit: Unit | None = None, note: str = ""
) -> Case:
    """Review a return: approve and re-dispatch to another unit, or reject and send it back to the same unit."""
    action = "approve_return" if approve else "reject_return"
    require_perm(actor, action)
    case = _lock(case)
    require_transition(case, action)
    returned = _lead_assignment(case, [A.RETURNED])
    text = check_text(note, field="note", label="审核意见", max_length=500, min_length=0 if approve else 2)
    status_from, now = case.status, timezone.now()
    if approve:
        if unit is None:
            raise ValidationFailed("同意退单须指定改派单位", details={"field": "unit"})
        if unit.pk == returned.unit_id:
            raise ValidationFailed("改派单位不能是退单单位", details={"field": "unit"})
        _check_units([unit])
        # The wrong dispatch is not the unit's fault: its assignment leaves the response rate.
        returned.status = A.WITHDRAWN
        returned.save(update_fields=["status"])
        _assign(case, unit, AssignmentRole.LEAD, now)
        case.lead_unit, case.dispatched_at = unit, now
        case.due_at = handling_due(now, case.sla_kind)
    else:
        returned.status = A.DISPATCHED
        returned.save(update_fields=["status"])
    case.status = S.DISPATCHED
    save(case, ["status", "lead_unit", "dispatched_at", "due_at"])
    record(
        case,
        actor=actor,
        action=action,
        status_from=status_from,
        note=text,
        unit=case.lead_unit,
        data={"returned_unit": returned.unit_id, "new_unit": unit.pk if approve and unit else None},
    )
    return case


@transaction.atomic
def case_start(*, actor: User | None, case: Case) -> Case:
    require_perm(actor, "start")
    case = _lock(case)
    unit_assignment(case, actor, statuses=[A.ACCEPTED], role=AssignmentRole.LEAD)
    require_transition(case, "start")
    status_from = case.status
    case.status = S.IN_PROGRESS
    save(case, ["status"])
    record(case, actor=actor, action="start", status_from=status_from, unit=case.lead_unit)
    return case


@transaction.atomic
def case_assist_note(*, actor: User | None, case: Case, note: str) -> Case:
    """An assisting unit reports what it did (协办反馈); the lead unit answers the citizen."""
    require_perm(actor, "assist_note")
    case = _lock(case)
    require_transition(case, "assist_note")
    assignment = unit_assignment(case, actor, statuses=[A.ACCEPTED], role=AssignmentRole.ASSIST)
    text = check_text(note, field="note", label="协办意见", max_length=2000, min_length=5)
    assignment.status, assignment.note, assignment.done_at = A.DONE, text, timezone.now()
    assignment.save(update_fields=["status", "note", "done_at"])
    record(case, actor=actor, action="assist_note", note=text, unit=assignment.unit)
    return case


def _follow_master(master: Case, actor: User | None) -> None:
    """Merged duplicates take the master's reply, so that every reporter is called back."""
    for dup in master.merged_cases.filter(status=S.MERGED):
        status_from = dup.status
        dup.status, dup.reply, dup.replied_at = S.REPLIED, master.reply, master.replied_at
        dup.replied_on_time, dup.lead_unit = master.replied_on_time, master.lead_unit
        save(dup, ["status", "reply", "replied_at", "replied_on_time", "lead_unit"])
        record(dup, actor=actor, action="merged_follow", status_from=status_from, note=master.number)


@transaction.atomic
def case_reply(*, actor: User | None, case: Case, reply: str) -> Case:
    """The lead unit answers the citizen (答复): who did what, the result, the basis in law or policy."""
    require_perm(actor, "reply")
    case = _lock(case)
    assignment = unit_assignment(case, actor, statuses=[A.ACCEPTED], role=AssignmentRole.LEAD)
    require_transition(case, "reply")
    text = check_text(reply, field="reply", label="答复内容", max_length=4000, min_length=10)
    status_from, now = case.status, timezone.now()
    case.status, case.reply, case.replied_at = S.REPLIED, text, now
    case.replied_on_time = case.due_at is None or now <= case.due_at
    case.is_due_soon = False
    save(case, ["status", "reply", "replied_at", "replied_on_time", "is_due_soon"])
    assignment.status, assignment.done_at = A.DONE, now
    assignment.save(update_fields=["status", "done_at"])
    Supervision.objects.filter(case=case, resolved_at__isnull=True).update(resolved_at=now)
    record(
        case,
        actor=actor,
        action="reply",
        status_from=status_from,
        note=text,
        unit=assignment.unit,
        data={"on_time": case.replied_on_time},
    )
    _follow_master(case, actor)
    return case


@transaction.atomic
def case_request_extension(*, actor: User | None, case: Case, working_days: int, reason: str) -> Extension:
    require_perm(actor, "request_extension")
    case = _lock(case)
    require_transition(case, "request_extension")
    assignment = unit_assignment(case, actor, statuses=[A.ACCEPTED], role=AssignmentRole.LEAD)
    limit = sla_setting("max_extension_working_days")
    if not 1 <= working_days <= limit:
        raise ValidationFailed(f"延长天数须在1到{limit}个工作日之间", details={"field": "working_days"})
    text = check_text(reason, field="reason", label="延期理由", max_length=500, min_length=5)
    if case.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise Conflict("已有待审批的延期申请")
    ext = Extension.objects.create(
        case=case, unit=assignment.unit, requested_by=actor, working_days=working_days, reason=text
    )
    record(
        case,
        actor=actor,
        action="request_extension",
        note=text,
        unit=assignment.unit,
        data={"extension": ext.pk, "working_days": working_days},
    )
    return ext


@transaction.atomic
def case_decide_extension(
    *, actor: User | None, extension: Extension, approve: bool, note: str = ""
) -> Extension:
    require_perm(actor, "decide_extension")
    case = _lock(extension.case)
    require_transition(case, "decide_extension")
    ext = Extension.objects.select_for_update().get(pk=extension.pk)
    if ext.status != ExtensionStatus.PENDING:
        raise InvalidState("该延期申请已审批")
    text = check_text(note, field="note", label="审批意见", max_length=500, min_length=0 if approve else 2)
    now = timezone.now()
    ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
    ext.decided_by, ext.decided_at, ext.decision_note = actor, now, text
    if approve and case.due_at is not None:
        ext.old_due_at = case.due_at
        ext.new_due_at = workcalendar.add_working_days(case.due_at, ext.working_days)
        case.due_at = ext.new_due_at
        case.is_overdue = now > case.due_at
        case.is_due_soon = False
        save(case, ["due_at", "is_overdue", "is_due_soon"])
    ext.save(
        update_fields=["status", "decided_by", "decided_at", "decision_note", "old_due_at", "new_due_at"]
    )
    record(
        case,
        actor=actor,
        action="decide_extension",
        note=text,
        unit=ext.unit,
        data={
            "extension": ext.pk,
            "approved": approve,
            "new_due_at": ext.new_due_at.isoformat() if ext.new_due_at else None,
        },
    )
    extension.refresh_from_db()
    return ext


@transaction.atomic
def case_callback(
    *,
    actor: User | None,
    case: Case,
    reached: bool,
    solved: bool | None = None,
    satisfaction: int | None = None,
    note: str = "",
    by_citizen: bool = False,
) -> Case:
    """Callback (回访): was it solved, how satisfied (1-5)? A citizen who cannot be reached closes it unrated.

    ``by_citizen``: the citizen rates it themself (portal, app); the caller has checked who they are."""
    if not by_citizen:
        require_perm(actor, "callback")
    case = _lock(case)
    require_transition(case, "callback")
    text = check_text(note, field="note", label="回访记录", max_length=500, min_length=0 if reached else 2)
    status_from, now = case.status, timezone.now()
    if reached:
        if solved is None or satisfaction is None:
            raise ValidationFailed("回访须记录是否解决和满意度", details={"field": "satisfaction"})
        if satisfaction not in (1, 2, 3, 4, 5):
            raise ValidationFailed("满意度须为1到5", details={"field": "satisfaction"})
        case.solved, case.satisfaction, case.satisfied = solved, satisfaction, satisfaction >= 4
        case.rated_at, case.rated_month = now, month_of(now)
    case.status, case.closed_at, case.callback_note = S.CLOSED, now, text
    save(
        case,
        [
            "status",
            "closed_at",
            "callback_note",
            "solved",
            "satisfaction",
            "satisfied",
            "rated_at",
            "rated_month",
        ],
    )
    record(
        case,
        actor=actor,
        action="callback",
        status_from=status_from,
        note=text,
        data={"reached": reached, "solved": solved, "satisfaction": satisfaction, "by_citizen": by_citizen},
    )
    return case


@transaction.atomic
def case_reopen(*, actor: User | None, case: Case, reason: str) -> Case:
    """Reopen (重办) after an unsatisfied or unsolved callback: back to the same lead unit with a new clock."""
    require_perm(actor, "reopen")
    case = _lock(case)
    require_transition(case, "reopen")
    if case.solved is not False and case.satisfied is not False:
        raise InvalidState("只有回访不满意或未解决的工单可以重办")
    if case.lead_unit is None:
        raise InvalidState("直接答复的工单须重新受理后派单")
    text = check_text(reason, field="reason", label="重办理由", max_length=500, min_length=5)
    status_from, now = case.status, timezone.now()
    previous = {
        "solved": case.solved,
        "satisfaction": case.satisfaction,
        "rated_at": case.rated_at.isoformat() if case.rated_at else None,
    }
    _assign(case, case.lead_unit, AssignmentRole.LEAD, now)
    case.status, case.dispatched_at, case.due_at = S.DISPATCHED, now, handling_due(now, case.sla_kind)
    case.reopen_count += 1
    # The final outcome counts: the earlier rating stays in the timeline, not in the rates.
    case.solved = case.satisfaction = case.satisfied = case.rated_at = case.rated_month = None
    case.replied_at = case.replied_on_time = case.closed_at = None
    case.is_overdue = case.is_due_soon = False
    save(
        case,
        [
            "status",
            "dispatched_at",
            "due_at",
            "reopen_count",
            "solved",
            "satisfaction",
            "satisfied",
            "rated_at",
            "rated_month",
            "replied_at",
            "replied_on_time",
            "closed_at",
            "is_overdue",
            "is_due_soon",
        ],
    )
    record(
        case,
        actor=actor,
        action="reopen",
        status_from=status_from,
        note=text,
        unit=case.lead_unit,
        data={"previous": previous},
    )
    return case


@transaction.atomic
def case_merge(*, actor: User | None, master: Case, duplicate: Case, note: str = "") -> Case:
    """Merge a duplicate (合并重复诉求) into a master case: it follows the master's outcome."""
    require_perm(actor, "merge")
    if master.pk == duplicate.pk:
        raise ValidationFailed("不能把工单合并到自身", details={"field": "master"})
    master = _lock(master)
    duplicate = _lock(duplicate)
    require_transition(duplicate, "merge")
    if master.status in (S.MERGED, S.CLOSED):
        raise InvalidState("主工单已合并或已办结，不能作为合并目标", details={"master_status": master.status})
    status_from = duplicate.status
    duplicate.assignments.exclude(status__in=[A.DONE, A.WITHDRAWN]).update(status=A.WITHDRAWN)
    duplicate.status, duplicate.merged_into, duplicate.lead_unit = S.MERGED, master, master.lead_unit
    save(duplicate, ["status", "merged_into", "lead_unit"])
    duplicate.related.add(master)
    record(
        duplicate,
        actor=actor,
        action="merge",
        status_from=status_from,
        note=note,
        data={"master": master.number},
    )
    record(master, actor=actor, action="merge", note=note, data={"duplicate": duplicate.number})
    if master.status in (S.REPLIED,):
        _follow_master(master, actor)
    duplicate.refresh_from_db()
    return duplicate


@transaction.atomic
def case_supervise(
    *, actor: User | None, case: Case, note: str, kind: str = SupervisionKind.MANUAL
) -> Supervision:
    """Supervise (督办) a case: the unit sees it marked; flagged cases stay on the supervisor's board."""
    require_perm(actor, "supervise")
    case = _lock(case)
    require_transition(case, "supervise")
    if kind not in SupervisionKind.values:
        raise ValidationFailed("督办类型不正确", details={"field": "kind"})
    text = check_text(note, field="note", label="督办意见", max_length=500, min_length=2)
    if Supervision.objects.filter(case=case, kind=kind, resolved_at__isnull=True).exists():
        raise Conflict("该工单已有同类未结束的督办")
    sup = Supervision.objects.create(case=case, kind=kind, note=text, unit=case.lead_unit, created_by=actor)
    if kind == SupervisionKind.FLAGGED and not case.flagged:
        case.flagged = True
        save(case, ["flagged"])
    record(case, actor=actor, action="supervise", note=text, unit=case.lead_unit, data={"kind": kind})
    return sup


@transaction.atomic
def case_link(*, actor: User | None, case: Case, other: Case) -> None:
    """Link related cases (关联工单), e.g. repeated complaints about the same matter (重复诉求)."""
    if actor is not None and not any(
        has_perm(actor, p) for p in ("hotline.merge", "hotline.supervise", "hotline.dispatch")
    ):
        raise PermissionDenied()
    if case.pk == other.pk:
        raise ValidationFailed("不能关联工单自身", details={"field": "other"})
    case.related.add(other)
    record(case, actor=actor, action="link", data={"other": other.number})
