"""Reads of the AI assistance app (智能辅助): the model registry, training data from the city's own cases
(with the operators' choices), display names of labels, and how often operators override the suggestions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from shizhi.ai.datasets import LabelledTexts
from shizhi.ai.models import Suggestion, Task, TrainedModel
from shizhi.ai.text import join_text
from shizhi.core.errors import ApplicationError, ErrorCode, NotFound, PermissionDenied, ValidationFailed
from shizhi.core.models import Unit, User
from shizhi.core.permissions import has_perm
from shizhi.hotline.models import (
    Assignment,
    AssignmentRole,
    AssignmentStatus,
    Case,
    CaseStatus,
    Category,
    DemandType,
)

DEFAULT_CASE_LIMIT = 100_000  # newest cases a retraining reads unless told otherwise

# ------------------------------------------------------------------------------------------------ registry


def models_qs() -> QuerySet[TrainedModel]:
    """Registry rows without their (large) artifact."""
    return TrainedModel.objects.defer("artifact").select_related("trained_by")


def require_manage(actor: User | None) -> None:
    if not has_perm(actor, "ai.manage_models"):
        raise PermissionDenied("只有系统管理员可以管理分类模型")


def model_list(*, actor: User | None, task: str | None = None) -> QuerySet[TrainedModel]:
    require_manage(actor)
    qs = models_qs().order_by("task", "name", "-version")
    return qs.filter(task=task) if task else qs


def access_model(*, actor: User | None, model_id: int) -> TrainedModel:
    require_manage(actor)
    model = models_qs().filter(pk=model_id).first()
    if model is None:
        raise NotFound("模型")
    return model


def find_model(ref: str, *, version: int | None = None) -> TrainedModel:
    """A model by name (the version given, else the active one of that name, else its newest) or ``latest``
    (the most recently trained of all). For the command line, which acts as the system."""
    qs = TrainedModel.objects.all()
    if ref == "latest":
        model = qs.order_by("-trained_at", "-id").first()
        if model is None:
            raise NotFound("模型（尚未训练任何模型）")
        return model
    named = qs.filter(name=ref)
    if version is not None:
        model = named.filter(version=version).first()
    else:
        model = named.filter(is_active=True).first() or named.order_by("-version").first()
    if model is None:
        names = sorted(set(TrainedModel.objects.values_list("name", flat=True)))
        what = f"模型“{ref}”" + (f"版本 {version} " if version is not None else "")
        raise ApplicationError(
            f"{what}不存在；模型库中的模型：{'、'.join(names) or '（无）'}",
            code=ErrorCode.NOT_FOUND,
            details={"model": ref, "version": version, "available": names},
        )
    return model


def active_model(task: str) -> TrainedModel | None:
    return models_qs().filter(task=task, is_active=True).first()


# ------------------------------------------------------------------------------------------------ labels


def label_names(task: str, labels: Iterable[str]) -> dict[str, str]:
    """How to show each label: a category code as its full name, a unit code as the unit's name, a demand type
    as its Chinese word; anything else (e.g. a label from a file) as it is."""
    wanted = {label for label in labels if label}
    names: dict[str, str] = {}
    if task == Task.CATEGORY:
        names = dict(Category.objects.filter(code__in=wanted).values_list("code", "full_name"))
    elif task == Task.UNIT:
        names = dict(Unit.objects.filter(code__in=wanted).values_list("code", "name"))
    elif task == Task.DEMAND_TYPE:
        names = {label: str(DemandType(label).label) for label in wanted if label in DemandType.values}
    return {label: names.get(label) or label for label in wanted}


# ------------------------------------------------------------------------------------------------ cases


def _category_label(path: str, level: int | None) -> str:
    """A category (by its code path ``/CX/CX01/CX0101/``) at the taxonomy level wanted (the deepest it has
    when it is shallower), or the leaf when no level is given."""
    codes = [c for c in path.split("/") if c]
    if not codes:
        return ""
    return codes[-1] if level is None else codes[min(level, len(codes)) - 1]


def _category_paths() -> dict[str, str]:
    """A category's path by its code, and by its full name or (unique) name: a choice recorded against a model
    trained from a file with category names becomes a code like every other label."""
    rows = list(Category.objects.values_list("code", "name", "full_name", "path"))
    names = Counter(name for _, name, _, _ in rows)
    paths = {name: path for _, name, _, path in rows if names[name] == 1}
    paths.update({full_name: path for _, _, full_name, path in rows if full_name})
    paths.update({code: path for code, _, _, path in rows})
    return paths


def cases_training_data(
    *, task: str, level: int | None = None, limit: int | None = DEFAULT_CASE_LIMIT
) -> LabelledTexts:
    """Labelled texts from the city's cases (newest first, merged duplicates left out): title + content, and
    the label the operators finally chose — their recorded choice where there is one (an override of the
    suggestion), else the case's own category / lead unit / demand type."""
    if task not in Task.values:
        raise ValidationFailed(f"未知的任务“{task}”，可选：{'、'.join(Task.values)}", details={"task": task})
    if level is not None and task != Task.CATEGORY:
        raise ValidationFailed("只有诉求分类任务可以指定层级（--level）", details={"level": level})
    if level is not None and level < 1:
        raise ValidationFailed("分类层级从 1 开始", details={"level": level})
    qs = Case.objects.exclude(status=CaseStatus.MERGED).order_by("-received_at", "-id")
    fields: list[str] = ["id", "title", "content"]
    if task == Task.CATEGORY:
        fields.append("category__path")
    elif task == Task.DEMAND_TYPE:
        fields.append("demand_type")
    else:
        lead = (
            Assignment.objects.filter(case=OuterRef("pk"), role=AssignmentRole.LEAD)
            .exclude(status__in=[AssignmentStatus.WITHDRAWN, AssignmentStatus.RETURNED])
            .order_by("-dispatched_at", "-id")
            .values("unit__code")[:1]
        )
        qs = qs.annotate(lead_code=Subquery(lead))
        fields.append("lead_code")
    rows = qs.values_list(*fields)
    if limit:
        rows = rows[:limit]
    chosen: dict[int, str] = dict(
        Suggestion.objects.filter(task=task).order_by("created_at", "id").values_list("case_id", "chosen")
    )
    paths = _category_paths() if task == Task.CATEGORY else {}
    texts, labels = [], []
    skipped = {"no_text": 0, "no_label": 0}
    for case_id, title, content, raw in rows:
        text = join_text((title, content))
        label = chosen.get(case_id)
        if task == Task.CATEGORY:
            path = paths.get(label, "") if label else (raw or "")
            label = _category_label(path, level) if path else label
        elif label is None:
            label = raw or ""
        if not text:
            skipped["no_text"] += 1
        elif not label:
            skipped["no_label"] += 1
        else:
            texts.append(text)
            labels.append(label)
    if not texts:
        raise ValidationFailed("数据库中没有可用于训练的工单", details={"task": task, "skipped": skipped})
    source = f"cases:{task}" + (f":level{level}" if level else "")
    columns: dict[str, Any] = {"text": ["title", "content"], "label": task, "level": level, "limit": limit}
    return LabelledTexts(texts=texts, labels=labels, source=source, columns=columns, skipped=skipped)


