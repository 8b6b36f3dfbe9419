"""``shizhi seed onething``: the national 一件事 reference list (``reference.ITEMS``), each item published as
version 1 for the platform's city, its matters linked to the city's units where they exist.

Idempotent: an item already there is left as it is. The one exception is linking: when a unit named by the
reference data has appeared since (the demo city was seeded after the list), the item gets a new published
version that links it, recorded in its change log; a second run then changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from shizhi.core.models import Area, AreaLevel, Unit
from shizhi.demo.registry import Dataset, SeedOptions, SeedOutcome, register
from shizhi.onething import services
from shizhi.onething.models import Item, ItemVersion, VersionStatus
from shizhi.onething.reference import ITEMS

DATASET = "onething"


def register_seed() -> None:
    register(
        Dataset(
            DATASET,
            "高效办成一件事：国家重点事项清单（2024年第一批13项，所含事项为示例内容），发布为本市清单",
            _run,
        )
    )


def _run(options: SeedOptions) -> SeedOutcome:
    report = seed_reference()
    return SeedOutcome(created=report.changed, text=report.summary())


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    relinked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.relinked)

    def summary(self) -> str:
        if not self.changed:
            return f"一件事清单已存在，未作改动（{len(self.unchanged)}项）。"
        parts = [f"一件事清单：新发布{len(self.created)}项"]
        if self.relinked:
            parts.append(f"关联承办单位并发布新版本{len(self.relinked)}项")
        if self.unchanged:
            parts.append(f"未改动{len(self.unchanged)}项")
        return "，".join(parts) + "。"


def _content(spec: dict[str, Any], units: dict[str, int]) -> dict[str, Any]:
    lead_name, lead_code = spec["lead"]
    matters = []
    for m in spec["matters"]:
        m = dict(m)
        code = m.pop("unit_code")
        m["unit_id"] = units.get(code) if code else None
        matters.append(m)
    return {
        "name": spec["name"],
        "summary": spec["summary"],
        "keywords": spec["keywords"],
        "lead_department_name": lead_name,
        "lead_unit_id": units.get(lead_code) if lead_code else None,
        "supporting_departments": spec["supporting"],
        "legal_basis": spec["legal_basis"],
        "is_demo": True,
        "matters": matters,
    }


@transaction.atomic
def seed_reference() -> SeedReport:
    report = SeedReport()
    codes = {m["unit_code"] for s in ITEMS for m in s["matters"] if m["unit_code"]} | {
        s["lead"][1] for s in ITEMS if s["lead"][1]
    }
    units = dict(Unit.objects.filter(code__in=codes).values_list("code", "pk"))
    city = Area.objects.filter(level=AreaLevel.CITY).order_by("code").first()
    for spec in ITEMS:
        content = _content(spec, units)
        item = Item.objects.filter(code=spec["code"]).first()
        if item is None:
            version = services.item_create(
                actor=None,
                code=spec["code"],
                subject=spec["subject"],
                stage=spec["stage"],
                level=spec["level"],
                batch=spec["batch"],
                area=city,
                sort=spec["sort"],
                content=content,
            )
            services.version_submit(actor=None, version=version, note="国家重点事项清单参考数据")
            services.version_publish(actor=None, version=version, note="国家重点事项清单参考数据")
            report.created.append(spec["code"])
        elif _relink(item, content):
            report.relinked.append(spec["code"])
        else:
            report.unchanged.append(spec["code"])
    return report


def _relink(item: Item, content: dict[str, Any]) -> bool:
    """Publish a version that links units that exist now but were missing when the item was published."""
    published = ItemVersion.objects.filter(item=item, status=VersionStatus.PUBLISHED).first()
    if (
        published is None
        or item.versions.filter(status__in=[VersionStatus.DRAFT, VersionStatus.IN_REVIEW]).exists()
    ):
        return False
    wanted = {m["code"]: m["unit_id"] for m in content["matters"]}
    matters = list(published.matters.order_by("sort", "id"))
    gaps = [m for m in matters if m.unit_id is None and wanted.get(m.code)]
    lead_gap = published.lead_unit_id is None and content["lead_unit_id"] is not None
    if not gaps and not lead_gap:
        return False
    from shizhi.onething.content import spec_of

    new_matters = []
    for m in matters:
        d = spec_of(m).as_dict()
        if d["unit_id"] is None and wanted.get(m.code):
            d["unit_id"] = wanted[m.code]
        new_matters.append(d)
    draft = services.version_draft(actor=None, item=item, note="关联本市承办单位")
    changes: dict[str, Any] = {"matters": new_matters, "change_note": "关联本市承办单位"}
    if lead_gap:
        changes["lead_unit_id"] = content["lead_unit_id"]
    services.version_update(actor=None, version=draft, content=changes)
    services.version_submit(actor=None, version=draft)
    services.version_publish(actor=None, version=draft, note="关联本市承办单位")
    return True
