"""Pages of the model registry (模型库): the list of models with their figures, one model's evaluation (per-class
table, confusion matrix), and activating a version (启用/回滚)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from shizhi.ai import selectors as sel
from shizhi.ai import services
from shizhi.ai.models import Task
from shizhi.cockpit.web import page_errors
from shizhi.core.models import User
from shizhi.core.permissions import has_perm

View = TypeVar("View", bound=Callable[..., HttpResponse])


def manager_page(view: View) -> View:
    """Signed in (else the login page), allowed to manage models (else 403), refusals shown as error pages."""

    @functools.wraps(view)
    def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not has_perm(request.user, "ai.manage_models"):
            raise PermissionDenied(gettext("只有系统管理员可以管理分类模型"))
        return view(request, *args, **kwargs)

    return login_required(page_errors(gate))  # type: ignore[return-value]


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@manager_page
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    models = list(sel.model_list(actor=_actor(request)))
    rates = sel.override_rates()
    return render(
        request,
        "ai/model_list.html",
        {
            "models": models,
            "rates": [(str(label), rates[task]) for task, label in Task.choices],
        },
    )


@manager_page
@require_GET
def model_detail(request: HttpRequest, model_id: int) -> HttpResponse:
    user = _actor(request)
    model = sel.access_model(actor=user, model_id=model_id)
    cv: dict[str, Any] = model.metrics.get("cv") or {}
    names = sel.label_names(model.task, model.labels)
    per_class = [{**row, "name": names.get(row["label"], row["label"])} for row in cv.get("per_class", [])]
    confusion = cv.get("confusion") or {"labels": [], "matrix": []}
    chart = {
        "labels": [names.get(label, label) for label in confusion["labels"]],
        "matrix": confusion["matrix"],
        "words": {"truth": gettext("真实类别"), "predicted": gettext("预测类别"), "count": gettext("条数")},
    }
    training = model.metrics.get("training") or {}
    return render(
        request,
        "ai/model_detail.html",
        {
            "model": model,
            "task_label": Task(model.task).label,
            "cv": cv,
            "per_class": per_class,
            "chart": chart,
            "training": training,
            "top_features": [
                (names.get(label, label), features)
                for label, features in (model.metrics.get("top_features") or {}).items()
            ],
            "versions": list(sel.model_list(actor=user, task=model.task).filter(name=model.name)),
            "overrides": sel.override_rates(task=model.task, model=model)[model.task],
            "label_count": len(model.labels),
        },
    )


@manager_page
@require_POST
def model_activate(request: HttpRequest, model_id: int) -> HttpResponse:
    model = sel.access_model(actor=_actor(request), model_id=model_id)
    services.model_activate(actor=_actor(request), model=model)
    messages.success(
        request,
        gettext("已启用模型 %(name)s 版本 %(version)s") % {"name": model.name, "version": model.version},
    )
    return redirect("ai:model_detail", model_id=model.pk)
