"""Writes and the hot path of the AI assistance app (智能辅助): training a model into the registry, activating
(or rolling back to) a version, suggesting labels for a new case, and recording what the operator chose.

The hotline intake desk calls two functions::

    suggest(f"{title} {content}")  # -> {"category": [(label, p), ...], "unit": [...], "demand_type": [...]}
    record_choice(case=case, task="category", suggestions=shown["category"], chosen=code, actor=operator)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from shizhi.ai import runtime
from shizhi.ai import selectors as sel
from shizhi.ai.classifier import TextClassifier
from shizhi.ai.datasets import LabelledTexts, check_trainable
from shizhi.ai.evaluation import CvResult, cross_validate
from shizhi.ai.models import Suggestion, Task, TrainedModel
from shizhi.ai.pipelines import CANDIDATES, DEFAULT_PIPELINE, spec_for
from shizhi.ai.text import normalize_text
from shizhi.core.audit import audit_record, snapshot
from shizhi.core.errors import Conflict, PermissionDenied, ValidationFailed
from shizhi.core.models import User
from shizhi.core.permissions import has_perm
from shizhi.hotline.models import Case

TASKS: tuple[str, ...] = tuple(Task.values)
NAME = re.compile(r"^[\w.-]{1,64}$")
RESERVED_NAMES = {"latest"}
MAX_K = 10

# ------------------------------------------------------------------------------------------------ training


@dataclass
class TrainResult:
    model: TrainedModel
    cv: CvResult | None
    activated: bool
    data: LabelledTexts


def _check_train_request(*, actor: User | None, task: str, name: str, pipeline: str, folds: int) -> None:
    if actor is not None and not has_perm(actor, "ai.manage_models"):
        raise PermissionDenied("只有系统管理员可以训练模型")
    if task not in Task.values:
        raise ValidationFailed(f"未知的任务“{task}”，可选：{'、'.join(Task.values)}", details={"task": task})
    if not NAME.match(name) or name in RESERVED_NAMES:
        raise ValidationFailed(
            f"模型名称“{name}”不可用：1-64个字母、数字、汉字、点、横线或下划线，且不能是 latest",
            details={"name": name},
        )
    if pipeline not in CANDIDATES:
        raise ValidationFailed(
            f"未知的算法“{pipeline}”，可选：{'、'.join(CANDIDATES)}", details={"pipeline": pipeline}
        )
    if folds == 1 or folds < 0 or folds > 20:
        raise ValidationFailed("交叉验证折数须为 0（不做）或 2-20", details={"folds": folds})
    other = TrainedModel.objects.filter(name=name).exclude(task=task).values_list("task", flat=True).first()
    if other is not None:
        raise ValidationFailed(
            f"模型名称“{name}”已用于任务“{Task(other).label}”，请换一个名称",
            details={"name": name, "task": other},
        )


def model_train(
    *,
    actor: User | None,
    task: str,
    name: str,
    data: LabelledTexts,
    pipeline: str = DEFAULT_PIPELINE,
    folds: int = 5,
    seed: int = 0,
    drop_rare: bool = False,
    activate: bool = False,
    note: str = "",
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Cross-validate (``folds``-fold, stratified; 0 = skip), fit on all rows, and store the model as the next
    version of ``name``, with its figures, parameters and data fingerprint. It becomes the task's active model
    when ``activate`` is set or the task has none. Bad data is refused before anything is stored."""
    _check_train_request(actor=actor, task=task, name=name, pipeline=pipeline, folds=folds)
    data = check_trainable(data, folds=folds, drop_rare=drop_rare)
    spec = spec_for(pipeline)
    say = progress or (lambda _message: None)
    cv = None
    if folds:
        say(f"cross-validation: {folds} folds over {len(data)} rows, {len(data.counts())} labels")
        cv = cross_validate(
            spec,
            data.texts,
            data.labels,
            folds=folds,
            seed=seed,
            progress=lambda n, k: say(f"  fold {n}/{k}"),
        )
    started = time.perf_counter()
    classifier = TextClassifier(spec).fit(
        data.texts, data.labels, calibration_scores=cv.scores if cv else None, seed=seed
    )
    train_seconds = time.perf_counter() - started
    artifact = classifier.to_bytes()
    metrics: dict[str, Any] = {
        "cv": cv.summary() if cv else None,
        "training": {
            "rows": len(data),
            "labels": dict(sorted(data.counts().items())),
            "skipped": data.skipped,
            "dropped": data.dropped,
            "features": classifier.n_features,
            "min_df_used": [b.min_df_used for b in classifier.blocks],
            "probability_scales": [round(s, 4) for s in classifier.scales],
        },
        "top_features": classifier.top_features(),
    }
    params = {
        "pipeline": pipeline,
        "spec": spec,
        "folds": folds,
        "seed": seed,
        "drop_rare": drop_rare,
        "columns": data.columns,
    }
    try:
        model, activated = _store(
            actor=actor,
            task=task,
            name=name,
            pipeline=pipeline,
            params=params,
            classifier=classifier,
            metrics=metrics,
            data=data,
            artifact=artifact,
            train_seconds=train_seconds,
            cv_seconds=cv.seconds if cv else None,
            activate=activate,
            note=note,
        )
    except IntegrityError as exc:  # another training of the same name took this version number meanwhile
        raise Conflict(f"模型“{name}”正在被另一个训练任务写入，请重试", details={"name": name}) from exc
    return TrainResult(model=model, cv=cv, activated=activated, data=data)


