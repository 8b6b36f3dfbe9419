"""AI assistance API (/api/v1/ai/...): label suggestions for a new case, and the model registry."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from shizhi.ai import selectors as sel
from shizhi.ai import services
from shizhi.ai.models import Task, TrainedModel
from shizhi.ai.schemas import ModelDetailOut, ModelOut, SuggestIn, SuggestOut
from shizhi.ai.text import join_text
from shizhi.core.actors import request_actor
from shizhi.core.errors import PermissionDenied, ValidationFailed
from shizhi.core.permissions import has_perm
from shizhi.core.schemas import ErrorOut

router = Router(tags=["ai"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def model_out(m: TrainedModel) -> dict[str, Any]:
    return {
        "id": m.pk,
        "task": m.task,
        "task_label": str(Task(m.task).label),
        "name": m.name,
        "version": m.version,
        "is_active": m.is_active,
        "pipeline": m.pipeline,
        "macro_f1": m.macro_f1,
        "accuracy": m.accuracy,
        "rows": m.rows,
        "labels": m.labels,
        "source": m.source,
        "data_fingerprint": m.data_fingerprint,
        "artifact_sha256": m.artifact_sha256,
        "artifact_size": m.artifact_size,
        "train_seconds": m.train_seconds,
        "cv_seconds": m.cv_seconds,
        "trained_at": m.trained_at,
        "activated_at": m.activated_at,
    }


@router.post(
    "/ai/suggest",
    response={200: SuggestOut, **ERRORS},
    summary="智能推荐：诉求分类、承办单位、诉求类型（前k个及概率）",
)
def suggest(request: HttpRequest, payload: SuggestIn) -> dict[str, Any]:
    if not has_perm(request_actor(request), "ai.suggest"):
        raise PermissionDenied("没有使用智能推荐的权限")
    text = join_text((payload.title, payload.content))
    if not text:
        raise ValidationFailed("请填写标题或诉求内容", details={"field": "content"})
    found = services.suggest(text, k=payload.k)
    out: dict[str, Any] = {}
    for task, pairs in found.items():
        names = sel.label_names(task, [label for label, _ in pairs])
        out[task] = [{"label": label, "name": names[label], "probability": p} for label, p in pairs]
    return out


@router.get("/ai/models", response={200: list[ModelOut], **ERRORS}, summary="模型库：所有任务的模型及版本")
def list_models(request: HttpRequest, task: str | None = None) -> list[dict[str, Any]]:
    if task is not None and task not in Task.values:
        raise ValidationFailed(f"未知的任务“{task}”", details={"field": "task"})
    return [model_out(m) for m in sel.model_list(actor=request_actor(request), task=task)]


@router.get(
    "/ai/models/{model_id}", response={200: ModelDetailOut, **ERRORS}, summary="模型详情：参数与交叉验证指标"
)
def get_model(request: HttpRequest, model_id: int) -> dict[str, Any]:
    m = sel.access_model(actor=request_actor(request), model_id=model_id)
    return {**model_out(m), "params": m.params, "metrics": m.metrics}


@router.post(
    "/ai/models/{model_id}/activate", response={200: ModelOut, **ERRORS}, summary="启用模型（回滚到某一版本）"
)
def activate_model(request: HttpRequest, model_id: int) -> dict[str, Any]:
    actor = request_actor(request)
    model = sel.access_model(actor=actor, model_id=model_id)
    return model_out(services.model_activate(actor=actor, model=model))
