"""The demo city's classifiers (演示模型): after the hotline's year of cases, ``shizhi seed demo`` trains one model
per task from those cases, so that the intake desk shows suggestions from the first call."""

from __future__ import annotations

from shizhi.ai.models import TrainedModel
from shizhi.core.errors import ApplicationError
from shizhi.demo.registry import SeedOptions, SeedOutcome, extend_demo

TASKS = ("category", "unit", "demand_type")
DEMO_LIMIT = 8000  # the most recent cases per task: enough for the demo, a few seconds to train


def register_demo() -> None:
    extend_demo(_extend)


def _extend(options: SeedOptions) -> SeedOutcome:
    from shizhi.ai.services import model_train_from_cases

    if TrainedModel.objects.exists():
        return SeedOutcome(created=False, text="分类模型已存在，未重新训练")
    trained = []
    for task in TASKS:
        try:
            result = model_train_from_cases(
                actor=None, task=task, limit=DEMO_LIMIT, folds=3, drop_rare=True, activate=True
            )
        except ApplicationError as exc:  # e.g. a small demo without enough cases of a kind
            trained.append(f"{task}: 未训练（{exc.message}）")
            continue
        trained.append(f"{task}: {result.model.name} v{result.model.version}")
    return SeedOutcome(created=True, text="分类模型：" + "；".join(trained))
