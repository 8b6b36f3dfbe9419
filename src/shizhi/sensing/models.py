"""Devices and their readings (物联感知).

A device type (设备类型) names its Smart Data Models entity type (AirQualityObserved, NoiseLevelObserved...), the
quantities it measures with their units and physical ranges, how often it reports, and how its series are
watched (warning thresholds per quantity, the anomaly profile, the warning level that opens a hotline case).

Readings are stored compactly: one row per (device, quantity, second) with a float value and no surrogate key
(a composite primary key; on SQLite a WITHOUT ROWID table, so the key *is* the table). Hourly rollups
(min/mean/max) feed the charts. Readings that fail validation go to the quarantine (隔离区) with the reason, and
are counted per device: nothing that arrives is ever silently dropped.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shizhi.core.models import Area, Grid, Unit


class SmartDataModel(models.TextChoices):
    """The FIWARE Smart Data Models entity type a device's observations follow."""

    AIR_QUALITY = "AirQualityObserved", _("空气质量")
    TRAFFIC_FLOW = "TrafficFlowObserved", _("交通流量")
    WATER_LEVEL = "FloodMonitoring", _("水位监测")
    NOISE_LEVEL = "NoiseLevelObserved", _("噪声")
    GENERIC = "DeviceMeasurement", _("通用测量")


class AlertCategory(models.TextChoices):
    """Smart Data Models Alert categories (告警类别)."""

    TRAFFIC = "traffic", _("交通")
    ENVIRONMENT = "environment", _("环境")
    WEATHER = "weather", _("气象")
    NATURAL_DISASTER = "naturalDisaster", _("自然灾害")
    SECURITY = "security", _("安全")
    HEALTH = "health", _("健康")
    AGRICULTURE = "agriculture", _("农业")


