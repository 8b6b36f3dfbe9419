"""AI assistance tables (智能辅助): the model registry (模型库) of trained text classifiers, versioned per name
with one active model per task, and the operators' choices among the suggestions (推荐采纳记录)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shizhi.core.models import User


class Task(models.TextChoices):
    """What a classifier suggests for a new case."""

    CATEGORY = "category", _("诉求分类")
    UNIT = "unit", _("承办单位")
    DEMAND_TYPE = "demand_type", _("诉求类型")


class TrainedModel(models.Model):
    """One trained version of a named classifier (分类模型). The fitted arrays are stored in the row (an npz
    archive, never a pickle) with their SHA-256, checked whenever the model is loaded."""

    task = models.CharField(_("任务"), max_length=16, choices=Task.choices)
    name = models.CharField(_("模型名称"), max_length=64)
    version = models.PositiveIntegerField(_("版本"))
    is_active = models.BooleanField(_("启用"), default=False)
    pipeline = models.CharField(_("算法"), max_length=64)
    # The classifier spec, the columns and options it was trained with, the label level.
    params = models.JSONField(_("参数"), default=dict)
    labels = models.JSONField(_("标签"), default=list)
    # Cross-validation: accuracy, macro-F1, per-class table, confusion matrix, fold figures.
    metrics = models.JSONField(_("评估指标"), default=dict)
    accuracy = models.FloatField(_("准确率"), null=True, blank=True)
    macro_f1 = models.FloatField(_("宏平均F1"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("训练样本数"), default=0)
    source = models.CharField(_("数据来源"), max_length=255, blank=True)
    # SHA-256 of the normalised (text, label) rows, sorted: the same data gives the same fingerprint.
    data_fingerprint = models.CharField(_("数据指纹"), max_length=64)
    artifact = models.BinaryField(editable=False)
    artifact_sha256 = models.CharField(max_length=64, editable=False)
    artifact_size = models.PositiveIntegerField(_("模型大小"), default=0)
    train_seconds = models.FloatField(_("训练耗时"), default=0)
    cv_seconds = models.FloatField(_("交叉验证耗时"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    trained_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("训练人")
    )
    trained_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "分类模型")
        verbose_name_plural = pgettext_lazy("plural", "分类模型")
        ordering = ["task", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="ai_model_name_version"),
            # One active model per task: what the intake desk's suggestions come from.
            models.UniqueConstraint(
                fields=["task"], condition=models.Q(is_active=True), name="ai_model_one_active_per_task"
            ),
        ]
        indexes = [models.Index(fields=["task", "is_active"], name="ai_model_task_active_idx")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Suggestion(models.Model):
    """What the classifiers suggested for a case (推荐) and what the operator chose (采纳/改选): the chosen label
    is what a retraining from cases learns, and overrides are how the models' usefulness is measured."""

    case = models.ForeignKey(
        "hotline.Case", on_delete=models.CASCADE, related_name="ai_suggestions", verbose_name=_("工单")
    )
    task = models.CharField(_("任务"), max_length=16, choices=Task.choices)
    model = models.ForeignKey(
        TrainedModel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suggestions",
        verbose_name=pgettext_lazy("model", "分类模型"),
    )
    # [[label, probability], ...], best first, as shown to the operator.
    suggestions = models.JSONField(_("推荐结果"), default=list)
    top_label = models.CharField(_("首选推荐"), max_length=128, blank=True)
    chosen = models.CharField(_("最终选择"), max_length=128)
    overridden = models.BooleanField(_("改选"), default=False)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "推荐记录")
        verbose_name_plural = pgettext_lazy("plural", "推荐记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["task", "created_at"], name="ai_sugg_task_created_idx"),
            models.Index(fields=["case", "task", "created_at"], name="ai_sugg_case_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.task} {self.chosen}"
