"""Hotline tables (接诉即办): the category taxonomy (诉求分类), the dispatch catalogue (派单目录), cases (工单)
with their unit assignments (承办), timeline (办理记录), extensions (延期), supervision (督办), attachments, and
the knowledge base (知识库) of answers for inquiries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shizhi.core.models import Area, Grid, Unit, User


class SlaKind(models.TextChoices):
    """Time-limit class (时限类别) of a category or a case; the numbers are settings (SHIZHI["HOTLINE_SLA"])."""

    GENERAL = "general", _("一般（7个工作日）")
    COMPLEX = "complex", _("复杂（15个工作日）")
    UTILITY = "utility", _("水电气热（24小时）")
    EMERGENCY = "emergency", _("紧急（2小时反馈）")


class Category(models.Model):
    """A node of the multi-level category taxonomy (诉求分类). Each node is also an Open311 service."""

    code = models.CharField(_("分类编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级分类"),
    )
    level = models.PositiveSmallIntegerField(_("层级"), default=1)
    # Materialised path of codes, "/A/A01/A0103/": "this category and everything under it" is one prefix.
    path = models.CharField(_("层级路径"), max_length=255, db_index=True, editable=False)
    full_name = models.CharField(_("完整名称"), max_length=255, editable=False)
    sla_kind = models.CharField(
        _("时限类别"), max_length=16, choices=SlaKind.choices, default=SlaKind.GENERAL
    )
    description = models.TextField(_("说明"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=255, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    sort = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name_in_parent")
        ]

    def __str__(self) -> str:
        return self.full_name or self.name


class DispatchRule(models.Model):
    """An entry of the dispatch catalogue (派单目录): cases of this category (and its subcategories) in this area
    (and below) go to this unit. The most specific rule wins: deepest category, then deepest area."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="dispatch_rules", verbose_name=_("诉求分类")
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("区域"),
        help_text="empty: the whole city",
    )
    # "street" means: the street office / township government of the case's street (属地), whatever it is.
    target = models.CharField(
        _("派往"),
        max_length=16,
        default="unit",
        choices=[("unit", _("指定单位")), ("street", _("属地街道乡镇"))],
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("承办单位")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("派单目录")
        verbose_name_plural = _("派单目录")
        ordering = ["category__path", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target="street", unit__isnull=True)
                | models.Q(target="unit", unit__isnull=False),
                name="dispatch_rule_target_matches_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.unit or _('属地街道乡镇')}"


class Channel(models.TextChoices):
    PHONE = "phone", _("电话")
    WEB = "web", _("网站")
    APP = "app", _("移动应用")
    WECHAT = "wechat", _("微信")
    OPEN311 = "open311", _("Open311接口")
    GRID = "grid", _("网格巡查")
    SENSOR = "sensor", _("感知告警")
    PROACTIVE = "proactive", _("主动治理")


class DemandType(models.TextChoices):
    INQUIRY = "inquiry", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")  # recorded, waiting to be answered or dispatched
    DISPATCHED = "dispatched", _("已派单")  # waiting for the lead unit to accept (签收)
    RETURNED = "returned", _("退单待审")  # the lead unit sent it back; an operator reviews the reason
    ACCEPTED = "accepted", _("已签收")  # the lead unit took it
    IN_PROGRESS = "in_progress", _("办理中")  # being handled
    REPLIED = "replied", _("已答复")  # the citizen has an answer; waiting for the callback (回访)
    CLOSED = "closed", _("已办结")  # called back (or closed without a rating, with a reason)
    MERGED = "merged", _("已合并")  # a duplicate: follows its master case


OPEN_STATUSES = (
    CaseStatus.RECEIVED,
    CaseStatus.DISPATCHED,
    CaseStatus.RETURNED,
    CaseStatus.ACCEPTED,
    CaseStatus.IN_PROGRESS,
)


class CaseNumber(models.Model):
    """Per-day counter for readable case numbers (2026112700001), incremented inside the creating transaction."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} {self.last}"


RATED = models.Q(rated_at__isnull=False)


class Case(models.Model):
    """Case (工单): one citizen request from any channel, from intake to callback."""

    number = models.CharField(_("工单编号"), max_length=20, unique=True)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    demand_type = models.CharField(_("诉求类型"), max_length=16, choices=DemandType.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("诉求分类")
    )
    # Indexed by case_category_recv_idx (category_path, received_at); every index costs each intake a page.
    category_path = models.CharField(max_length=255, editable=False)
    title = models.CharField(_("标题"), max_length=100)
    content = models.TextField(_("诉求内容"), max_length=4000)
    # The citizen (诉求人): stored once, shown masked to anyone without core.view_pii.
    citizen_name = models.CharField(_("诉求人"), max_length=32, blank=True)
    citizen_phone = models.CharField(_("联系电话"), max_length=20, blank=True)  # case_phone_recv_idx
    citizen = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("市民账号"),
        db_index=False,  # case_citizen_idx, partial
    )
    anonymous = models.BooleanField(_("匿名"), default=False)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("网格")
    )
    community = models.ForeignKey(
        Area, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("社区/村")
    )
    # street, district, area_path and lead_unit lead composite indexes (Meta.indexes): no single-column ones.
    street = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("街道/乡镇"),
        db_index=False,
    )
    district = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("区/县"),
        db_index=False,
    )
    area_path = models.CharField(max_length=255, blank=True, editable=False)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    sla_kind = models.CharField(
        _("时限类别"), max_length=16, choices=SlaKind.choices, default=SlaKind.GENERAL
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.RECEIVED
    )
    lead_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_cases",
        verbose_name=_("主办单位"),
        db_index=False,
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("受理人")
    )
    received_at = models.DateTimeField(_("受理时间"), default=timezone.now)
    # Local (Asia/Shanghai) months as YYYYMM integers, written with the times they describe, so that monthly
    # rates are a GROUP BY on an indexed integer on every database (no per-row time-zone conversion).
    received_month = models.PositiveIntegerField(default=0, editable=False)
    rated_month = models.PositiveIntegerField(null=True, blank=True, editable=False)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    feedback_due_at = models.DateTimeField(_("反馈期限"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    replied_on_time = models.BooleanField(_("按期答复"), null=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # Callback (回访): solved? satisfied (1-5)? Rated cases count in the resolution and satisfaction rates.
    solved = models.BooleanField(_("是否解决"), null=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    satisfied = models.BooleanField(_("是否满意"), null=True)
    rated_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    callback_note = models.CharField(_("回访记录"), max_length=500, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    is_overdue = models.BooleanField(_("已超期"), default=False)
    is_due_soon = models.BooleanField(_("即将超期"), default=False)
    flagged = models.BooleanField(_("重点关注"), default=False)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_cases",
        verbose_name=_("合并至"),
        db_index=False,  # case_merged_idx, partial
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=True, verbose_name=_("关联工单"))
    # Who answered a directly closed inquiry from the knowledge base (直接办结).
    knowledge_article = models.ForeignKey(
        "KnowledgeArticle",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("知识库条目"),
        db_index=False,  # case_article_idx, partial
    )
    idempotency_key = models.CharField(
        max_length=64, null=True, blank=True, editable=False
    )  # case_idem_unique
    external_id = models.CharField(_("外部编号"), max_length=64, blank=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="case_status_recv_idx"),
            models.Index(fields=["received_at"], name="case_recv_idx"),
            models.Index(fields=["lead_unit", "status", "received_at"], name="case_unit_status_idx"),
            # Indexes on columns that a new case leaves empty are partial (WHERE col IS NOT NULL): intake then
            # writes no page of them, and every query that uses them compares the column, which implies the
            # condition on both SQLite and PostgreSQL.
            models.Index(fields=["lead_unit", "rated_at"], name="case_unit_rated_idx", condition=RATED),
            models.Index(fields=["district", "rated_at"], name="case_district_rated_idx", condition=RATED),
            models.Index(fields=["street", "rated_at"], name="case_street_rated_idx", condition=RATED),
            # The resolution and satisfaction rates read only these columns: counted from the index alone.
            models.Index(
                fields=["rated_month", "lead_unit", "solved", "satisfied"],
                name="case_month_unit_rated_idx",
                condition=models.Q(rated_month__isnull=False),
            ),
            models.Index(fields=["category_path", "received_at"], name="case_category_recv_idx"),
            models.Index(fields=["area_path", "received_at"], name="case_area_recv_idx"),
            models.Index(fields=["citizen_phone", "received_at"], name="case_phone_recv_idx"),
            models.Index(fields=["rated_at"], name="case_rated_idx", condition=RATED),
            models.Index(fields=["is_overdue", "status"], name="case_overdue_idx"),
            # The list's "overdue" filter, newest first: only the overdue cases, already in list order. Partial, so
            # new cases (never overdue) cost nothing to insert. The ORM's filter(is_overdue=True) renders as
            # WHERE "is_overdue", which is this index's condition.
            models.Index(
                fields=["received_at"], condition=models.Q(is_overdue=True), name="case_overdue_recv_idx"
            ),
            models.Index(fields=["due_at"], name="case_due_idx", condition=models.Q(due_at__isnull=False)),
            models.Index(
                fields=["citizen"], name="case_citizen_idx", condition=models.Q(citizen__isnull=False)
            ),
            models.Index(
                fields=["merged_into"], name="case_merged_idx", condition=models.Q(merged_into__isnull=False)
            ),
            models.Index(
                fields=["knowledge_article"],
                name="case_article_idx",
                condition=models.Q(knowledge_article__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_1_to_5",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="case_idem_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")  # 首接负责: answers the citizen
    ASSIST = "assist", _("协办")


class AssignmentStatus(models.TextChoices):
    DISPATCHED = "dispatched", _("待签收")
    ACCEPTED = "accepted", _("已签收")
    RETURNED = "returned", _("已退回")
    DONE = "done", _("已完成")
    WITHDRAWN = "withdrawn", _("已撤回")  # superseded by a re-dispatch


class Assignment(models.Model):
    """A unit's part in a case (承办): lead or assisting, with its own acceptance clock. The response rate counts
    assignments: accepted within the time limit / dispatched."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("承办单位")
    )
    role = models.CharField(
        _("角色"), max_length=8, choices=AssignmentRole.choices, default=AssignmentRole.LEAD
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.DISPATCHED
    )
    dispatched_at = models.DateTimeField(_("派单时间"), default=timezone.now)
    dispatched_month = models.PositiveIntegerField(default=0, editable=False)
    accept_due_at = models.DateTimeField(_("签收期限"))
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    accepted_on_time = models.BooleanField(_("按时签收"), null=True)
    handler = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("承办人")
    )
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    return_reason = models.CharField(_("退单理由"), max_length=500, blank=True)
    note = models.TextField(_("协办意见"), blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("承办记录")
        verbose_name_plural = _("承办记录")
        ordering = ["case", "id"]
        indexes = [
            models.Index(fields=["unit", "dispatched_at"], name="assign_unit_disp_idx"),
            # The response rate reads only these columns: counted from the index alone.
            models.Index(
                fields=["dispatched_month", "unit", "status", "accepted_on_time"],
                name="assign_month_unit_resp_idx",
            ),
            # "Has this unit a part in this case?" (a unit's scope and the unit filter of the case list): without
            # it, SQLite answers from the unit's index and scans all of the unit's assignments for every case.
            models.Index(fields=["case", "unit", "status"], name="assign_case_unit_idx"),
            models.Index(fields=["unit", "status"], name="assign_unit_status_idx"),
            models.Index(fields=["dispatched_at"], name="assign_disp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} {self.unit} {self.get_role_display()}"


class CaseEvent(models.Model):
    """One line of a case's timeline (办理记录): who did what, when, with which note."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=32)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status_from = models.CharField(max_length=16, blank=True)
    status_to = models.CharField(max_length=16, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["case", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class Extension(models.Model):
    """An extension request (延期申请) by the lead unit, decided by the hotline centre."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    working_days = models.PositiveSmallIntegerField(_("延长工作日"))
    reason = models.CharField(_("理由"), max_length=500)
    status = models.CharField(
        _("状态"), max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=500, blank=True)
    old_due_at = models.DateTimeField(null=True, blank=True)
    new_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.working_days}"


class SupervisionKind(models.TextChoices):
    OVERDUE = "overdue", _("超期督办")
    FLAGGED = "flagged", _("重点督办")
    REPEAT = "repeat", _("重复诉求督办")
    MANUAL = "manual", _("人工督办")


class Supervision(models.Model):
    """Supervision (督办) of a case: raised by the SLA sweep (overdue) or by a supervisor, closed when handled."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions")
    kind = models.CharField(_("类型"), max_length=10, choices=SupervisionKind.choices)
    note = models.CharField(_("督办意见"), max_length=500, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The sweep may run any number of times: one open overdue supervision per case.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="supervision_one_open_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="hotline/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.name


class KnowledgeArticle(models.Model):
    """Knowledge base entry (知识库/政策问答): an answer operators give at once to an inquiry."""

    title = models.CharField(_("标题"), max_length=200)
    question = models.TextField(_("常见问法"), blank=True)
    answer = models.TextField(_("答复口径"))
    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("诉求分类"),
    )
    keywords = models.CharField(_("关键词"), max_length=255, blank=True)
    source = models.CharField(_("依据/来源"), max_length=200, blank=True)
    is_published = models.BooleanField(_("已发布"), default=True)
    times_used = models.PositiveIntegerField(_("使用次数"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("知识库条目")
        verbose_name_plural = _("知识库")
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Open311Key(models.Model):
    """An API key of an Open311 client (Open311接口密钥), for submitting requests through /open311/v2/.

    Only the SHA-256 digest is stored; the key itself is shown once, when it is created."""

    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=16, help_text="First characters, to tell keys apart")
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311接口密钥")
        verbose_name_plural = _("Open311接口密钥")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Open311Request(models.Model):
    """What an Open311 client sent beyond the case itself: the key it used, its media link and its own ids."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="open311")
    key = models.ForeignKey(
        Open311Key, on_delete=models.PROTECT, related_name="requests", verbose_name=_("接口密钥")
    )
    media_url = models.URLField(_("图片链接"), max_length=500, blank=True)
    device_id = models.CharField(_("设备编号"), max_length=64, blank=True)
    account_id = models.CharField(_("账号编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("Open311提交记录")
        verbose_name_plural = _("Open311提交记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.key_id}"
