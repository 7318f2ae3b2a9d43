"""Service items (政务服务事项), their versions, applications with their events and files,
service windows with appointments, and the notices sent to applicants.

An item's definition (form, materials, rule, time limit) lives in an immutable
:class:`ServiceItemVersion`; an application keeps the version it was filed under.
Only ``linli.catalogue.services.application_transition`` writes ``Application.status``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.catalogue.choices import (
    OPEN_STATUSES,
    ApplicationAction,
    ApplicationStatus,
    AppointmentStatus,
    Channel,
    Decision,
    ItemKind,
    ItemLevel,
)
from linli.core.models import OneLabelDisplay, TimeStampedModel


def application_file_storage() -> FileSystemStorage:
    """Uploads live under DATA_DIR/files/applications, outside the web root; never served
    by URL, only streamed by a view after a scope check."""
    return FileSystemStorage(location=Path(settings.DATA_DIR) / "files" / "applications", base_url=None)


class ServiceItem(TimeStampedModel):
    """A service item of the catalogue; its definition is in ``current_version``."""

    code = models.CharField(_("事项编码"), max_length=40, unique=True)
    name = models.CharField(_("事项名称"), max_length=200)
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("主管部门"), on_delete=models.PROTECT, related_name="service_items",
    )
    level = models.CharField(_("事项层级"), max_length=16, choices=ItemLevel.choices, default=ItemLevel.STREET)
    kind = models.CharField(_("办件类型"), max_length=16, choices=ItemKind.choices, default=ItemKind.PROMISED)
    current_version = models.ForeignKey(
        "ServiceItemVersion", verbose_name=_("当前版本"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    active = models.BooleanField(_("在用"), default=True, db_index=True)
    # Extra words for the one-sentence search (synonyms, colloquial names).
    search_keywords = models.TextField(_("检索关键词"), blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("服务事项")
        verbose_name_plural = _("服务事项")

    def __str__(self) -> str:
        return f"{self.name}({self.code})"


class ServiceItemVersion(TimeStampedModel):
    """One published, immutable definition of an item: limits, materials, form and rule."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("版本号"))
    time_limit_days = models.PositiveSmallIntegerField(_("法定时限(工作日)"))
    promised_days = models.PositiveSmallIntegerField(_("承诺时限(工作日)"))
    conditions = models.TextField(_("申请条件"), blank=True)
    # [{code, name, required, example, accept: ["image", "pdf"]}]
    materials = models.JSONField(_("申请材料"), default=list, blank=True)
    fees = models.CharField(_("收费"), max_length=200, default="不收费")
    legal_basis = models.TextField(_("设定依据"), blank=True)
    steps = models.JSONField(_("办理流程"), default=list, blank=True)
    form = models.JSONField(_("申请表单"), default=dict, blank=True)
    # Instant-approval rule (condition JSON of linli.catalogue.rules) or null.
    rules = models.JSONField(_("秒批规则"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["item_id", "-version"]
        verbose_name = _("事项版本")
        verbose_name_plural = _("事项版本")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["item", "version"], name="catalogue_item_version_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.version}"


class Application(TimeStampedModel):
    """An application (申请/办件) for one item version, scoped by its community.

    ID numbers and phones inside ``data`` are stored masked under the field key and
    encrypted under ``<key>_enc``. ``version`` is bumped on every status change so that
    concurrent clerks are refused (compare-and-swap) instead of overwriting each other.
    """

    number = models.CharField(_("申请编号"), max_length=32, unique=True)
    item_version = models.ForeignKey(ServiceItemVersion, on_delete=models.PROTECT, related_name="applications")
    applicant = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="applications",
    )
    applicant_name = models.CharField(_("申请人"), max_length=50)
    applicant_id_masked = models.CharField(_("申请人证件号"), max_length=18, blank=True)
    community = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="applications")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.WINDOW)
    status = models.CharField(
        _("状态"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT,
    )
    data = models.JSONField(_("表单数据"), default=dict, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结时限"), null=True, blank=True)
    paused_at = models.DateTimeField(_("计时暂停于"), null=True, blank=True)
    paused_working_days = models.PositiveIntegerField(_("暂停工作日"), default=0)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    decision = models.CharField(_("结果"), max_length=16, choices=Decision.choices, blank=True, default="")
    decision_reason = models.TextField(_("结果说明"), blank=True)
    rule_result = models.JSONField(_("规则判定"), null=True, blank=True)
    # Overdue supervision (督办), set by application_overdue_sweep.
    overdue_at = models.DateTimeField(_("超期时间"), null=True, blank=True)
    supervised_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # A double click or retry with the same key returns the first application.
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="catalogue_application_idempotency_uniq",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["community", "status", "-created_at"], name="catalogue_app_scope_idx"),
            models.Index(fields=["status", "-created_at"], name="catalogue_app_status_idx"),
            models.Index(
                fields=["due_at"], condition=models.Q(status__in=sorted(OPEN_STATUSES)),
                name="catalogue_app_due_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ApplicationEvent(OneLabelDisplay, models.Model):
    """One step of an application's history: who did what, when, and what was missing."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=32, choices=ApplicationAction.choices)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    actor_label = models.CharField(_("操作人"), max_length=150)
    note = models.TextField(_("说明"), blank=True)
    missing = models.JSONField(_("缺少材料"), default=list, blank=True)
    at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["application_id", "at", "id"]
        verbose_name = _("办件记录")
        verbose_name_plural = _("办件记录")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.action}"


class ApplicationFile(TimeStampedModel):
    """An uploaded material. The content type is sniffed from the bytes, not trusted."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    material_code = models.CharField(_("材料编码"), max_length=40)
    file = models.FileField(_("文件"), storage=application_file_storage, max_length=255)
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("类型"), max_length=64)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["application_id", "material_code", "id"]
        verbose_name = _("申请材料文件")
        verbose_name_plural = _("申请材料文件")

    def __str__(self) -> str:
        return f"{self.material_code}: {self.original_name}"


class NumberSequence(models.Model):
    """A named counter (application numbers per day, queue numbers per window and day).

    Incremented under a row lock so numbers are gap-free and unique per key.
    """

    key = models.CharField(max_length=80, primary_key=True)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["key"]
        verbose_name = _("序号")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ServiceWindow(TimeStampedModel):
    """A service window (窗口) of a community or street hall with its opening hours.

    ``opening_hours`` maps ISO weekday ("1".."7") to periods ``[["08:30", "11:30"], …]``;
    weekdays missing from it are closed. Public holidays are closed whatever it says.
    """

    code = models.CharField(_("窗口编码"), max_length=40, unique=True)
    name = models.CharField(_("窗口名称"), max_length=100)
    community = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="service_windows")
    items = models.ManyToManyField(ServiceItem, verbose_name=_("可办事项"), blank=True, related_name="windows")
    opening_hours = models.JSONField(_("开放时间"), default=dict)
    slot_minutes = models.PositiveSmallIntegerField(_("时段长度(分钟)"), default=30)
    capacity_per_slot = models.PositiveSmallIntegerField(_("每时段名额"), default=2)
    active = models.BooleanField(_("在用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("服务窗口")
        verbose_name_plural = _("服务窗口")

    def __str__(self) -> str:
        return self.name


class Appointment(TimeStampedModel):
    """A booking of one seat of one slot at a window.

    ``seat`` (1..capacity) makes over-booking impossible: (window, slot_start, seat) is
    unique among live bookings, so two concurrent bookings of the last seat cannot both
    commit; the loser retries the next seat and gives up when none is left.
    """

    window = models.ForeignKey(ServiceWindow, on_delete=models.PROTECT, related_name="appointments")
    slot_start = models.DateTimeField(_("时段开始"))
    seat = models.PositiveSmallIntegerField(_("座次"))
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments",
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone_enc = models.TextField(_("电话(密文)"), blank=True)
    phone_bidx = models.CharField(max_length=32, blank=True)
    phone_masked = models.CharField(_("电话"), max_length=20, blank=True)
    item = models.ForeignKey(ServiceItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    status = models.CharField(
        _("状态"), max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED,
    )
    # Queue number (取号) given at check-in, e.g. "A007"; unique per window and day.
    number = models.CharField(_("排队号"), max_length=10, blank=True)
    queue_day = models.DateField(_("排队日期"), null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    checked_in_at = models.DateTimeField(_("取号时间"), null=True, blank=True)
    served_at = models.DateTimeField(_("办理时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    PII_FIELDS: ClassVar[dict[str, str]] = {"phone_enc": "appointment.phone"}

    class Meta:
        ordering: ClassVar[list[str]] = ["slot_start", "seat", "id"]
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["window", "slot_start", "seat"],
                condition=~models.Q(status=AppointmentStatus.CANCELLED),
                name="catalogue_appointment_seat_uniq",
            ),
            models.UniqueConstraint(
                fields=["slot_start", "person"],
                condition=~models.Q(status=AppointmentStatus.CANCELLED) & models.Q(person__isnull=False),
                name="catalogue_appointment_person_slot_uniq",
            ),
            models.UniqueConstraint(
                fields=["window", "slot_start", "phone_bidx"],
                condition=~models.Q(status=AppointmentStatus.CANCELLED) & ~models.Q(phone_bidx=""),
                name="catalogue_appointment_phone_slot_uniq",
            ),
            models.UniqueConstraint(
                fields=["window", "queue_day", "number"],
                condition=~models.Q(number=""),
                name="catalogue_appointment_queue_uniq",
            ),
            models.CheckConstraint(condition=models.Q(seat__gte=1), name="catalogue_appointment_seat_positive"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["window", "slot_start"], name="catalogue_appt_window_slot_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.window_id} {self.slot_start:%Y-%m-%d %H:%M} #{self.seat}"
