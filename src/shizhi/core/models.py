"""Core tables: administrative areas (行政区划) and grids (网格), units (承办单位), users with roles and
scopes, API tokens, audit events (审计日志) and the working-day calendar overrides (工作日历)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class UrbanRural(models.TextChoices):
    URBAN = "urban", _("城镇")
    RURAL = "rural", _("乡村")


class AreaLevel(models.IntegerChoices):
    CITY = 1, _("市")
    DISTRICT = 2, _("区/县")  # district (区) or county (县)
    STREET = 3, _("街道/乡镇")  # street office (街道) or town/township (镇/乡)
    COMMUNITY = 4, _("社区/村")  # urban community (社区居委会) or village (村委会)


class GeoMixin(models.Model):
    """Boundary as a GeoJSON geometry (Polygon or MultiPolygon, WGS84 lng/lat), with its centroid and
    bounding box stored as plain columns so that point lookups can narrow by index before testing polygons."""

    boundary = models.JSONField(_("边界"), null=True, blank=True)
    centroid_lng = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    min_lng = models.FloatField(_("最小经度"), null=True, blank=True)
    min_lat = models.FloatField(_("最小纬度"), null=True, blank=True)
    max_lng = models.FloatField(_("最大经度"), null=True, blank=True)
    max_lat = models.FloatField(_("最大纬度"), null=True, blank=True)
    area_km2 = models.FloatField(_("面积(平方公里)"), null=True, blank=True)

    class Meta:
        abstract = True


class Area(GeoMixin):
    """Administrative area (行政区划): city > district/county > street/township > community/village."""

    code = models.CharField(_("统计用区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("层级"), choices=AreaLevel.choices)
    # The kind in words as the statistics office writes it: 市, 区, 县, 街道, 镇, 乡, 社区, 村.
    kind = models.CharField(_("类型"), max_length=8)
    urban_rural = models.CharField(_("城乡属性"), max_length=8, choices=UrbanRural.choices)
    # The statistics office's 3-digit urban-rural classification code (城乡分类代码: 111 主城区 ... 220 村庄).
    urban_rural_code = models.CharField(_("城乡分类代码"), max_length=3, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级区划"),
    )
    # Materialised path of ancestor ids, "/1/4/17/", so that "everything under this area" is one indexed prefix.
    path = models.CharField(_("层级路径"), max_length=255, db_index=True, editable=False)
    population = models.PositiveIntegerField(_("常住人口"), default=0)
    households = models.PositiveIntegerField(_("户数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "行政区划")
        verbose_name_plural = pgettext_lazy("plural", "行政区划")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["level", "code"]),
            models.Index(fields=["parent", "code"]),
            models.Index(fields=["min_lng", "max_lng", "min_lat", "max_lat"], name="area_bbox_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"), name="area_code_12_digits"
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="area_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Grid(GeoMixin):
    """Grid (网格): the smallest unit of community governance, under a community or village, with one grid
    worker (网格员) responsible for it."""

    code = models.CharField(_("网格编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    community = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="grids", verbose_name=_("所属社区/村")
    )
    # Copy of the community's path, so scope filters treat grids like areas.
    path = models.CharField(_("层级路径"), max_length=255, db_index=True, editable=False)
    grid_worker = models.ForeignKey(
        "core.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="grids",
        verbose_name=_("网格员"),
    )
    population = models.PositiveIntegerField(_("常住人口"), default=0)
    households = models.PositiveIntegerField(_("户数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "网格")
        verbose_name_plural = pgettext_lazy("plural", "网格")
        ordering = ["code"]
        indexes = [models.Index(fields=["min_lng", "max_lng", "min_lat", "max_lat"], name="grid_bbox_idx")]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="grid_unique_name_in_community")
        ]

    def __str__(self) -> str:
        return self.name


class GeoVersion(models.Model):
    """One row whose token changes whenever areas or grids change: the in-memory point index
    (:mod:`shizhi.core.spatial`) compares it to decide when to rebuild."""

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = pgettext_lazy("model", "区划版本")
        verbose_name_plural = pgettext_lazy("plural", "区划版本")

    def __str__(self) -> str:
        return self.token


class UnitKind(models.TextChoices):
    DISTRICT_GOVERNMENT = "district_government", _("区县政府")
    DEPARTMENT = "department", _("职能部门")
    STREET_OFFICE = "street_office", _("街道办事处")
    TOWNSHIP_GOVERNMENT = "township_government", _("乡镇政府")
    PUBLIC_UTILITY = "public_utility", _("公共服务企业")
    ENTERPRISE = "enterprise", _("企业")
    SOCIAL_ORGANISATION = "social_organisation", _("社会组织")
    HOTLINE_CENTRE = "hotline_centre", _("热线中心")


class Unit(models.Model):
    """Unit (承办单位): a body that handles cases, matters or tasks, with its area of responsibility."""

    code = models.CharField(_("单位编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100, unique=True)
    short_name = models.CharField(_("简称"), max_length=32, blank=True)
    kind = models.CharField(_("类型"), max_length=24, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级单位"),
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("责任区域"),
        null=True,
        blank=True,
    )
    responsibilities = models.TextField(_("职责范围"), blank=True)
    phone = models.CharField(_("对外电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "承办单位")
        verbose_name_plural = pgettext_lazy("plural", "承办单位")
        ordering = ["code"]
        indexes = [models.Index(fields=["kind", "code"]), models.Index(fields=["area", "kind"])]

    def __str__(self) -> str:
        return self.name


class UnitContact(models.Model):
    """A named contact person of a unit (联系人); phone numbers are personal data and masked for outsiders."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("单位"))
    name = models.CharField(_("姓名"), max_length=32)
    title = models.CharField(_("职务"), max_length=32, blank=True)
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    is_primary = models.BooleanField(_("主要联系人"), default=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "单位联系人")
        verbose_name_plural = pgettext_lazy("plural", "单位联系人")
        ordering = ["unit", "-is_primary", "id"]

    def __str__(self) -> str:
        return f"{self.unit.name} {self.name}"


