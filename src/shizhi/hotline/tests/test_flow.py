import datetime as dt

import pytest
from django.utils import timezone

from shizhi.core.models import AuditEvent
from shizhi.hotline import rates, services
from shizhi.hotline.models import AssignmentStatus, CaseStatus
from shizhi.hotline.tests.factories import build_hotline_world, new_case

pytestmark = pytest.mark.django_db


def test_the_whole_loop_from_intake_to_callback_and_the_rates() -> None:
    hw = build_hotline_world()
    u = hw.users
    case = new_case(hw)
    assert case.status == CaseStatus.RECEIVED and case.number.endswith("00001")
    assert (case.grid.code, case.street.code, case.district.code) == (
        "331202001001001",
        "331202001000",
        "331202000000",
    )
    suggestion = services.suggest_unit(case)
    assert suggestion.unit == hw.units["cgj"]
    case = services.case_dispatch(actor=u["dispatcher"], case=case, unit=suggestion.unit)
    assert case.status == CaseStatus.DISPATCHED and case.due_at is not None
    case = services.case_accept(actor=u["h_cgj"], case=case)
    case = services.case_start(actor=u["h_cgj"], case=case)
    case = services.case_reply(
        actor=u["h_cgj"],
        case=case,
        reply="已于今日更换灯泡，经现场检查路灯恢复正常。联系人：王工 0571-1234567",
    )
    assert case.status == CaseStatus.REPLIED and case.replied_on_time is True
    case = services.case_callback(actor=u["operator"], case=case, reached=True, solved=True, satisfaction=5)
    assert case.status == CaseStatus.CLOSED and case.satisfied is True
    assert [e.action for e in case.events.order_by("id")] == [
        "create",
        "dispatch",
        "accept",
        "start",
        "reply",
        "callback",
    ]
    assert AuditEvent.objects.filter(object_type="hotline.case", object_id=str(case.pk)).count() == 6
    month = case.rated_month
    result = rates.compute_rates(actor=u["supervisor"], period=rates.Period.months(month), group="unit")
    cgj = next(r for r in result if r.key == hw.units["cgj"].pk)
    assert (cgj.dispatched, cgj.accepted_on_time, cgj.rated, cgj.solved, cgj.satisfied) == (1, 1, 1, 1, 1)
    assert cgj.composite == 100.0


def test_catalogue_most_specific_rule_and_district_fallback() -> None:
    hw = build_hotline_world()
    noise_urban = new_case(hw, category="HJ01", title="夜间施工噪声")
    assert services.suggest_unit(noise_urban).unit == hw.units["jcnj"]  # street office of the case's street
    noise_county = new_case(
        hw, category="HJ01", at=(120.35, 30.18), title="夜间施工噪声", citizen_phone="13812340000"
    )
    assert services.suggest_unit(noise_county).unit == hw.units["sthj"]  # HJ rule, no county rule
    policy = new_case(hw, category="ZC", title="咨询社保", at=(120.35, 30.18), citizen_phone="13812340001")
    s = services.suggest_unit(policy)
    assert s.unit == hw.units["ljx"] and s.rule is None  # 区兜底


def test_return_review_and_response_rate_exclusion() -> None:
    hw = build_hotline_world()
    u = hw.users
    case = new_case(hw)
    case = services.case_dispatch(actor=u["dispatcher"], case=case, unit=hw.units["sthj"])
    case = services.case_return(actor=u["h_sthj"], case=case, reason="路灯不属于生态环境局职责")
    assert case.status == CaseStatus.RETURNED
    case = services.case_review_return(actor=u["dispatcher"], case=case, approve=True, unit=hw.units["cgj"])
    assert case.status == CaseStatus.DISPATCHED and case.lead_unit == hw.units["cgj"]
    statuses = dict(case.assignments.values_list("unit__code", "status"))
    assert statuses == {"sthj": AssignmentStatus.WITHDRAWN, "cgj": AssignmentStatus.DISPATCHED}


def test_sweep_marks_overdue_once() -> None:
    hw = build_hotline_world()
    case = new_case(hw)
    case = services.case_dispatch(actor=hw.users["dispatcher"], case=case, unit=hw.units["cgj"])
    later = case.due_at + dt.timedelta(minutes=1)
    first = services.sla_sweep(now=later)
    second = services.sla_sweep(now=later)
    assert (first.newly_overdue, first.supervisions) == (1, 1)
    assert (second.newly_overdue, second.supervisions) == (0, 0)
    case.refresh_from_db()
    assert case.is_overdue and case.supervisions.count() == 1
    assert timezone.now() < later
