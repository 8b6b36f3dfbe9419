"""The classifiers' suggestions (智能推荐) where hotline staff work: the intake desk shows the likely category,
demand type and unit while the operator types; what the operator and the dispatcher finally chose is recorded
against what was suggested (``ai.services.record_choice``), so that retraining from cases learns from every
override. The API's clients do the same with ``POST /api/v1/ai/suggest`` and ``ai_suggestions`` on
``POST /api/v1/cases``.

Assistance never blocks work: without an active model the lists are empty, and a failure to record a choice is
logged, not shown."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shizhi.core.errors import ApplicationError
from shizhi.core.models import Unit, User
from shizhi.core.permissions import has_perm
from shizhi.hotline.models import Case, Category, DemandType

log = logging.getLogger("shizhi.hotline.ai")
TASKS = ("category", "demand_type", "unit")


@dataclass
class Pick:
    """One suggested label as the desk shows it: its words, its probability, and the form value it sets."""

    label: str
    name: str
    percent: int
    value: str = ""  # the category code or demand type the button puts in the form ("" = not selectable)


def _category_for(label: str) -> Category | None:
    return (
        Category.objects.filter(code=label, is_active=True).first()
        or Category.objects.filter(full_name=label, is_active=True).first()
        or Category.objects.filter(name=label, is_active=True).order_by("level", "code").first()
    )


def suggest(actor: User, title: str, content: str) -> dict[str, list[Pick]]:
    """The top three per task for the text typed so far (empty lists without a model or the permission)."""
    if not has_perm(actor, "ai.suggest") or not (title or content).strip():
        return {}
    from shizhi.ai import selectors as ai_selectors
    from shizhi.ai import services as ai_services

    raw = ai_services.suggest(f"{title} {content}", tasks=TASKS, k=3)
    out: dict[str, list[Pick]] = {}
    for task, pairs in raw.items():
        names = ai_selectors.label_names(task, [label for label, _ in pairs])
        picks = []
        for label, p in pairs:
            pick = Pick(label=label, name=names.get(label, label), percent=round(100 * p))
            if task == "category":
                category = _category_for(label)
                pick.value = category.code if category else ""
            elif task == "demand_type":
                pick.value = next((v for v, word in DemandType.choices if label in (v, str(word))), "")
            picks.append(pick)
        out[task] = picks
    return out


def _chosen_category_label(case: Case, top: str) -> str:
    """The case's category at the level of the model's labels, in the same form (code or name)."""
    suggested = _category_for(top)
    codes = [c for c in case.category_path.split("/") if c] or [case.category.code]
    if suggested is None:
        return codes[-1]
    code = codes[min(suggested.level, len(codes)) - 1]
    if top == suggested.code:
        return code
    ancestor = Category.objects.filter(code=code).first()
    return (ancestor.full_name if top == suggested.full_name else ancestor.name) if ancestor else code


def _chosen(case: Case, task: str, top: str, unit: Unit | None) -> str:
    if task == "category":
        return _chosen_category_label(case, top)
    if task == "demand_type":
        word = str(DemandType(case.demand_type).label)
        return word if top == word else case.demand_type
    return unit.code if unit is not None else ""


def record(
    actor: User,
    case: Case,
    tasks: Sequence[str],
    suggestions: dict[str, Any] | None = None,
    unit: Unit | None = None,
) -> int:
    """Record the final choice for each task against its suggestions (given, or computed now from the case's
    text). Returns how many choices were recorded."""
    if not has_perm(actor, "ai.suggest"):
        return 0
    from shizhi.ai import services as ai_services

    try:
        shown = (
            suggestions
            if suggestions is not None
            else ai_services.suggest(f"{case.title} {case.content}", tasks=list(tasks), k=3)
        )
        recorded = 0
        for task in tasks:
            pairs = list(shown.get(task) or [])
            if not pairs:
                continue
            first = pairs[0]
            top = first.get("label", "") if isinstance(first, dict) else first[0]
            chosen = _chosen(case, task, str(top), unit)
            if chosen:
                ai_services.record_choice(case=case, task=task, suggestions=pairs, chosen=chosen, actor=actor)
                recorded += 1
        return recorded
    except ApplicationError as exc:
        log.warning("could not record the AI choices for case %s: %s", case.pk, exc.message)
        return 0
