"""Cases (事件): taxonomy, dispatch rules, the case itself and its timeline.

Departments are ``linli.accounts.models.Department`` (shared with the staff and the service
catalogue).

Only :func:`linli.cases.services.case_transition` (and the intake path in the same module)
writes ``Case.status``; a test greps the code base to keep it so.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Department
from linli.cases.choices import (
    OPEN_STATUSES,
    CaseSource,
    CaseStage,
    CaseStatus,
    CategoryDomain,
    DeadlineUnit,
    DispatchTarget,
    SupervisionLevel,
)
from linli.core.models import OneLabelDisplay, TimeStampedModel


class Category(TimeStampedModel):
    """A category of the two-level catalogue: 大类 when ``parent`` is null, else 小类.

    Stage deadlines: ``register_hours``, ``dispatch_hours``, ``verify_hours`` and
    ``close_hours`` count working hours; the handling deadline is ``handle_amount`` working
    hours or working days (``handle_unit``), on the Chinese public-holiday calendar.
    """

    parent = models.ForeignKey(
        "self", verbose_name=_("大类"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    domain = models.CharField(_("领域"), max_length=16, choices=CategoryDomain.choices)
    default_level = models.PositiveSmallIntegerField(_("默认等级"), default=3)
    register_hours = models.PositiveSmallIntegerField(_("立案时限(工作小时)"), default=1)
    dispatch_hours = models.PositiveSmallIntegerField(_("派遣时限(工作小时)"), default=1)
    handle_amount = models.PositiveSmallIntegerField(_("处置时限"), default=3)
    handle_unit = models.CharField(
        _("处置时限单位"), max_length=8, choices=DeadlineUnit.choices, default=DeadlineUnit.DAYS,
    )
    verify_hours = models.PositiveSmallIntegerField(_("核查时限(工作小时)"), default=4)
    close_hours = models.PositiveSmallIntegerField(_("结案时限(工作小时)"), default=4)
    department = models.ForeignKey(
        Department, verbose_name=_("责任部门"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="categories",
    )
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    # Open311 service-definition attributes asked of reporters (see linli.cases.taxonomy).
    attributes = models.JSONField(_("附加属性"), default=list, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["order", "code"]
        verbose_name = _("事件类别")
        verbose_name_plural = _("事件类别")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(default_level__gte=1, default_level__lte=5),
                name="category_level_1_5",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_major(self) -> bool:
        return self.parent_id is None


class DispatchRule(TimeStampedModel):
    """Category × area → who gets the case. Null category/area match anything.

    The most specific rule wins (小类 over 大类 over any; deeper area over shallower), then
    the higher ``priority``. Cases with ``level >= approval_min_level`` dispatched by
    community staff need a street dispatcher's approval.
    """

    category = models.ForeignKey(
        Category, verbose_name=_("类别"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    area = models.ForeignKey(
        "geo.Area", verbose_name=_("区域"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    target = models.CharField(_("派遣对象"), max_length=16, choices=DispatchTarget.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    priority = models.IntegerField(_("优先级(越大越优先)"), default=100)
    approval_min_level = models.PositiveSmallIntegerField(_("需审批的最低等级"), default=6)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-priority", "id"]
        verbose_name = _("派遣规则")
        verbose_name_plural = _("派遣规则")

    def __str__(self) -> str:
        return f"{self.category or '*'} @ {self.area or '*'} → {self.get_target_display()}"


class CaseNumberSequence(models.Model):
    """The last case number handed out per day; bumped atomically (INSERT … ON CONFLICT)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["day"]
        verbose_name = _("事件编号序列")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Case(TimeStampedModel):
    """One case (事件) from intake to evaluation.

    ``stage``/``stage_due_at`` hold the clock of the current stage, ``stage_started_at``
    when it began (the sweeper compares overdue time with the stage length). ``version``
    increases with every write, for compare-and-swap between people acting at once.
    """

    PII_FIELDS: ClassVar[dict[str, str]] = {"callback_phone_enc": "case.callback_phone"}

    number = models.CharField(_("编号"), max_length=32, unique=True)
    source = models.CharField(_("来源"), max_length=16, choices=CaseSource.choices)
    source_key = models.CharField(_("外部幂等键"), max_length=100, blank=True, default="")
    category = models.ForeignKey(
        Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="cases",
    )
    level = models.PositiveSmallIntegerField(_("等级"), default=3)
    description = models.TextField(_("描述"))
    # The only text of the case the public feed (Open311) shows; masked again when shown.
    public_description = models.TextField(_("公开描述"), blank=True, default="")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    grid = models.ForeignKey(
        "geo.Area", verbose_name=_("网格"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="cases",
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.REPORTED,
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上报人"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="reported_cases",
    )
    reporter_name = models.CharField(_("上报人姓名"), max_length=50, blank=True)
    callback_phone_enc = models.TextField(_("回访电话(密文)"), blank=True)
    callback_phone_masked = models.CharField(_("回访电话"), max_length=20, blank=True)
    # Answers to the category's attributes ({code: value or [values]}), as reported.
    attributes = models.JSONField(_("附加属性"), default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("处置人"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="assigned_cases",
    )
    # Indexed through (department, status) and (department, grid), not on its own.
    department = models.ForeignKey(
        Department, verbose_name=_("处置部门"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="cases", db_index=False,
    )
    dispatch_rule = models.ForeignKey(
        DispatchRule, verbose_name=_("派遣规则"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="cases",
    )
    handled_on_spot = models.BooleanField(_("自行处置"), default=False)
    stage = models.CharField(
        _("当前阶段"), max_length=16, choices=CaseStage.choices, default=CaseStage.REGISTER,
        blank=True,
    )
    stage_started_at = models.DateTimeField(_("阶段开始"), null=True, blank=True)
    stage_due_at = models.DateTimeField(_("阶段时限"), null=True, blank=True)
    registered_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("处置时限"), null=True, blank=True)
    supervision_level = models.PositiveSmallIntegerField(
        _("督办等级"), choices=SupervisionLevel.choices, default=SupervisionLevel.NONE,
    )
    # How many stages of this case ran over their deadline (超期), for the statistics.
    overdue_count = models.PositiveSmallIntegerField(_("超期次数"), default=0)
    escalated_to = models.ForeignKey(
        "geo.Area", verbose_name=_("提级至"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="escalated_cases",
    )
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    # A pending extension request: the deadline asked for (null when none is pending).
    extension_requested_until = models.DateTimeField(_("申请延期至"), null=True, blank=True)
    # Remaining time of the stage when suspended; the clock restarts with it on resume.
    suspended_remaining_s = models.PositiveIntegerField(_("挂起时剩余秒数"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="merged_cases",
    )
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["source", "source_key"], condition=~models.Q(source_key=""),
                name="case_source_key_uniq",
            ),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="case_level_1_5"),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_1_5",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["stage_due_at"], condition=models.Q(status__in=OPEN_STATUSES),
                name="case_open_stage_due_idx",
            ),
            models.Index(fields=["grid", "status"], name="case_grid_status_idx"),
            # The cockpit's open cases by grid and level, and its map's newest open cases:
            # an index-only read of the open cases alone (a few per cent of the table)
            # instead of (grid, status) probes and a heap read per open case for its level.
            models.Index(
                fields=["grid", "level"], include=["id", "lon", "lat"], condition=models.Q(status__in=OPEN_STATUSES),
                name="case_open_grid_level_idx",
            ),
            models.Index(fields=["assignee", "status"], name="case_assignee_status_idx"),
            models.Index(fields=["department", "status"], name="case_department_status_idx"),
            # A department's scope is its cases in the user's grids: one range of this index
            # instead of a bitmap of every case of those grids (a district: 3,000,000).
            models.Index(fields=["department", "grid"], name="case_department_grid_idx"),
            models.Index(fields=["category", "status"], name="case_category_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseEvent(OneLabelDisplay, models.Model):
    """One entry of a case's timeline: who did what, when, from which status to which."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="case_events",
    )
    actor_label = models.CharField(_("操作人"), max_length=150)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["at", "id"]
        verbose_name = _("事件流转记录")
        verbose_name_plural = _("事件流转记录")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["case", "at"], name="case_event_case_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_status}→{self.to_status}"


def _photo_path(instance: CasePhoto, filename: str) -> str:
    # Content-addressed: the name reveals nothing about the case or the uploader.
    return f"cases/{instance.sha256[:2]}/{instance.sha256}{filename[filename.rfind('.'):]}"


class CasePhoto(models.Model):
    """A photo of a case (report, handling, verification), stored under the data folder."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos",
    )
    file = models.FileField(_("文件"), upload_to=_photo_path, max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(_("类型"), max_length=32)
    size = models.PositiveIntegerField(_("大小"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        verbose_name = _("事件照片")
        verbose_name_plural = _("事件照片")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.sha256[:8]}"


from linli.cases.stats_models import CaseRollup, CaseRollupArea  # noqa: E402, F401 -- statistics rollups
