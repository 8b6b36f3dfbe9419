"""Every workflow action x every role, and every action from every state: allowed moves change the case,
write a timeline entry and an audit event (and set deadlines where they start); refused ones raise the right
error and change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from shizhi.core.errors import InvalidState, PermissionDenied
from shizhi.core.models import AuditEvent
from shizhi.hotline import services
from shizhi.hotline.models import Case, CaseEvent, CaseStatus, Extension
from shizhi.hotline.tests.factories import HotlineWorld, build_hotline_world, new_case

pytestmark = pytest.mark.django_db

ROLES = [
    "admin",
    "operator",
    "dispatcher",
    "supervisor",
    "h_cgj",
    "l_cgj",
    "h_sthj",
    "grid",
    "citizen",
    "steward",
    "member",
]
REPLY = "已安排维修人员到场更换灯泡，路灯恢复正常。联系人：王工，电话0571-1234567。"


def to_received(hw: HotlineWorld) -> Case:
    return new_case(hw)


def to_dispatched(hw: HotlineWorld) -> Case:
    return services.case_dispatch(actor=hw.users["dispatcher"], case=to_received(hw), unit=hw.units["cgj"])


def to_accepted(hw: HotlineWorld) -> Case:
    return services.case_accept(actor=hw.users["h_cgj"], case=to_dispatched(hw))


def to_in_progress(hw: HotlineWorld) -> Case:
    return services.case_start(actor=hw.users["h_cgj"], case=to_accepted(hw))


def to_returned(hw: HotlineWorld) -> Case:
    return services.case_return(
        actor=hw.users["h_cgj"], case=to_dispatched(hw), reason="不属于本单位职责范围"
    )


def to_replied(hw: HotlineWorld) -> Case:
    return services.case_reply(actor=hw.users["h_cgj"], case=to_in_progress(hw), reply=REPLY)


def to_closed_unsatisfied(hw: HotlineWorld) -> Case:
    return services.case_callback(
        actor=hw.users["operator"], case=to_replied(hw), reached=True, solved=False, satisfaction=2
    )


def with_extension(hw: HotlineWorld) -> Case:
    case = to_in_progress(hw)
    services.case_request_extension(
        actor=hw.users["h_cgj"], case=case, working_days=3, reason="需协调电力部门更换线路"
    )
    return case


SETUP: dict[str, Callable[[HotlineWorld], Case]] = {
    "received": to_received,
    "dispatched": to_dispatched,
    "accepted": to_accepted,
    "in_progress": to_in_progress,
    "returned": to_returned,
    "replied": to_replied,
    "closed": to_closed_unsatisfied,
}


def do(action: str, hw: HotlineWorld, case: Case, actor: Any) -> Any:
    if action == "answer_directly":
        return services.case_answer_directly(
            actor=actor, case=case, reply="根据政策规定，您可以在社保中心窗口办理。"
        )
    if action == "dispatch":
        return services.case_dispatch(actor=actor, case=case, unit=hw.units["cgj"])
    if action == "accept":
        return services.case_accept(actor=actor, case=case)
    if action == "return":
        return services.case_return(actor=actor, case=case, reason="不属于本单位职责范围")
    if action == "approve_return":
        return services.case_review_return(actor=actor, case=case, approve=True, unit=hw.units["sthj"])
    if action == "reject_return":
        return services.case_review_return(
            actor=actor, case=case, approve=False, note="属于本单位职责，请办理"
        )
    if action == "start":
        return services.case_start(actor=actor, case=case)
    if action == "reply":
        return services.case_reply(actor=actor, case=case, reply=REPLY)
    if action == "request_extension":
        return services.case_request_extension(
            actor=actor, case=case, working_days=3, reason="需协调多个部门现场处置"
        )
    if action == "decide_extension":
        ext = Extension.objects.filter(case=case).first()
        if ext is None:  # a state without a pending request: make one the system way round
            ext = Extension(case=case, unit=hw.units["cgj"], working_days=3, reason="x")
        return services.case_decide_extension(actor=actor, extension=ext, approve=True, note="同意")
    if action == "supervise":
        return services.case_supervise(actor=actor, case=case, note="请加快办理")
    if action == "callback":
        return services.case_callback(actor=actor, case=case, reached=True, solved=True, satisfaction=5)
    if action == "reopen":
        return services.case_reopen(actor=actor, case=case, reason="市民反映问题仍未解决")
    if action == "merge":
        return services.case_merge(actor=actor, master=MASTERS[id(hw)], duplicate=case)
    raise AssertionError(action)


# action -> (the state it is tested from, the roles that may do it, the state it leads to)
MATRIX: dict[str, tuple[str, set[str], str | None]] = {
    "answer_directly": ("received", {"admin", "operator", "dispatcher"}, "replied"),
    "dispatch": ("received", {"admin", "dispatcher"}, "dispatched"),
    "accept": ("dispatched", {"h_cgj", "l_cgj"}, "accepted"),
    "return": ("dispatched", {"h_cgj", "l_cgj"}, "returned"),
    "approve_return": ("returned", {"admin", "dispatcher"}, "dispatched"),
    "reject_return": ("returned", {"admin", "dispatcher"}, "dispatched"),
    "start": ("accepted", {"h_cgj", "l_cgj"}, "in_progress"),
    "reply": ("in_progress", {"h_cgj", "l_cgj"}, "replied"),
    "request_extension": ("in_progress", {"h_cgj", "l_cgj"}, None),
    "decide_extension": ("extension", {"admin", "dispatcher", "supervisor"}, None),
    "supervise": ("in_progress", {"admin", "supervisor"}, None),
    "callback": ("replied", {"admin", "operator"}, "closed"),
    "reopen": ("closed", {"admin", "operator", "supervisor"}, "dispatched"),
    "merge": ("received", {"admin", "operator", "dispatcher"}, "merged"),
}


MASTERS: dict[int, Case] = {}


def prepare(action: str, hw: HotlineWorld) -> None:
    """What an action needs besides its case, made before the 'nothing changed' snapshot."""
    if action == "merge":
        MASTERS[id(hw)] = new_case(
            hw, title="同一路灯", content="幸福路路灯坏了好几天了。", citizen_phone="13900001111"
        )


def snapshot(case: Case) -> tuple[Any, ...]:
    fresh = Case.objects.get(pk=case.pk)
    return (
        fresh.status,
        fresh.due_at,
        fresh.lead_unit_id,
        fresh.reply,
        fresh.satisfaction,
        CaseEvent.objects.count(),
        AuditEvent.objects.count(),
        Extension.objects.filter(status="pending").count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRIX))
def test_role_matrix(action: str, role: str) -> None:
    hw = build_hotline_world()
    state, allowed, target = MATRIX[action]
    case = with_extension(hw) if state == "extension" else SETUP[state](hw)
    actor = hw.users[role]
    prepare(action, hw)
    events_before = CaseEvent.objects.filter(case=case).count()
    if role in allowed:
        do(action, hw, case, actor)
        fresh = Case.objects.get(pk=case.pk)
        if target is not None:
            assert fresh.status == target
        event = CaseEvent.objects.filter(case=fresh).order_by("-id").first()
        assert CaseEvent.objects.filter(case=fresh).count() > events_before
        assert event is not None and event.actor_id == actor.pk
        assert AuditEvent.objects.filter(
            object_type="hotline.case", object_id=str(fresh.pk), action=f"case.{event.action}", actor=actor
        ).exists()
    else:
        before = snapshot(case)
        with pytest.raises(PermissionDenied):
            do(action, hw, case, actor)
        assert snapshot(case) == before


ALL_STATES = ["received", "dispatched", "accepted", "in_progress", "returned", "replied", "closed"]
ACTOR_FOR = {
    "answer_directly": "operator",
    "dispatch": "dispatcher",
    "accept": "h_cgj",
    "return": "h_cgj",
    "approve_return": "dispatcher",
    "reject_return": "dispatcher",
    "start": "h_cgj",
    "reply": "h_cgj",
    "request_extension": "h_cgj",
    "supervise": "supervisor",
    "callback": "operator",
    "reopen": "operator",
    "merge": "operator",
}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", list(ACTOR_FOR))
def test_state_matrix(action: str, state: str) -> None:
    """Each action from each state: legal ones succeed, illegal ones are refused with invalid_state (or, for a
    unit whose part is not in the right state, with the same refusal) and change nothing."""
    hw = build_hotline_world()
    case = SETUP[state](hw)
    legal_from = services.TRANSITIONS[action][0]
    actor = hw.users[ACTOR_FOR[action]]
    prepare(action, hw)
    if state in legal_from:
        do(action, hw, case, actor)
        return
    before = snapshot(case)
    with pytest.raises((InvalidState, PermissionDenied)) as exc:
        do(action, hw, case, actor)
    assert snapshot(case) == before
    if isinstance(exc.value, PermissionDenied):
        # Only when the unit has no part at all in the case (merged away or never dispatched).
        assert state in ("received",) and action in (
            "accept",
            "return",
            "start",
            "reply",
            "request_extension",
        )


class TestDeadlines:
    def test_dispatch_sets_the_clocks_on_the_working_day_calendar(self, monkeypatch: Any) -> None:
        from zoneinfo import ZoneInfo

        from django.utils import timezone

        sh = ZoneInfo("Asia/Shanghai")
        friday = dt.datetime(2026, 2, 13, 17, 0, tzinfo=sh)  # before the Spring Festival
        monkeypatch.setattr(timezone, "now", lambda: friday)
        hw = build_hotline_world()
        case = services.case_dispatch(actor=hw.users["dispatcher"], case=new_case(hw), unit=hw.units["cgj"])
        assignment = case.assignments.get()
        assert assignment.accept_due_at == dt.datetime(2026, 2, 14, 10, 30, tzinfo=sh)  # make-up Saturday
        # 7 working days: 14 (Sat), 24, 25, 26, 27, 28 (Sat), Mar 2.
        assert case.due_at == dt.datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=sh)
        water = services.case_dispatch(
            actor=hw.users["dispatcher"],
            case=new_case(hw, category="CX0102", title="停水", citizen_phone="13812349999"),
            unit=hw.units["water"],
        )
        assert water.due_at == friday + dt.timedelta(hours=24)
        urgent = services.case_dispatch(
            actor=hw.users["dispatcher"],
            case=new_case(hw, urgency="urgent", title="燃气泄漏", citizen_phone="13812348888"),
            unit=hw.units["cgj"],
        )
        assert urgent.due_at == friday + dt.timedelta(hours=2)
        assert urgent.feedback_due_at == friday + dt.timedelta(hours=2)
        assert urgent.assignments.get().accept_due_at == friday + dt.timedelta(hours=2)

    def test_acceptance_on_time_and_late(self, monkeypatch: Any) -> None:
        from django.utils import timezone

        hw = build_hotline_world()
        case = to_dispatched(hw)
        due = case.assignments.get().accept_due_at
        monkeypatch.setattr(timezone, "now", lambda: due + dt.timedelta(minutes=1))
        services.case_accept(actor=hw.users["h_cgj"], case=case)
        assert case.assignments.get().accepted_on_time is False

    def test_extension_moves_the_deadline_by_working_days(self) -> None:
        hw = build_hotline_world()
        case = with_extension(hw)
        old_due = Case.objects.get(pk=case.pk).due_at
        ext = Extension.objects.get(case=case)
        services.case_decide_extension(actor=hw.users["supervisor"], extension=ext, approve=True)
        ext.refresh_from_db()
        from shizhi.core import workcalendar

        assert ext.old_due_at == old_due
        assert ext.new_due_at == workcalendar.add_working_days(old_due, 3)
        assert Case.objects.get(pk=case.pk).due_at == ext.new_due_at
        with pytest.raises(InvalidState):
            services.case_decide_extension(
                actor=hw.users["supervisor"], extension=ext, approve=False, note="重复"
            )


class TestMergeAndCoHandling:
    def test_merged_case_follows_its_master_and_each_reporter_is_called_back(self) -> None:
        hw = build_hotline_world()
        master = to_in_progress(hw)
        dup = new_case(hw, citizen_phone="13900002222", content="幸福路的路灯一直不亮，影响出行安全。")
        dup = services.case_merge(actor=hw.users["operator"], master=master, duplicate=dup)
        assert dup.status == CaseStatus.MERGED and dup.merged_into_id == master.pk
        services.case_reply(actor=hw.users["h_cgj"], case=master, reply=REPLY)
        dup.refresh_from_db()
        assert dup.status == CaseStatus.REPLIED and dup.reply == REPLY and dup.lead_unit == hw.units["cgj"]
        for c in (master, dup):
            services.case_callback(
                actor=hw.users["operator"], case=c, reached=True, solved=True, satisfaction=4
            )
        assert set(Case.objects.values_list("status", flat=True)) == {CaseStatus.CLOSED}

    def test_assisting_unit_accepts_and_reports_while_the_lead_answers(self) -> None:
        hw = build_hotline_world()
        case = services.case_dispatch(
            actor=hw.users["dispatcher"],
            case=new_case(hw),
            unit=hw.units["cgj"],
            assist_units=[hw.units["sthj"]],
        )
        services.case_accept(actor=hw.users["h_sthj"], case=case)
        assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPATCHED  # the lead has not accepted yet
        services.case_assist_note(
            actor=hw.users["h_sthj"], case=case, note="已配合现场查看，线路无环境问题。"
        )
        with pytest.raises(PermissionDenied):
            services.case_reply(actor=hw.users["h_sthj"], case=case, reply=REPLY)
        services.case_accept(actor=hw.users["h_cgj"], case=case)
        services.case_reply(actor=hw.users["h_cgj"], case=case, reply=REPLY)
        roles = dict(Case.objects.get(pk=case.pk).assignments.values_list("role", "status"))
        assert roles == {"lead": "done", "assist": "done"}

    def test_reopen_goes_back_to_the_lead_unit_with_a_new_clock_and_clears_the_rating(self) -> None:
        hw = build_hotline_world()
        case = to_closed_unsatisfied(hw)
        case = services.case_reopen(actor=hw.users["operator"], case=case, reason="市民反映仍然不亮")
        assert (case.status, case.reopen_count, case.satisfaction, case.rated_at) == (
            "dispatched",
            1,
            None,
            None,
        )
        assert case.assignments.filter(status="dispatched", unit=hw.units["cgj"]).count() == 1
        satisfied = to_replied(hw)
        satisfied = services.case_callback(
            actor=hw.users["operator"], case=satisfied, reached=True, solved=True, satisfaction=5
        )
        with pytest.raises(InvalidState):
            services.case_reopen(actor=hw.users["operator"], case=satisfied, reason="市民要求重办")
