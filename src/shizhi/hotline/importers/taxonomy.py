"""A category taxonomy from a sheet with columns 一级分类, 二级分类, 三级分类, merged by name with the stored
one, and labels (一级标签) matched to categories."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from shizhi.core.errors import ValidationFailed
from shizhi.hotline.importers.tables import Table, one_line
from shizhi.hotline.models import Category, SlaKind
from shizhi.hotline.services.catalogue import CategoryRow

# ------------------------------------------------------------------------------------------------ taxonomy

UTILITY_WORDS = ("供水", "供电", "燃气", "供暖", "供热", "停水", "停电", "停气")
_LEVEL_COLUMN = re.compile(r"^([一二三四五六])级(分类|类别|标签)?$|^level\s*(\d)$", re.IGNORECASE)
_LEVELS = "一二三四五六"


def sla_kind_for(name: str) -> str:
    """Water, power, gas and heating (水电气热) are answered within 24 hours: the one rule, by keyword."""
    return SlaKind.UTILITY if any(w in name for w in UTILITY_WORDS) else SlaKind.GENERAL


def taxonomy_paths(table: Table) -> list[tuple[str, ...]]:
    """Name paths from columns 一级分类, 二级分类, 三级分类 (or level1..): one path per row, blanks end it."""
    levels: dict[int, int] = {}
    for i, name in enumerate(table.header):
        m = _LEVEL_COLUMN.match(name)
        if m:
            levels[(_LEVELS.index(m[1]) + 1) if m[1] else int(m[3])] = i
    if 1 not in levels:
        raise ValidationFailed("缺少“一级分类”列", details={"row": 1, "column": "一级分类"})
    order = [levels[k] for k in sorted(levels)]
    paths = []
    for _, cells in table.rows:
        path: list[str] = []
        for i in order:
            name = one_line(cells[i] if i < len(cells) else None)
            if not name:
                break
            path.append(name)
        if path:
            paths.append(tuple(path))
    return paths


@dataclass
class TaxonomyPlan:
    rows: list[CategoryRow]  # the new nodes, parents first
    existing: int  # nodes of the file already present (kept as they are)
    new_by_level: dict[int, int] = field(default_factory=dict)
    codes: dict[tuple[str, ...], str] = field(default_factory=dict)  # every path of the file -> its code


def plan_taxonomy(paths: Sequence[tuple[str, ...]], *, prefix: str = "C") -> TaxonomyPlan:
    """Merge name paths into the stored taxonomy by name: existing nodes are kept; each new node gets the
    next free code under its parent, in order of first appearance (``C01``, ``C0103``, ``C010305``), so the
    same file on the same database always gives the same codes."""
    children: dict[int | str | None, dict[str, str]] = {}  # parent key -> child name -> code
    taken: set[str] = set()
    for code, name, parent_code in Category.objects.values_list("code", "name", "parent__code"):
        children.setdefault(parent_code, {})[name] = code
        taken.add(code)
    plan = TaxonomyPlan(rows=[], existing=0)
    seen: set[tuple[str, ...]] = set()
    for path in paths:
        parent: str | None = None
        for depth in range(1, len(path) + 1):
            name = path[depth - 1][:64]
            here = children.setdefault(parent, {})
            if name in here:
                if path[:depth] not in seen:
                    seen.add(path[:depth])
                    plan.existing += 1
                parent = plan.codes[path[:depth]] = here[name]
                continue
            seen.add(path[:depth])
            base = parent if parent is not None else prefix
            n = len(here) + 1
            while f"{base}{n:02d}" in taken:
                n += 1
            code = f"{base}{n:02d}"
            taken.add(code)
            here[name] = plan.codes[path[:depth]] = code
            plan.rows.append(
                CategoryRow(code=code, name=name, parent_code=parent, sla_kind=sla_kind_for(name))
            )
            plan.new_by_level[depth] = plan.new_by_level.get(depth, 0) + 1
            parent = code
    return plan


class CategoryMatcher:
    """A label (一级标签 ``城乡建设``, a path ``城乡建设/市政设施``, or a multi-label ``劳动和社会保障|城乡建设``)
    to a category: the exact name at any level (the shallowest when a name repeats), else the full path,
    else the first part of a multi-label that names a top-level category."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Category]] = {}
        self.by_full: dict[str, Category] = {}
        for c in Category.objects.filter(is_active=True).order_by("level", "path"):
            self.by_name.setdefault(c.name, []).append(c)
            self.by_full[re.sub(r"\s*/\s*", "/", c.full_name)] = c

    def match(self, label: str) -> Category:
        label = one_line(label)
        found = self.by_name.get(label)
        if found:
            shallowest = [c for c in found if c.level == found[0].level]
            if len(shallowest) > 1:
                raise ValueError(
                    f"分类“{label}”不唯一（{'；'.join(c.full_name for c in shallowest[:3])}），请写完整路径"
                )
            return found[0]
        path = re.sub(r"\s*[/>＞]\s*", "/", label)
        if path in self.by_full:
            return self.by_full[path]
        for part in re.split(r"[|｜、,，;；]", label):
            tops = [c for c in self.by_name.get(part.strip(), []) if c.level == 1]
            if tops:
                return tops[0]
        raise ValueError(f"未找到分类“{label[:30]}”")
