"""Users bound to areas, integration API keys, and the login-failure counter."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import AssignmentKind, DepartmentKind, NoticeKind, Role
from linli.core.models import OneLabelDisplay, TimeStampedModel


class Department(TimeStampedModel):
    """A body that handles cases and decides applications (民政办, 残联, 城管执法中队, 环卫所 …).

    The one identity of a department: department staff (``User.department``), the cases
    dispatched to it, the dispatch rules that name it, the case categories it answers for
    and the service items it decides all point at this row. It lives here, below cases and
    catalogue, so that both (and the users) can refer to it.
    """

    code = models.CharField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(
        _("类型"), max_length=16, choices=DepartmentKind.choices, default=DepartmentKind.AGENCY,
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class User(OneLabelDisplay, AbstractUser):
    """A staff member, resident or auditor. What they see is decided by role and areas."""

    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.RESIDENT)
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    # Department staff belong to one department; other roles have none.
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="staff",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["username"]
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        indexes: ClassVar[list[models.Index]] = [
            # Staff by role and department (who to notify of a case): residents, most of the
            # table once the portal is in use, are never looked up this way.
            models.Index(fields=["role", "department"], name="user_role_department_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


class AreaAssignment(TimeStampedModel):
    """A user's binding to an area; grid workers are primary (A角) or backup (B角) of a grid."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    area = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="assignments")
    kind = models.CharField(
        _("类型"), max_length=16, choices=AssignmentKind.choices, default=AssignmentKind.MEMBER,
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["user_id", "area_id"]
        verbose_name = _("区域授权")
        verbose_name_plural = _("区域授权")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "area"], name="assignment_user_area_uniq"),
            # One primary grid worker per grid.
            models.UniqueConstraint(
                fields=["area"], condition=models.Q(kind="primary"),
                name="assignment_one_primary_per_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.area_id} ({self.kind})"


class ApiKey(TimeStampedModel):
    """A key for an integration (IoT gateway, hotline, departmental system).

    Only a SHA-256 of the secret is stored; ``prefix`` identifies the key in logs and lists.
    """

    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("权限"), default=list)
    areas = models.ManyToManyField("geo.Area", verbose_name=_("区域"), related_name="api_keys")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginThrottle(TimeStampedModel):
    """A failed-login counter. ``key`` says whose: ``dev:<username>|<device>`` (a known device
    of the user), ``src:<username>|<source>`` (unknown clients from one address), ``user:<username>``
    (every unknown client of the username), ``ip:<address>`` (every username from one address).
    ``locked_until``: refused until then; ``last_failure_at``: counters forget after a quiet
    spell (``LINLI_LOCKOUT_FORGET_HOURS``)."""

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"


class SecurityNotice(TimeStampedModel):
    """A security notice in a user's in-app inbox (shown on the workbench home page): their
    own account throttled, or — for administrators — an account or an address throttled.

    The notification app will deliver these over its channels too; until then this table is
    the inbox (``accounts.services.security_notice_send`` is the one place that writes it)."""

    recipient = models.ForeignKey(User, verbose_name=_("接收人"), on_delete=models.CASCADE,
                                  related_name="security_notices")
    kind = models.CharField(_("类别"), max_length=32, choices=NoticeKind.choices)
    username = models.CharField(_("账号"), max_length=150, blank=True)
    source = models.CharField(_("来源地址"), max_length=64, blank=True)
    failures = models.PositiveIntegerField(_("失败次数"), default=0)
    until = models.DateTimeField(_("限制到"), null=True, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("安全提醒")
        verbose_name_plural = _("安全提醒")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["recipient", "read_at"], name="notice_recipient_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"