# ------------------------------------------------------------------------------------------------ overrides


def override_rates(
    *, task: str | None = None, model: TrainedModel | None = None, since: dt.datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Per task: how many suggestions were shown (with a first choice), how many the operator overrode, and
    the override rate (改选率; None before the first one)."""
    qs = Suggestion.objects.exclude(top_label="")
    if task:
        qs = qs.filter(task=task)
    if model is not None:
        qs = qs.filter(model=model)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    counted = {
        row["task"]: row
        for row in qs.values("task").annotate(
            total=Count("id"), overridden=Count("id", filter=Q(overridden=True))
        )
    }
    out: dict[str, dict[str, Any]] = {}
    for t in [task] if task else Task.values:
        row = counted.get(t, {"total": 0, "overridden": 0})
        total, overridden = int(row["total"]), int(row["overridden"])
        out[t] = {
            "suggested": total,
            "overridden": overridden,
            "rate": round(overridden / total, 4) if total else None,
        }
    return out


# ------------------------------------------------------------------------------------------------ evaluation


def model_evaluate(*, model: TrainedModel, data: LabelledTexts) -> dict[str, Any]:
    """A stored model's figures on labelled texts it has not seen: accuracy, macro-F1, top-3 accuracy,
    per-class precision/recall/F1 and the confusion matrix (labels the model does not know count as misses)."""
    from shizhi.ai import runtime
    from shizhi.ai.evaluation import metrics

    classifier = runtime.unpack(TrainedModel.objects.get(pk=model.pk))
    best = classifier.top_many(data.texts, 3)
    predicted = [row[0][0] for row in best]
    result = metrics(data.labels, predicted, top3=[[label for label, _ in row] for row in best])
    unknown = sorted(set(data.labels) - set(classifier.classes))
    return {
        "model": {"id": model.pk, "name": model.name, "version": model.version, "task": model.task},
        "source": data.source,
        "fingerprint": data.fingerprint(),
        "skipped": data.skipped,
        "unknown_labels": unknown,
        **result,
    }