class Role(models.TextChoices):
    ADMIN = "admin", _("系统管理员")
    OPERATOR = "operator", _("话务员")
    DISPATCHER = "dispatcher", _("派单员")
    UNIT_HANDLER = "unit_handler", _("承办人")
    UNIT_LEADER = "unit_leader", _("单位负责人")
    SUPERVISOR = "supervisor", _("督办员")
    GRID_WORKER = "grid_worker", _("网格员")
    PARTY_SECRETARY = "party_secretary", _("党组织书记")
    COMMITTEE_MEMBER = "committee_member", _("议事委员")
    DATA_STEWARD = "data_steward", _("数据管理员")
    CITIZEN = "citizen", _("市民")


class User(AbstractUser):
    """A person who signs in: staff of the hotline centre and units, grid workers, committee members, citizens."""

    display_name = models.CharField(_("姓名"), max_length=32, blank=True)
    mobile = models.CharField(_("手机号"), max_length=20, blank=True, db_index=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "用户")
        verbose_name_plural = pgettext_lazy("plural", "用户")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleAssignment(models.Model):
    """A role held by a user, with its scope (适用范围): a unit, an area, both, or the whole city (neither).

    A user may hold several roles (a party secretary who is also a committee member)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("单位"),
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_assignments",
        verbose_name=_("区域"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "角色授权")
        verbose_name_plural = pgettext_lazy("plural", "角色授权")
        ordering = ["user", "id"]
        constraints = [
            # A city-wide role has neither unit nor area; COALESCE makes "no scope" one value, so that the same
            # role cannot be granted twice on SQLite as well (it lacks NULLS NOT DISTINCT).
            models.UniqueConstraint(
                "user",
                "role",
                Coalesce("unit", Value(0)),
                Coalesce("area", Value(0)),
                name="role_assignment_unique",
            )
        ]
        indexes = [models.Index(fields=["role", "unit"]), models.Index(fields=["role", "area"])]

    def __str__(self) -> str:
        scope = self.unit or self.area or gettext("全市")
        return f"{self.user} · {self.get_role_display()} · {scope}"


class ApiToken(models.Model):
    """A personal API token (接口令牌). Only its SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=12, help_text="First characters, to tell tokens apart")
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "接口令牌")
        verbose_name_plural = pgettext_lazy("plural", "接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    """Audit event (审计日志): who did what to which object, what changed, from where and when.

    Written by every service function that changes data; never updated or deleted by the application."""

    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    actor_label = models.CharField(
        _("操作人账号"), max_length=150, blank=True, help_text="Username at the time, or 'system'"
    )
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    origin = models.CharField(_("来源"), max_length=16, blank=True, help_text="web, api, cli or task")
    # Scope of the affected object, so that area- and unit-scoped supervisors can read their part.
    area_path = models.CharField(_("区域路径"), max_length=255, blank=True, db_index=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("相关单位")
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "审计日志")
        verbose_name_plural = pgettext_lazy("plural", "审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class CalendarDay(models.Model):
    """An entry of the official holiday calendar (节假日安排) that overrides the built-in one: a holiday on a
    weekday, or a make-up working day (调休上班) on a weekend. Used for years the built-in data does not cover
    yet, or for local adjustments."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("说明"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "工作日历调整")
        verbose_name_plural = pgettext_lazy("plural", "工作日历调整")
        ordering = ["date"]

    def __str__(self) -> str:
        state = gettext("上班") if self.is_workday else gettext("休息")
        return f"{self.date} {state} {self.name}"
