"""``shizhi seed onething`` (the national reference list, idempotent) and the plain-words search."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from shizhi.core import services as core_services
from shizhi.core.models import AuditEvent
from shizhi.onething import search
from shizhi.onething import selectors as sel
from shizhi.onething.models import Item, ItemVersion, VersionStatus
from shizhi.onething.reference import ITEMS
from shizhi.onething.seed import seed_reference
from shizhi.onething.tests.factories import counts

pytestmark = pytest.mark.django_db


def test_reference_data_is_valid_and_first_batch() -> None:
    assert len(ITEMS) == 13
    assert len({i["code"] for i in ITEMS}) == 13
    assert {i["batch"] for i in ITEMS} == {"2024-1"}
    names = [i["name"] for i in ITEMS]
    assert "新生儿出生一件事" in names and "身后一件事" in names and "企业破产信息核查一件事" in names
    assert all(m["is_demo"] for i in ITEMS for m in i["matters"])


def test_seed_publishes_version_1_and_is_idempotent() -> None:
    report = seed_reference()
    assert len(report.created) == 13 and report.relinked == []
    assert ItemVersion.objects.filter(status=VersionStatus.PUBLISHED, number=1).count() == 13
    assert all(v.is_demo for v in ItemVersion.objects.all())
    baby = sel.published_item("GJ2024-01")
    assert baby.name == "新生儿出生一件事"
    assert [m.code for m in baby.matters.all()] == ["CS-01", "CS-02", "CS-03", "CS-04", "CS-05"]
    assert all(m.unit_id is None for m in baby.matters.all())  # no city units yet
    before = counts()
    again = seed_reference()
    assert again.created == [] and again.relinked == [] and len(again.unchanged) == 13
    assert counts() == before
    assert "未作改动" in again.summary()


def test_seed_links_units_that_appear_later() -> None:
    seed_reference()
    core_services.units_import(
        actor=None,
        rows=[
            core_services.UnitRow(code=code, name=name, kind="department")
            for code, name in (("dept-wjw", "市卫生健康委员会"), ("dept-gaj", "市公安局"))
        ],
    )
    report = seed_reference()
    # items with a matter of the health commission or the police get v2 with the units linked
    assert set(report.relinked) == {
        "GJ2024-01",
        "GJ2024-02",
        "GJ2024-04",
        "GJ2024-06",
        "GJ2024-07",
        "GJ2024-13",
    }
    baby = sel.published_item("GJ2024-01")
    assert baby.number == 2 and baby.lead_unit is not None and baby.lead_unit.code == "dept-wjw"
    assert {m.code: (m.unit.code if m.unit else None) for m in baby.matters.all()} == {
        "CS-01": "dept-wjw",
        "CS-02": "dept-wjw",
        "CS-03": "dept-gaj",
        "CS-04": None,
        "CS-05": None,
    }
    assert ItemVersion.objects.get(item__code="GJ2024-01", number=1).status == VersionStatus.SUPERSEDED
    before = counts()
    assert seed_reference().relinked == []
    assert counts() == before


def test_seed_command() -> None:
    call_command("seed", "onething")
    assert Item.objects.count() == 13
    assert AuditEvent.objects.filter(action="onething.version.publish").count() == 13


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("孩子出生要办什么", "新生儿出生一件事"),
        ("生孩子了怎么上户口", "新生儿出生一件事"),
        ("孩子上小学报名", "教育入学一件事"),
        ("社保卡坐公交", "社会保障卡居民服务“一卡通”一件事"),
        ("我要退休了", "退休一件事"),
        ("家里老人去世了要办哪些手续", "身后一件事"),
        ("想开个饭店", "开办餐饮店一件事"),
        ("公司改名", "企业信息变更一件事"),
        ("新建厂房接水通电", "水电气网联合报装一件事"),
        ("失信了怎么修复", "信用修复一件事"),
    ],
)
def test_plain_words_search(query: str, first: str) -> None:
    seed_reference()
    found = sel.published_items(sel.ItemFilters(q=query))
    assert found, query
    assert found[0].name == first


def test_search_without_meaningful_words_finds_nothing() -> None:
    seed_reference()
    assert sel.published_items(sel.ItemFilters(q="要办什么")) == []
    assert sel.published_items(sel.ItemFilters(q="火星移民")) == []
    assert search.query_terms("孩子出生要办什么") >= {"孩子", "出生", "新生", "生儿"}