@transaction.atomic
def _store(
    *,
    actor: User | None,
    task: str,
    name: str,
    pipeline: str,
    params: dict[str, Any],
    classifier: TextClassifier,
    metrics: dict[str, Any],
    data: LabelledTexts,
    artifact: bytes,
    train_seconds: float,
    cv_seconds: float | None,
    activate: bool,
    note: str,
) -> tuple[TrainedModel, bool]:
    version = (TrainedModel.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1
    cv = metrics["cv"] or {}
    model = TrainedModel.objects.create(
        task=task,
        name=name,
        version=version,
        pipeline=pipeline,
        params=params,
        labels=classifier.classes,
        metrics=metrics,
        accuracy=cv.get("accuracy"),
        macro_f1=cv.get("macro_f1"),
        rows=len(data),
        source=data.source[:255],
        data_fingerprint=data.fingerprint(),
        artifact=artifact,
        artifact_sha256=runtime.sha256(artifact),
        artifact_size=len(artifact),
        train_seconds=round(train_seconds, 3),
        cv_seconds=round(cv_seconds, 3) if cv_seconds is not None else None,
        note=note[:500],
        trained_by=actor if actor is not None and actor.pk else None,
    )
    audit_record(
        actor=actor,
        action="ai.model_train",
        obj=model,
        changes=snapshot(
            model,
            ["task", "name", "version", "pipeline", "rows", "macro_f1", "accuracy", "data_fingerprint"],
        ),
    )
    activated = activate or not TrainedModel.objects.filter(task=task, is_active=True).exists()
    if activated:
        _switch(actor=actor, model=model)
    return model, activated


def _switch(*, actor: User | None, model: TrainedModel) -> None:
    previous = TrainedModel.objects.select_for_update().filter(task=model.task, is_active=True).first()
    if previous is not None and previous.pk == model.pk:
        return
    now = timezone.now()
    if previous is not None:
        previous.is_active = False
        previous.save(update_fields=["is_active"])
    model.is_active, model.activated_at = True, now
    model.save(update_fields=["is_active", "activated_at"])
    audit_record(
        actor=actor,
        action="ai.model_activate",
        obj=model,
        changes={"active_model": [str(previous) if previous else None, str(model)], "task": model.task},
    )
    runtime.invalidate()
    transaction.on_commit(runtime.invalidate)


@transaction.atomic
def model_activate(*, actor: User | None, model: TrainedModel) -> TrainedModel:
    """Make ``model`` its task's active model (启用), e.g. to roll back to an earlier version. Activating the
    active model changes nothing and records nothing."""
    if actor is not None and not has_perm(actor, "ai.manage_models"):
        raise PermissionDenied("只有系统管理员可以启用模型")
    model = TrainedModel.objects.defer("artifact").select_for_update().get(pk=model.pk)
    if not model.is_active:
        _switch(actor=actor, model=model)
    return model


# ------------------------------------------------------------------------------------------------ the hot path


def suggest(text: str, *, tasks: Sequence[str] = TASKS, k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` most probable labels per task for one text (title and content together), from each task's
    active model, best first: ``{"category": [("CX0102", 0.91), ...], "unit": [...], "demand_type": [...]}``.
    A task without an active model (or an empty text) gets an empty list. Labels are what the model was trained
    on: category codes, unit codes and demand-type values for models trained from cases."""
    unknown = [t for t in tasks if t not in Task.values]
    if unknown:
        raise ValidationFailed(f"未知的任务：{'、'.join(unknown)}", details={"tasks": unknown})
    clean = normalize_text(text)
    loaded = runtime.active_classifiers(tasks)
    k = max(1, min(int(k), MAX_K))
    out: dict[str, list[tuple[str, float]]] = {}
    for task in tasks:
        entry = loaded.get(task)
        out[task] = entry[1].top(clean, k) if entry is not None and clean else []
    return out


def _pairs(suggestions: Sequence[Any]) -> list[list[Any]]:
    """``[(label, p), ...]`` or ``[{"label": ..., "probability": ...}, ...]`` as ``[[label, p], ...]``."""
    out: list[list[Any]] = []
    for item in suggestions:
        if isinstance(item, dict):
            label, probability = item.get("label"), item.get("probability")
        else:
            try:
                label, probability = item
            except (TypeError, ValueError) as exc:
                raise ValidationFailed("推荐结果格式不正确：每项应为（标签，概率）") from exc
        if not isinstance(label, str) or not label:
            raise ValidationFailed("推荐结果中的标签不能为空", details={"item": str(item)[:100]})
        try:
            p = float(probability)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("推荐结果中的概率须为数字", details={"item": str(item)[:100]}) from exc
        if not 0.0 <= p <= 1.0:
            raise ValidationFailed("推荐结果中的概率须在 0 到 1 之间", details={"item": str(item)[:100]})
        out.append([label[:128], round(p, 4)])
    return out


@transaction.atomic
def record_choice(
    *, case: Case, task: str, suggestions: Sequence[Any], chosen: str, actor: User | None
) -> Suggestion:
    """Record what was suggested for ``case`` and what the operator chose (``chosen``: a label of the same kind,
    e.g. the category code). ``overridden`` says whether the choice differs from the first suggestion; the
    chosen label is what the next retraining from cases learns for this case."""
    if task not in Task.values:
        raise ValidationFailed(f"未知的任务“{task}”", details={"task": task})
    if actor is not None and not has_perm(actor, "ai.suggest"):
        raise PermissionDenied("没有使用智能推荐的权限")
    if case is None or case.pk is None:
        raise ValidationFailed("请指定工单", details={"field": "case"})
    label = normalize_text(chosen)[:128]
    if not label:
        raise ValidationFailed("请指定最终选择的标签", details={"field": "chosen"})
    pairs = _pairs(suggestions)
    top = pairs[0][0] if pairs else ""
    row = Suggestion.objects.create(
        case=case,
        task=task,
        model_id=runtime.active_model_id(task) if pairs else None,
        suggestions=pairs,
        top_label=top,
        chosen=label,
        overridden=bool(top) and label != top,
        actor=actor if actor is not None and actor.pk else None,
    )
    audit_record(
        actor=actor,
        action="ai.choice_record",
        obj=row,
        changes=snapshot(row, ["task", "top_label", "chosen", "overridden"]),
        area_path=case.area_path,
    )
    return row


def model_train_from_cases(
    *,
    actor: User | None,
    task: str,
    name: str | None = None,
    level: int | None = None,
    limit: int | None = sel.DEFAULT_CASE_LIMIT,
    **options: Any,
) -> TrainResult:
    """:func:`model_train` on the city's own cases (see :func:`selectors.cases_training_data`)."""
    if actor is not None and not has_perm(actor, "ai.manage_models"):
        raise PermissionDenied("只有系统管理员可以训练模型")
    data = sel.cases_training_data(task=task, level=level, limit=limit)
    data.columns["level"] = level
    return model_train(actor=actor, task=task, name=name or f"cases-{task}", data=data, **options)
