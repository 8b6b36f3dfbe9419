"""``shizhi seed demo`` trains one classifier per task from the demo's cases, so the intake desk suggests from the
first call; seeding again changes nothing."""

import pytest

from shizhi.ai import runtime
from shizhi.ai.demo_data import _extend
from shizhi.ai.models import TrainedModel
from shizhi.ai.services import suggest
from shizhi.demo.registry import SeedOptions
from shizhi.hotline.models import Case
from shizhi.hotline.tests.factories import build_hotline_world, new_case

pytestmark = pytest.mark.django_db


def test_the_demo_trains_a_model_per_task_from_its_cases() -> None:
    hw = build_hotline_world()
    for i in range(12):
        new_case(hw, category="CX0102", title="停水", content=f"小区{i}号楼停水一整天了，自来水一直没有来")
        new_case(hw, category="CX0101", title="路灯不亮", content=f"幸福路{i}号门口的路灯坏了，晚上很黑")
        new_case(
            hw,
            category="ZC",
            demand_type="inquiry",
            title="咨询",
            content=f"请问第{i}批补贴怎么申请，要带什么材料",
        )
    assert Case.objects.count() == 36
    runtime.clear()
    outcome = _extend(SeedOptions(scale="small", seed=1))
    assert outcome.created
    active = TrainedModel.objects.filter(is_active=True)
    assert set(active.values_list("task", flat=True)) >= {"category", "demand_type"}
    assert "未训练" not in outcome.text or "unit" in outcome.text
    top = suggest("楼里停水了，水龙头没有水", tasks=["category"])["category"]
    assert top[0][0] == "CX0102"
    again = _extend(SeedOptions(scale="small", seed=1))
    assert not again.created and TrainedModel.objects.count() == active.count()
