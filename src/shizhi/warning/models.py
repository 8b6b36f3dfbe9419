"""Alerts (预警) raised on sensor series and their timeline (预警记录).

An alert follows the Smart Data Models ``Alert`` entity: a category (traffic, environment, weather,
naturalDisaster, security ...), a sub-category, a severity (informational ... critical) and a validity period
(``valid_from`` / ``valid_to``: when the condition started and ended). Its level is China's four-colour warning
level (蓝 blue IV, 黄 yellow III, 橙 orange II, 红 red I). There is at most one open alert per device and rule
(a partial unique constraint), so a condition that persists or worsens updates the same alert. An alert of a
high enough level opens a hotline case (工单, channel "sensor"); the case's answer resolves the alert.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shizhi.core.models import Grid, User
from shizhi.sensing.models import AlertCategory


class AlertLevel(models.IntegerChoices):
    """China's early-warning levels (预警级别)."""

    BLUE = 1, _("蓝色预警")  # IV, general
    YELLOW = 2, _("黄色预警")  # III, serious
    ORANGE = 3, _("橙色预警")  # II, very serious
    RED = 4, _("红色预警")  # I, extremely serious


class Severity(models.TextChoices):
    """Smart Data Models Alert ``severity``."""

    INFORMATIONAL = "informational", _("提示")
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")
    CRITICAL = "critical", _("严重")


# The severity that goes with each warning level (blue is "low": a warning, not just information).
SEVERITY_BY_LEVEL: dict[int, str] = {
    AlertLevel.BLUE: Severity.LOW,
    AlertLevel.YELLOW: Severity.MEDIUM,
    AlertLevel.ORANGE: Severity.HIGH,
    AlertLevel.RED: Severity.CRITICAL,
}


class AlertStatus(models.TextChoices):
    RAISED = "raised", _("待处置")  # raised by a detector, nobody has looked at it yet
    ACKNOWLEDGED = "acknowledged", _("已确认")  # an operator has seen it and is following it
    DISPATCHED = "dispatched", _("已派单")  # a hotline case is open for the responsible unit
    RESOLVED = "resolved", _("已解除")  # over: cleared by itself, handled, or its case answered
    FALSE_ALARM = "false_alarm", _("误报")  # an operator found that nothing was wrong


# Open alerts: the ones a new signal of the same device and rule updates instead of opening another.
OPEN_STATUSES = (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED)
CLOSED_STATUSES = (AlertStatus.RESOLVED, AlertStatus.FALSE_ALARM)


class Resolution(models.TextChoices):
    CLEARED = "cleared", _("自动解除")  # the condition ended before anybody acted
    HANDLED = "handled", _("人工处置")  # an operator or the unit closed it
    CASE_CLOSED = "case_closed", _("工单办结")  # its hotline case was answered or closed
    FALSE_ALARM = "false_alarm", _("误报")  # marked as a false alarm


class Alert(models.Model):
    """Alert (预警): one incident of one rule on one device, from its first signal to its resolution."""

    device = models.ForeignKey(
        "sensing.Device", on_delete=models.PROTECT, related_name="+", verbose_name=_("感知设备")
    )
    quantity = models.ForeignKey(
        "sensing.Quantity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("监测量"),
    )
    # "threshold:<quantity code>", "anomaly:<quantity code>" or "offline".
    rule = models.CharField(_("预警规则"), max_length=60)
    category = models.CharField(_("告警类别"), max_length=20, choices=AlertCategory.choices)
    sub_category = models.CharField(_("告警子类"), max_length=40, blank=True)
    level = models.PositiveSmallIntegerField(_("预警级别"), choices=AlertLevel.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices)
    score = models.FloatField(_("异常分值"), default=0.0)
    kind = models.CharField(
        _("触发类型"), max_length=30, blank=True
    )  # which test fired (detector's Score.kind)
    reason = models.TextField(_("触发原因"), blank=True)
    value = models.FloatField(_("读数"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.RAISED
    )
    valid_from = models.DateTimeField(_("开始时间"))
    valid_to = models.DateTimeField(_("结束时间"), null=True, blank=True)  # when the condition ended
    raised_at = models.DateTimeField(_("预警时间"))
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("确认人")
    )
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("解除人")
    )
    resolution = models.CharField(_("解除方式"), max_length=16, choices=Resolution.choices, blank=True)
    resolution_note = models.CharField(_("处置说明"), max_length=500, blank=True)
    case = models.ForeignKey(
        "hotline.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("关联工单"),
        db_index=False,  # alert_case_idx, partial
    )
    # Copied from the device when the alert is raised: scope filters and the grid risk view need no join.
    area_path = models.CharField(max_length=200, blank=True)
    grid = models.ForeignKey(
        Grid,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("网格"),
        db_index=False,  # alert_grid_status_idx
    )
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "预警")
        verbose_name_plural = pgettext_lazy("plural", "预警")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["status", "level", "raised_at"], name="alert_board_idx"),
            models.Index(fields=["raised_at"], name="alert_raised_idx"),
            models.Index(fields=["area_path", "status"], name="alert_area_status_idx"),
            models.Index(fields=["grid", "status"], name="alert_grid_status_idx"),
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            models.Index(fields=["case"], name="alert_case_idx", condition=models.Q(case__isnull=False)),
        ]
        constraints = [
            # Deduplication (去重): one open alert per device and rule, on SQLite and PostgreSQL alike.
            models.UniqueConstraint(
                fields=["device", "rule"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="alert_one_open_per_device_rule",
            ),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4), name="alert_level_1_to_4"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule} L{self.level}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EventKind(models.TextChoices):
    RAISED = "raised", _("触发")  # the first signal (or the condition came back while the alert was open)
    ESCALATED = "escalated", _("升级")  # a signal of a higher level
    CLEARED = "cleared", _("条件解除")  # the condition ended (back to normal, device back online)
    ACKNOWLEDGED = "acknowledged", _("确认")
    DISPATCHED = "dispatched", _("派单")
    CASE_OPENED = "case_opened", _("生成工单")
    RESOLVED = "resolved", _("解除")
    FALSE_ALARM = "false_alarm", _("标记误报")
    NOTE = "note", _("备注")  # anything else worth knowing (a case that could not be opened, ...)


class AlertEvent(models.Model):
    """One line of an alert's timeline (预警记录): what happened, when, at which level, by whom."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"))
    kind = models.CharField(_("事件"), max_length=16, choices=EventKind.choices)
    level = models.PositiveSmallIntegerField(_("预警级别"), null=True, blank=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "预警记录")
        verbose_name_plural = pgettext_lazy("plural", "预警记录")
        ordering = ["alert", "at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"
