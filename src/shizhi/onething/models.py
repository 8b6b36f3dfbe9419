"""Tables of 高效办成一件事 ("get one thing done efficiently"): the key-items list (重点事项清单) with its
versions and change log, each version's bundled matters (政务服务事项), applications fanned out into sub-tasks
per department (部门子任务) with promise-based handling (容缺受理) and ratings (好差评), and the standing
promotion (常态化推进) of every item in every district: roll-out state and milestones.

A version's content (name, departments, legal basis, matters with their materials and form fields) is frozen once
it leaves the draft state: services refuse every change to it, so a published version never changes.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shizhi.core.models import Area, Unit, User


class Subject(models.TextChoices):
    """Who the item serves (服务对象)."""

    PERSON = "person", _("个人")  # a citizen's life event (个人全生命周期)
    ENTERPRISE = "enterprise", _("企业")  # a business's life event (企业全生命周期)


class Stage(models.TextChoices):
    """Lifecycle stage (生命周期阶段), as in 国办发〔2025〕24号: ten for people, six for enterprises."""

    BIRTH = "birth", _("出生")
    EDUCATION = "education", _("教育")
    EMPLOYMENT = "employment", _("就业")
    LIVING = "living", _("生活")
    HOUSING = "housing", _("置业")
    TRAVEL = "travel", _("出行")
    MEDICAL = "medical", _("就医")
    ASSISTANCE = "assistance", _("救助")
    ELDERLY = "elderly", _("养老")
    AFTER_DEATH = "after_death", _("身后")
    MARKET_ENTRY = "market_entry", _("准入准营")
    HIRING = "hiring", _("招聘用工")
    TAXES = "taxes", _("纳税缴费")
    OPERATION = "operation", _("经营发展")
    CONSTRUCTION = "construction", _("工程建设")
    EXIT = "exit", _("注销退出")


PERSON_STAGES = frozenset(
    {
        Stage.BIRTH,
        Stage.EDUCATION,
        Stage.EMPLOYMENT,
        Stage.LIVING,
        Stage.HOUSING,
        Stage.TRAVEL,
        Stage.MEDICAL,
        Stage.ASSISTANCE,
        Stage.ELDERLY,
        Stage.AFTER_DEATH,
    }
)
ENTERPRISE_STAGES = frozenset(set(Stage) - PERSON_STAGES)


class Level(models.TextChoices):
    """Which list the item belongs to (清单层级)."""

    NATIONAL = "national", _("国家重点事项")  # a national batch (国家层面分批推出)
    PROVINCIAL = "provincial", _("省级事项")  # added by the province
    LOCAL = "local", _("地方特色事项")  # the city's or district's own 特色清单


class Item(models.Model):
    """An item of the list (一件事): its stable identity. What it contains lives in its versions."""

    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    subject = models.CharField(_("服务对象"), max_length=16, choices=Subject.choices)
    stage = models.CharField(_("生命周期阶段"), max_length=16, choices=Stage.choices)
    level = models.CharField(_("清单层级"), max_length=16, choices=Level.choices)
    # National items: the batch that announced it, "2024-1" = 2024年第一批; empty for provincial and local items.
    batch = models.CharField(_("批次"), max_length=16, blank=True)
    # The city or district whose list holds the item (local items); empty: the whole platform's city.
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("所属区划")
    )
    sort = models.PositiveIntegerField(_("排序"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("创建人")
    )

    class Meta:
        verbose_name = pgettext_lazy("model", "一件事")
        verbose_name_plural = pgettext_lazy("plural", "一件事")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.code


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")  # being edited by the list office; the only editable state
    IN_REVIEW = "in_review", _("审核中")  # submitted for review; frozen, may be published or sent back
    PUBLISHED = "published", _("已发布")  # what citizens see; at most one per item
    WITHDRAWN = "withdrawn", _("已撤回")  # taken off the public list (the item is no longer offered)
    SUPERSEDED = "superseded", _("已被替代")  # a later version was published over it


class ItemVersion(models.Model):
    """One version of an item's content (清单版本). Only a draft can change; a published version is frozen."""

    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="versions", verbose_name=_("一件事")
    )
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(
        _("状态"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    name = models.CharField(_("名称"), max_length=100)
    summary = models.TextField(_("简介"), blank=True)
    # Plain words citizens use for it ("孩子出生", "上户口"): what the search matches besides the name.
    keywords = models.CharField(_("关键词"), max_length=255, blank=True)
    lead_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("牵头单位")
    )
    lead_department_name = models.CharField(_("牵头部门"), max_length=100)
    # Names of the supporting departments (配合部门), in order.
    supporting_departments = models.JSONField(_("配合部门"), default=list, blank=True)
    legal_basis = models.TextField(_("设立依据"), blank=True)
    # Why this version exists (what changed), written by whoever drafted it.
    change_note = models.CharField(_("修订说明"), max_length=255, blank=True)
    # Bundled matters and their contents are official data unless marked as demo content (示例内容).
    is_demo = models.BooleanField(_("示例内容"), default=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("起草人")
    )
    submitted_at = models.DateTimeField(_("提交审核时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("发布人")
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "清单版本")
        verbose_name_plural = pgettext_lazy("plural", "清单版本")
        ordering = ["item", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="onething_version_unique_number"),
            # At most one published version per item: the one citizens see.
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(status="published"),
                name="onething_one_published_version",
            ),
        ]
        indexes = [models.Index(fields=["status", "item"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class MaterialKind(models.TextChoices):
    """Form in which a material is handed in (材料形式)."""

    ORIGINAL = "original", _("原件")
    COPY = "copy", _("复印件")
    E_FILE = "e_file", _("电子文件")


class FieldType(models.TextChoices):
    """Type of a form field (表单字段类型); the merged form validates an application's data with it."""

    TEXT = "text", _("文本")
    NUMBER = "number", _("数字")
    DATE = "date", _("日期")
    PHONE = "phone", _("手机号")
    ID_NUMBER = "id_number", _("身份证号")
    CREDIT_CODE = "credit_code", _("统一社会信用代码")
    CHOICE = "choice", _("单选")
    BOOLEAN = "boolean", _("是/否")


class Matter(models.Model):
    """A bundled government service matter (政务服务事项) of one version: which department handles it, the materials
    and form fields it needs, its steps and time limits, and which matters must finish before it starts.

    ``materials`` is a list of ``{"key", "name", "kind", "shared_data", "required", "promisable", "note"}``:
    ``key`` identifies the same material across matters (一套材料 deduplicates by it), ``shared_data`` marks a
    certificate the government already holds (免提交), ``promisable`` one that may be handed in later (容缺).
    ``fields`` is a list of ``{"key", "label", "type", "required", "options"}`` (一表申请 merges them by key).
    Both are validated by ``services.parse_matter``."""

    version = models.ForeignKey(
        ItemVersion, on_delete=models.CASCADE, related_name="matters", verbose_name=_("清单版本")
    )
    code = models.CharField(_("事项编码"), max_length=32)
    name = models.CharField(_("事项名称"), max_length=100)
    department_name = models.CharField(_("办理部门"), max_length=100)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("承办单位")
    )
    materials = models.JSONField(_("申请材料"), default=list, blank=True)
    fields = models.JSONField(_("表单字段"), default=list, blank=True)
    steps = models.PositiveSmallIntegerField(_("办理环节数"), default=1)
    statutory_days = models.PositiveSmallIntegerField(_("法定时限(工作日)"), default=0)
    promised_days = models.PositiveSmallIntegerField(_("承诺时限(工作日)"), default=0)
    fee = models.CharField(_("收费"), max_length=100, blank=True, default="不收费")
    online = models.BooleanField(_("可全程网办"), default=False)
    # Trips to a window when the matter is done on its own (跑动次数).
    trips = models.PositiveSmallIntegerField(_("跑动次数"), default=1)
    # Codes of matters of the same version that must be done before this one starts (前置事项).
    depends_on = models.JSONField(_("前置事项"), default=list, blank=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_demo = models.BooleanField(_("示例内容"), default=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "政务服务事项")
        verbose_name_plural = pgettext_lazy("plural", "政务服务事项")
        ordering = ["version", "sort", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="onething_matter_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.department_name}）"


class ChangeAction(models.TextChoices):
    CREATE = "create", _("新建事项")
    DRAFT = "draft", _("起草新版本")
    UPDATE = "update", _("修改草稿")
    SUBMIT = "submit", _("提交审核")
    RETURN = "return", _("退回修改")
    PUBLISH = "publish", _("发布")
    WITHDRAW = "withdraw", _("撤回")


class ItemChange(models.Model):
    """The list's change log (变更记录): who did what to which version, when, and why."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="changes", verbose_name=_("一件事"))
    version = models.ForeignKey(
        ItemVersion,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="changes",
        verbose_name=_("清单版本"),
    )
    action = models.CharField(_("操作"), max_length=16, choices=ChangeAction.choices)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    actor_label = models.CharField(_("操作人账号"), max_length=150, blank=True)
    note = models.CharField(_("说明"), max_length=255, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "清单变更记录")
        verbose_name_plural = pgettext_lazy("plural", "清单变更记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


# --------------------------------------------------------------------------------------------------------------
# Applications (一件事申请)
# --------------------------------------------------------------------------------------------------------------


class Channel(models.TextChoices):
    ONLINE = "online", _("网上申请")  # 一网办理: the applicant files from the portal or the app
    WINDOW = "window", _("窗口受理")  # 一窗受理: a window clerk files for the applicant


class ApplicationStatus(models.TextChoices):
    """One status for the applicant, derived from the sub-tasks (except withdrawn)."""

    SUBMITTED = "submitted", _("已提交")  # filed; no department has accepted its part yet
    IN_PROGRESS = "in_progress", _("办理中")  # at least one department is working or done
    AWAITING_MATERIAL = (
        "awaiting_material",
        _("待补材料"),
    )  # a promised (容缺) material is still to be handed in
    COMPLETED = "completed", _("已办结")  # every department's part is done
    REJECTED = "rejected", _("不予办理")  # a department refused its part; the rest was cancelled
    WITHDRAWN = "withdrawn", _("已撤回")  # the applicant withdrew it before it ended


OPEN_APPLICATION_STATUSES = frozenset(
    {ApplicationStatus.SUBMITTED, ApplicationStatus.IN_PROGRESS, ApplicationStatus.AWAITING_MATERIAL}
)
ENDED_APPLICATION_STATUSES = frozenset({ApplicationStatus.COMPLETED, ApplicationStatus.REJECTED})


class Application(models.Model):
    """An application for one item (一件事申请): one form, one set of materials, one status and one result.

    Filed against the published version of the moment (``version``), which never changes afterwards."""

    number = models.CharField(_("申请编号"), max_length=24, unique=True)
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="applications", verbose_name=_("一件事")
    )
    version = models.ForeignKey(
        ItemVersion, on_delete=models.PROTECT, related_name="applications", verbose_name=_("清单版本")
    )
    applicant = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="onething_applications",
        verbose_name=_("申请人账号"),
    )
    applicant_name = models.CharField(_("申请人"), max_length=64)
    applicant_phone = models.CharField(_("联系电话"), max_length=20)
    # Enterprise items: the business applying (经营主体名称, 统一社会信用代码).
    org_name = models.CharField(_("单位名称"), max_length=100, blank=True)
    org_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    subject = models.CharField(_("服务对象"), max_length=16, choices=Subject.choices)
    channel = models.CharField(_("申请渠道"), max_length=16, choices=Channel.choices, default=Channel.ONLINE)
    # The district where it is handled (办理地): promotion measures performance per district.
    district = models.ForeignKey(
        Area, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("办理区县")
    )
    area_path = models.CharField(_("区域路径"), max_length=255, blank=True, db_index=True)
    form_data = models.JSONField(_("申请表"), default=dict)
    status = models.CharField(
        _("状态"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    # Done entirely online (全程网办): filed online and every matter can be handled online.
    fully_online = models.BooleanField(_("全程网办"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now, db_index=True)
    # The promise to the applicant: working days along the critical path of the matters' promised limits.
    due_at = models.DateTimeField(_("承诺办结时间"))
    finished_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    result = models.TextField(_("办理结果"), blank=True)
    withdrawn_reason = models.CharField(_("撤回原因"), max_length=255, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "一件事申请")
        verbose_name_plural = pgettext_lazy("plural", "一件事申请")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["item", "district", "submitted_at"]),
            models.Index(fields=["status", "submitted_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPLICATION_STATUSES

    @property
    def has_ended(self) -> bool:
        return self.status in ENDED_APPLICATION_STATUSES


class MaterialSource(models.TextChoices):
    UPLOAD = "upload", _("申请人上传")
    SHARED = "shared", _("共享获取(免提交)")  # the government holds it; the data-sharing module supplies it


class ApplicationMaterial(models.Model):
    """A material of an application (申请材料): an uploaded file, or a certificate the government already holds."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="materials", verbose_name=_("申请")
    )
    material_key = models.CharField(_("材料标识"), max_length=64)
    name = models.CharField(_("材料名称"), max_length=100)
    source = models.CharField(
        _("来源"), max_length=16, choices=MaterialSource.choices, default=MaterialSource.UPLOAD
    )
    file = models.FileField(_("文件"), upload_to="onething/%Y/%m/", blank=True)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小(字节)"), default=0)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("上传人")
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "申请材料")
        verbose_name_plural = pgettext_lazy("plural", "申请材料")
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "material_key"], name="onething_material_once_per_application"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SubTaskStatus(models.TextChoices):
    WAITING = "waiting", _("等待前置")  # a matter it depends on is not done yet
    READY = "ready", _("待受理")  # may start; the department's clock runs from now
    IN_PROGRESS = "in_progress", _("办理中")  # the department accepted it
    DONE = "done", _("已办结")
    REJECTED = "rejected", _("不予办理")
    CANCELLED = "cancelled", _("已取消")  # the application was rejected elsewhere or withdrawn


OPEN_SUBTASK_STATUSES = frozenset({SubTaskStatus.WAITING, SubTaskStatus.READY, SubTaskStatus.IN_PROGRESS})


class SubTask(models.Model):
    """A department's part of an application (部门子任务): one per bundled matter. It becomes ready when the
    matters it depends on are done; its deadline counts the matter's promised working days from then."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subtasks", verbose_name=_("申请")
    )
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="+", verbose_name=_("事项"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("承办单位")
    )
    department_name = models.CharField(_("办理部门"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=16, choices=SubTaskStatus.choices, default=SubTaskStatus.WAITING
    )
    ready_at = models.DateTimeField(_("可受理时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    handler = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("经办人")
    )
    result = models.TextField(_("办理结果"), blank=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = pgettext_lazy("model", "部门子任务")
        verbose_name_plural = pgettext_lazy("plural", "部门子任务")
        ordering = ["application", "sort", "id"]
        indexes = [models.Index(fields=["unit", "status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.matter_id} {self.department_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SUBTASK_STATUSES


class Promise(models.Model):
    """Promise-based handling (容缺受理): a sub-task goes on without one material, which the applicant promises
    to hand in by ``due_at``. While it is not supplied the sub-task cannot be completed; past its deadline it
    is overdue and shows as such."""

    subtask = models.ForeignKey(
        SubTask, on_delete=models.CASCADE, related_name="promises", verbose_name=_("子任务")
    )
    material_key = models.CharField(_("材料标识"), max_length=64)
    material_name = models.CharField(_("材料名称"), max_length=100)
    due_at = models.DateTimeField(_("补交期限"))
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("准予人")
    )
    granted_at = models.DateTimeField(_("准予时间"), default=timezone.now)
    supplied_at = models.DateTimeField(_("补交时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("model", "容缺承诺")
        verbose_name_plural = pgettext_lazy("plural", "容缺承诺")
        ordering = ["subtask", "due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subtask", "material_key"], name="onething_promise_once_per_material"
            )
        ]

    def __str__(self) -> str:
        return f"{self.material_name} → {self.due_at:%Y-%m-%d}"

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.supplied_at is None and self.due_at < (now or timezone.now())


class ApplicationEvent(models.Model):
    """The application's timeline (办理记录): who did what, to which sub-task, when."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name=_("申请")
    )
    subtask = models.ForeignKey(
        SubTask,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("子任务"),
    )
    action = models.CharField(_("操作"), max_length=32)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("单位")
    )
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "申请办理记录")
        verbose_name_plural = pgettext_lazy("plural", "申请办理记录")
        ordering = ["application", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class Rating(models.Model):
    """The applicant's rating of the service (好差评): five levels with reasons, once, after the application ended."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="rating", verbose_name=_("申请")
    )
    score = models.PositiveSmallIntegerField(_("评价等级"))  # 5 非常满意 ... 1 非常不满意
    reasons = models.JSONField(_("评价原因"), default=list, blank=True)
    comment = models.CharField(_("评价内容"), max_length=500, blank=True)
    rated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("评价人")
    )
    created_at = models.DateTimeField(_("评价时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "好差评")
        verbose_name_plural = pgettext_lazy("plural", "好差评")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="onething_rating_score_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.score}"


# --------------------------------------------------------------------------------------------------------------
# Standing promotion (常态化推进): models here, services and pages in promotion.py
# --------------------------------------------------------------------------------------------------------------


class RolloutState(models.TextChoices):
    PLANNED = "planned", _("计划中")  # scheduled, not yet offered in the district
    PILOTING = "piloting", _("试点中")  # offered at some windows or streets
    ONLINE = "online", _("已上线")  # offered district-wide, at the window and online
    FULLY_ONLINE = "fully_online", _("全程网办")  # can be done entirely online


class Rollout(models.Model):
    """The roll-out of one item in one district (推进情况), with its target dates and performance targets."""

    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="rollouts", verbose_name=_("一件事")
    )
    district = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("区县"))
    state = models.CharField(
        _("推进状态"), max_length=16, choices=RolloutState.choices, default=RolloutState.PLANNED
    )
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("责任单位")
    )
    target_pilot_date = models.DateField(_("计划试点日期"), null=True, blank=True)
    target_online_date = models.DateField(_("计划上线日期"), null=True, blank=True)
    target_fully_online_date = models.DateField(_("计划全程网办日期"), null=True, blank=True)
    # Performance targets (目标值), shares as fractions 0..1 and the rating on the 1-5 scale.
    target_on_time_rate = models.FloatField(_("目标按时办结率"), default=0.95)
    target_rating = models.FloatField(_("目标平均评价"), default=4.5)
    target_online_share = models.FloatField(_("目标全程网办占比"), default=0.5)
    state_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("model", "推进情况")
        verbose_name_plural = pgettext_lazy("plural", "推进情况")
        ordering = ["item", "district"]
        constraints = [
            models.UniqueConstraint(fields=["item", "district"], name="onething_rollout_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.district_id}: {self.state}"


class Milestone(models.Model):
    """A dated milestone of a roll-out (推进节点) with its owner (责任人/责任单位)."""

    rollout = models.ForeignKey(
        Rollout, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("推进情况")
    )
    title = models.CharField(_("节点"), max_length=100)
    due_date = models.DateField(_("计划完成日期"))
    owner_name = models.CharField(_("责任人"), max_length=64, blank=True)
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("责任单位")
    )
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("model", "推进节点")
        verbose_name_plural = pgettext_lazy("plural", "推进节点")
        ordering = ["rollout", "due_date", "id"]

    def __str__(self) -> str:
        return self.title
