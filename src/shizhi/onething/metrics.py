"""Before/after metrics of an item (减环节、减材料、减时限、减跑动), computed from its bundled matters.

"Before" is the applicant doing every matter separately, one after the other; "after" is the bundled item. The
rules (also in docs/onething.md):

- steps (环节): before = the sum of the matters' steps; after = the largest number of steps of any one matter
  (one application, one acceptance, one delivery: the departments' own review steps run behind the window, and
  the applicant's chain is as long as the longest single matter's).
- materials (材料): before = every material of every matter, counted once per matter that asks for it (shared
  certificates included: separately, each department asked for them); after = the one set of materials
  (一套材料): each material once, by key, without the ones the government already holds (免提交).
- time (时限, working days): before = the sum of the promised limits (done one after another); after = the
  critical path of the dependency graph (matters that do not depend on each other run in parallel). The same
  two numbers are given for the statutory limits.
- trips (跑动次数): before = the sum of the matters' trips; after = 0 when every matter can be done online
  (全程网办), else 1 (one visit to one window, 一窗受理).
- forms and fields (表单、字段): before = one form per matter that has fields, and all their fields; after = one
  merged form (一表申请) when there are fields at all, with each field once, by key.

A reduction is ``before - after`` and, when ``before`` is not zero, ``100 * (before - after) / before`` rounded to
one decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shizhi.onething.content import MatterSpec, material_set, merged_form, spec_of, topological_order
from shizhi.onething.models import ItemVersion


@dataclass(frozen=True)
class Reduction:
    before: int
    after: int

    @property
    def saved(self) -> int:
        return self.before - self.after

    @property
    def percent(self) -> float:
        return round(100.0 * self.saved / self.before, 1) if self.before else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "saved": self.saved, "percent": self.percent}


@dataclass(frozen=True)
class Metrics:
    matters: int
    steps: Reduction
    materials: Reduction
    shared_materials: int  # materials of the one set that need not be submitted (免提交)
    time_days: Reduction  # promised limits, working days
    statutory_days: Reduction
    trips: Reduction
    forms: Reduction
    fields: Reduction
    fully_online: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "matters": self.matters,
            "steps": self.steps.as_dict(),
            "materials": self.materials.as_dict(),
            "shared_materials": self.shared_materials,
            "time_days": self.time_days.as_dict(),
            "statutory_days": self.statutory_days.as_dict(),
            "trips": self.trips.as_dict(),
            "forms": self.forms.as_dict(),
            "fields": self.fields.as_dict(),
            "fully_online": self.fully_online,
        }


def critical_path(matters: Sequence[MatterSpec], *, statutory: bool = False) -> tuple[int, list[str]]:
    """Length in working days of the longest chain of dependent matters, and the codes along it."""
    finish: dict[str, int] = {}
    came_from: dict[str, str | None] = {}
    for m in topological_order(matters):
        days = m.statutory_days if statutory else m.promised_days
        start, prev = 0, None
        for d in m.depends_on:
            if prev is None or finish[d] > start:
                start, prev = finish[d], d
        finish[m.code] = start + days
        came_from[m.code] = prev
    if not finish:
        return 0, []
    end = max(finish, key=lambda c: finish[c])  # the first of equals, in dependency order
    path = []
    node: str | None = end
    while node is not None:
        path.append(node)
        node = came_from[node]
    return finish[end], list(reversed(path))


def start_offsets(matters: Sequence[MatterSpec]) -> dict[str, int]:
    """Earliest start of each matter, in working days after filing, when each takes its promised limit."""
    finish: dict[str, int] = {}
    start: dict[str, int] = {}
    for m in topological_order(matters):
        start[m.code] = max((finish[d] for d in m.depends_on), default=0)
        finish[m.code] = start[m.code] + m.promised_days
    return start


def compute(matters: Sequence[MatterSpec]) -> Metrics:
    materials = material_set(matters)
    form = merged_form(matters)
    fields_before = sum(len(m.fields) for m in matters)
    fully_online = bool(matters) and all(m.online for m in matters)
    return Metrics(
        matters=len(matters),
        steps=Reduction(sum(m.steps for m in matters), max((m.steps for m in matters), default=0)),
        materials=Reduction(sum(len(m.materials) for m in matters), sum(1 for e in materials if e.to_submit)),
        shared_materials=sum(1 for e in materials if not e.to_submit),
        time_days=Reduction(sum(m.promised_days for m in matters), critical_path(matters)[0]),
        statutory_days=Reduction(
            sum(m.statutory_days for m in matters), critical_path(matters, statutory=True)[0]
        ),
        trips=Reduction(sum(m.trips for m in matters), 0 if fully_online or not matters else 1),
        forms=Reduction(sum(1 for m in matters if m.fields), 1 if form else 0),
        fields=Reduction(fields_before, len(form)),
        fully_online=fully_online,
    )


def version_specs(version: ItemVersion) -> list[MatterSpec]:
    """The version's matters as specs, in their order (uses a prefetched ``matters`` when there is one)."""
    return [spec_of(m) for m in version.matters.all()]


def version_metrics(version: ItemVersion) -> Metrics:
    return compute(version_specs(version))