class DeviceType(models.Model):
    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    smart_data_model = models.CharField(
        _("数据模型"), max_length=40, choices=SmartDataModel.choices, default=SmartDataModel.GENERIC
    )
    alert_category = models.CharField(
        _("告警类别"), max_length=20, choices=AlertCategory.choices, default=AlertCategory.SECURITY
    )
    expected_interval_s = models.PositiveIntegerField(_("上报间隔(秒)"), default=3600)
    offline_after = models.PositiveSmallIntegerField(_("离线判定(间隔数)"), default=3)
    anomaly_profile = models.CharField(
        _("异常检测配置"), max_length=20, default="hourly", blank=True, help_text=_("留空则不做异常检测")
    )
    # Alerts at or above this warning level open a hotline case (0: never). 1 blue 蓝, 2 yellow 黄, 3 orange 橙, 4 red 红.
    case_level = models.PositiveSmallIntegerField(_("立案预警级别"), default=3)
    case_category_code = models.CharField(_("工单分类编码"), max_length=40, blank=True)
    config = models.JSONField(_("检测参数"), default=dict, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "设备类型")
        verbose_name_plural = pgettext_lazy("plural", "设备类型")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Quantity(models.Model):
    """A measured quantity of a device type, with its unit, physical range and warning thresholds."""

    device_type = models.ForeignKey(DeviceType, on_delete=models.CASCADE, related_name="quantities")
    code = models.SlugField(_("编码"), max_length=40)
    name = models.CharField(_("名称"), max_length=60)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    min_value = models.FloatField(_("物理下限"))
    max_value = models.FloatField(_("物理上限"))
    # Entry lines of blue, yellow, orange, red (null for an unused level); see warning.detectors.ThresholdConfig.
    thresholds = models.JSONField(_("预警阈值"), null=True, blank=True)
    direction = models.CharField(_("方向"), max_length=5, default="above")
    margin = models.FloatField(_("回差"), default=0.0)

    class Meta:
        verbose_name = pgettext_lazy("model", "监测量")
        verbose_name_plural = pgettext_lazy("plural", "监测量")
        constraints = [
            models.UniqueConstraint(fields=["device_type", "code"], name="quantity_type_code_uniq")
        ]
        ordering = ["device_type_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


class DeviceStatus(models.TextChoices):
    ONLINE = "online", _("在线")  # reported within its expected interval
    OFFLINE = "offline", _("离线")  # silent for offline_after expected intervals
    MAINTENANCE = "maintenance", _("维护中")  # readings are stored but raise no alerts


class Device(models.Model):
    code = models.CharField(_("设备编码"), max_length=80, unique=True)
    name = models.CharField(_("名称"), max_length=120)
    device_type = models.ForeignKey(DeviceType, on_delete=models.PROTECT, related_name="devices")
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    grid = models.ForeignKey(Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    area_path = models.CharField(max_length=200, blank=True, db_index=True)  # the grid's path, for scope
    owner_unit = models.ForeignKey(Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(
        _("状态"), max_length=12, choices=DeviceStatus.choices, default=DeviceStatus.ONLINE
    )
    last_seen_at = models.DateTimeField(_("最近上报"), null=True, blank=True)
    last_reading_ts = models.BigIntegerField(null=True, blank=True)  # newest reading's time, epoch seconds
    # Hourly rollups before this hour (epoch seconds) are final; from it on they are computed from the readings
    # (null: nothing rolled up yet). A late reading moves it back. See sensing.rollups.
    rollup_from = models.BigIntegerField(null=True, blank=True)
    token_digest = models.CharField(max_length=64, blank=True, db_index=True)  # sha256 of the device token
    accepted_count = models.BigIntegerField(_("已接收"), default=0)
    duplicate_count = models.BigIntegerField(_("重复"), default=0)
    rejected_count = models.BigIntegerField(_("已隔离"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "感知设备")
        verbose_name_plural = pgettext_lazy("plural", "感知设备")
        ordering = ["code"]
        indexes = [models.Index(fields=["device_type", "status"], name="device_type_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Reading(models.Model):
    """One value of one quantity at one second. No surrogate key: (device, quantity, ts) is the key."""

    pk = models.CompositePrimaryKey("device_id", "quantity_id", "ts")
    device = models.ForeignKey(
        Device, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    quantity = models.ForeignKey(
        Quantity, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    ts = models.BigIntegerField()  # seconds since the epoch, UTC
    value = models.FloatField()

    class Meta:
        verbose_name = pgettext_lazy("model", "读数")
        verbose_name_plural = pgettext_lazy("plural", "读数")

    def __str__(self) -> str:
        return f"{self.device_id}/{self.quantity_id}@{self.ts}={self.value:g}"


class HourlyRollup(models.Model):
    """min / mean / max of one series over one hour, kept up to date as readings arrive."""

    pk = models.CompositePrimaryKey("device_id", "quantity_id", "hour")
    device = models.ForeignKey(
        Device, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    quantity = models.ForeignKey(
        Quantity, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    hour = models.BigIntegerField()  # epoch seconds of the hour's start
    n = models.IntegerField()
    total = models.FloatField()
    vmin = models.FloatField()
    vmax = models.FloatField()

    class Meta:
        verbose_name = pgettext_lazy("model", "小时汇总")
        verbose_name_plural = pgettext_lazy("plural", "小时汇总")

    def __str__(self) -> str:
        return f"{self.device_id}/{self.quantity_id}@{self.hour}: n={self.n}"

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0


class RejectReason(models.TextChoices):
    MALFORMED = "malformed", _("格式错误")  # not an object / a missing field / an unparseable line
    UNKNOWN_DEVICE = "unknown_device", _("未知设备")
    NOT_YOUR_DEVICE = "not_your_device", _("设备与令牌不符")
    UNKNOWN_QUANTITY = "unknown_quantity", _("未知监测量")
    BAD_TIMESTAMP = "bad_timestamp", _("时间无法识别")
    FUTURE_TIMESTAMP = "future_timestamp", _("时间超前")
    TOO_OLD = "too_old", _("时间过早")
    NOT_A_NUMBER = "not_a_number", _("数值无效")
    OUT_OF_RANGE = "out_of_range", _("超出物理量程")


class Source(models.TextChoices):
    HTTP = "http", _("HTTP批量")
    MQTT = "mqtt", _("MQTT")
    REPLAY = "replay", _("回放")
    DEMO = "demo", _("演示")


class QuarantinedReading(models.Model):
    """A reading refused by validation, kept as it came with the reason (隔离区)."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, null=True, blank=True, db_index=False, related_name="+"
    )
    device_code = models.CharField(max_length=80, blank=True)
    quantity_code = models.CharField(max_length=40, blank=True)
    ts = models.BigIntegerField(null=True, blank=True)
    raw = models.TextField()  # the reading as received (truncated to 1,000 characters)
    reason = models.CharField(_("原因"), max_length=20, choices=RejectReason.choices)
    message = models.CharField(_("说明"), max_length=300)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = pgettext_lazy("model", "隔离读数")
        verbose_name_plural = pgettext_lazy("plural", "隔离读数")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["device", "-id"], name="quarantine_device_idx"),
            models.Index(fields=["reason", "-id"], name="quarantine_reason_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.device_code} {self.reason}"


class SeriesState(models.Model):
    """A detector's state for one series (device, quantity, detector), so that scoring resumes after a restart
    exactly where it stopped. ``last_ts``: the newest reading the detector has seen."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    quantity = models.ForeignKey(Quantity, on_delete=models.CASCADE, related_name="+")
    detector = models.CharField(max_length=20)
    last_ts = models.BigIntegerField(default=0)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "quantity", "detector"], name="series_state_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.quantity_id} {self.detector}"
