"""The category taxonomy (诉求分类), the dispatch catalogue (派单目录) and the knowledge base (知识库)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from shizhi.core.audit import audit_record
from shizhi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, Unit, UnitKind, User
from shizhi.core.permissions import has_perm
from shizhi.core.text import check_text
from shizhi.hotline.models import Case, Category, DispatchRule, KnowledgeArticle, SlaKind

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def _require(actor: User | None, permission: str) -> None:
    if actor is not None and not has_perm(actor, permission):
        raise PermissionDenied()


@dataclass
class CategoryRow:
    code: str
    name: str
    parent_code: str | None = None
    sla_kind: str = SlaKind.GENERAL
    keywords: str = ""
    description: str = ""


@transaction.atomic
def categories_import(*, actor: User | None, rows: Sequence[CategoryRow]) -> int:
    """Create categories (parents first, in the same batch or existing). All or nothing."""
    _require(actor, "hotline.manage_catalogue")
    codes = [r.code for r in rows]
    if len(set(codes)) != len(codes):
        raise Conflict("导入数据中有重复的分类编码", details={"field": "code"})
    taken = list(Category.objects.filter(code__in=codes).values_list("code", flat=True)[:20])
    if taken:
        raise Conflict("分类编码已存在", details={"codes": taken})
    known = {
        c.code: c for c in Category.objects.filter(code__in={r.parent_code for r in rows if r.parent_code})
    }
    created = 0
    for i, row in enumerate(rows):
        if not _CODE.match(row.code or ""):
            raise ValidationFailed(
                "分类编码只能由字母、数字和 _ . - 组成", details={"row": i + 1, "field": "code"}
            )
        name = check_text(row.name, field="name", label="分类名称", max_length=64)
        if row.sla_kind not in SlaKind.values:
            raise ValidationFailed("时限类别不正确", details={"row": i + 1, "field": "sla_kind"})
        parent = known.get(row.parent_code) if row.parent_code else None
        if row.parent_code and parent is None:
            raise ValidationFailed(
                "上级分类不存在（须排在下级之前）", details={"row": i + 1, "field": "parent_code"}
            )
        if Category.objects.filter(parent=parent, name=name).exists():
            raise Conflict(f"同一上级下已有分类“{name}”", details={"row": i + 1, "field": "name"})
        category = Category.objects.create(
            code=row.code,
            name=name,
            parent=parent,
            level=(parent.level + 1) if parent else 1,
            path=(parent.path if parent else "/") + row.code + "/",
            full_name=f"{parent.full_name} / {name}" if parent else name,
            sla_kind=row.sla_kind if row.sla_kind != SlaKind.GENERAL or parent is None else parent.sla_kind,
            keywords=row.keywords,
            description=row.description,
            sort=i,
        )
        known[row.code] = category
        created += 1
    audit_record(
        actor=actor, action="category.import", object_type="hotline.category", changes={"count": created}
    )
    return created


@transaction.atomic
def category_update(
    *,
    actor: User | None,
    category: Category,
    name: str | None = None,
    sla_kind: str | None = None,
    keywords: str | None = None,
    is_active: bool | None = None,
) -> Category:
    _require(actor, "hotline.manage_catalogue")
    changes: dict[str, list[object]] = {}
    if name is not None:
        name = check_text(name, field="name", label="分类名称", max_length=64)
        if Category.objects.filter(parent=category.parent, name=name).exclude(pk=category.pk).exists():
            raise Conflict(f"同一上级下已有分类“{name}”", details={"field": "name"})
        changes["name"] = [category.name, name]
        category.name = name
        category.full_name = f"{category.parent.full_name} / {name}" if category.parent else name
    if sla_kind is not None:
        if sla_kind not in SlaKind.values:
            raise ValidationFailed("时限类别不正确", details={"field": "sla_kind"})
        changes["sla_kind"] = [category.sla_kind, sla_kind]
        category.sla_kind = sla_kind
    if keywords is not None:
        changes["keywords"] = [category.keywords, keywords[:255]]
        category.keywords = keywords[:255]
    if is_active is not None:
        changes["is_active"] = [category.is_active, is_active]
        category.is_active = is_active
    category.save()
    if "name" in changes:  # children's full names follow
        for child in (
            Category.objects.filter(path__startswith=category.path).exclude(pk=category.pk).order_by("level")
        ):
            parent = Category.objects.get(pk=child.parent_id or 0)
            child.full_name = f"{parent.full_name} / {child.name}"
            child.save(update_fields=["full_name"])
    audit_record(actor=actor, action="category.update", obj=category, changes=changes)
    return category


# ---------------------------------------------------------------------------------------------- dispatch catalogue


@transaction.atomic
def dispatch_rule_create(
    *,
    actor: User | None,
    category: Category,
    area: Area | None = None,
    unit: Unit | None = None,
    to_street: bool = False,
    note: str = "",
) -> DispatchRule:
    _require(actor, "hotline.manage_catalogue")
    if to_street == (unit is not None):
        raise ValidationFailed(
            "须指定承办单位，或选择派往属地街道乡镇（二者选一）", details={"field": "unit"}
        )
    if unit is not None and not unit.is_active:
        raise ValidationFailed("该单位已停用", details={"field": "unit"})
    if DispatchRule.objects.filter(category=category, area=area).exists():
        raise Conflict("该分类在该区域已有派单规则", details={"field": "category"})
    rule = DispatchRule.objects.create(
        category=category, area=area, unit=unit, target="street" if to_street else "unit", note=note[:200]
    )
    audit_record(
        actor=actor,
        action="dispatch_rule.create",
        obj=rule,
        changes={
            "category": [None, category.code],
            "area": [None, area.code if area else None],
            "unit": [None, unit.code if unit else "street"],
        },
    )
    return rule


@transaction.atomic
def dispatch_rule_delete(*, actor: User | None, rule: DispatchRule) -> None:
    _require(actor, "hotline.manage_catalogue")
    audit_record(actor=actor, action="dispatch_rule.delete", obj=rule, changes={"unit": [rule.unit_id, None]})
    rule.delete()


def street_unit(street: Area | None) -> Unit | None:
    """The street office or township government responsible for a street/township (属地)."""
    if street is None:
        return None
    return (
        Unit.objects.filter(
            area=street, is_active=True, kind__in=[UnitKind.STREET_OFFICE, UnitKind.TOWNSHIP_GOVERNMENT]
        )
        .order_by("code")
        .first()
    )


def district_unit(district: Area | None) -> Unit | None:
    if district is None:
        return None
    return (
        Unit.objects.filter(area=district, is_active=True, kind=UnitKind.DISTRICT_GOVERNMENT)
        .order_by("code")
        .first()
    )


@dataclass
class Suggestion:
    unit: Unit | None
    rule: DispatchRule | None
    reason: str


def suggest_unit(case: Case) -> Suggestion:
    """The unit the dispatch catalogue names for this case: the most specific rule (deepest category, then
    deepest area containing the case); with no rule, the district government (区兜底)."""
    return suggest_units([case])[case.pk]


def suggest_units(cases: Sequence[Case]) -> dict[int, Suggestion]:
    """``suggest_unit`` for many cases at once (a dispatcher's queue): the catalogue, the street offices and the
    district governments are read once (three queries), not per case."""
    codes = {code for c in cases for code in c.category_path.strip("/").split("/") if code}
    rules = list(
        DispatchRule.objects.filter(category__code__in=codes).select_related("category", "area", "unit")
    )
    street_units: dict[int, Unit] = {}
    for u in Unit.objects.filter(
        area_id__in={c.street_id for c in cases if c.street_id},
        is_active=True,
        kind__in=[UnitKind.STREET_OFFICE, UnitKind.TOWNSHIP_GOVERNMENT],
    ).order_by("-code"):
        street_units[u.area_id or 0] = u  # the first by code wins (reverse order)
    district_units: dict[int, Unit] = {}
    for u in Unit.objects.filter(
        area_id__in={c.district_id for c in cases if c.district_id},
        is_active=True,
        kind=UnitKind.DISTRICT_GOVERNMENT,
    ).order_by("-code"):
        district_units[u.area_id or 0] = u
    out: dict[int, Suggestion] = {}
    for case in cases:
        paths = {p for p in case.category_path.strip("/").split("/") if p}
        ranked = sorted(
            (
                r
                for r in rules
                if r.category.code in paths
                and (r.area is None or bool(case.area_path and case.area_path.startswith(r.area.path)))
            ),
            key=lambda r: (-r.category.level, -(r.area.level if r.area else 0), r.pk),
        )
        suggestion = None
        for rule in ranked:
            unit = street_units.get(case.street_id or 0) if rule.target == "street" else rule.unit
            if unit is not None and unit.is_active:
                suggestion = Suggestion(unit=unit, rule=rule, reason=f"派单目录：{rule.category.full_name}")
                break
        if suggestion is None:
            fallback = district_units.get(case.district_id or 0)
            suggestion = (
                Suggestion(unit=fallback, rule=None, reason="派单目录无对应规则，由区县政府兜底")
                if fallback is not None
                else Suggestion(unit=None, rule=None, reason="无法确定承办单位，请人工派单")
            )
        out[case.pk] = suggestion
    return out


# ---------------------------------------------------------------------------------------------- knowledge base


@transaction.atomic
def knowledge_save(
    *,
    actor: User | None,
    article: KnowledgeArticle | None = None,
    title: str,
    answer: str,
    question: str = "",
    category: Category | None = None,
    keywords: str = "",
    source: str = "",
    is_published: bool = True,
) -> KnowledgeArticle:
    _require(actor, "hotline.manage_knowledge")
    values = {
        "title": check_text(title, field="title", label="标题", max_length=200),
        "answer": check_text(answer, field="answer", label="答复口径", max_length=8000, min_length=5),
        "question": check_text(question, field="question", label="常见问法", max_length=4000, min_length=0),
        "keywords": check_text(keywords, field="keywords", label="关键词", max_length=255, min_length=0),
        "source": check_text(source, field="source", label="依据", max_length=200, min_length=0),
        "category": category,
        "is_published": is_published,
    }
    created = article is None
    if article is None:
        article = KnowledgeArticle(**values)
    else:
        for k, v in values.items():
            setattr(article, k, v)
    article.updated_at = timezone.now()
    article.save()
    audit_record(
        actor=actor,
        action="knowledge.create" if created else "knowledge.update",
        obj=article,
        changes={"title": [None, article.title]},
    )
    return article


def knowledge_get(article_id: int) -> KnowledgeArticle:
    article = KnowledgeArticle.objects.filter(pk=article_id).first()
    if article is None:
        raise NotFound("知识库条目")
    return article
