"""Enumerations of the service catalogue: item levels and kinds, application statuses,
workflow actions, channels, appointment statuses and error codes."""

from __future__ import annotations

import enum

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemLevel(models.TextChoices):
    """Which level of government handles the item (事项层级)."""

    DISTRICT = "district", _("区级")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")


class ItemKind(models.TextChoices):
    """Instant items (即办件) are decided on the spot; promised items (承诺件) within a limit."""

    INSTANT = "instant", _("即办件")
    PROMISED = "promised", _("承诺件")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    PRE_REVIEW = "pre_review", _("预受理")
    RETURNED = "returned", _("退回补正")
    RESUBMITTED = "resubmitted", _("已补正")
    FORWARDED = "forwarded", _("已转部门")
    APPROVED = "approved", _("已办结(准予)")
    REJECTED = "rejected", _("已办结(不予)")
    WITHDRAWN = "withdrawn", _("已撤回")


# Statuses in which the legal clock may run (the due_at partial index covers these).
OPEN_STATUSES: frozenset[str] = frozenset({
    ApplicationStatus.SUBMITTED, ApplicationStatus.PRE_REVIEW, ApplicationStatus.RETURNED,
    ApplicationStatus.RESUBMITTED, ApplicationStatus.FORWARDED,
})
FINAL_STATUSES: frozenset[str] = frozenset({
    ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN,
})


class ApplicationAction(models.TextChoices):
    SUBMIT = "submit", _("提交")
    INSTANT_DECIDE = "instant_decide", _("即时判定")
    START_PRE_REVIEW = "start_pre_review", _("开始预受理")
    RETURN_FOR_CORRECTION = "return_for_correction", _("退回补正")
    RESUBMIT = "resubmit", _("补正提交")
    FORWARD = "forward", _("转部门办理")
    APPROVE = "approve", _("准予")
    REJECT = "reject", _("不予")
    WITHDRAW = "withdraw", _("撤回")


class Decision(models.TextChoices):
    NONE = "", _("未决定")
    APPROVED = "approved", _("准予")
    REJECTED = "rejected", _("不予")


class Channel(models.TextChoices):
    WINDOW = "window", _("窗口代办")
    ONLINE = "online", _("网上申请")
    SELF_SERVICE = "self_service", _("自助终端")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CANCELLED = "cancelled", _("已取消")
    CHECKED_IN = "checked_in", _("已取号")
    DONE = "done", _("已办理")
    NO_SHOW = "no_show", _("未到")


class CatalogueErrorCode(enum.StrEnum):
    """Error codes of the catalogue beside :class:`linli.core.errors.ErrorCode`."""

    ILLEGAL_TRANSITION = "illegal_transition"
    CONFLICT = "conflict"
    SLOT_FULL = "slot_full"
    SLOT_UNAVAILABLE = "slot_unavailable"
    DOUBLE_BOOKING = "double_booking"
    FILE_TOO_LARGE = "file_too_large"
    FILE_TYPE = "file_type"
    NO_VERSION = "no_version"
