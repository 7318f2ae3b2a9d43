"""Kinds of writes the phone queues, how the server answered them, and correction targets."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WriteKind(models.TextChoices):
    """What one queued write does (one service of another app each)."""

    REPORT = "report", _("上报事件")
    VISIT = "visit", _("走访记录")
    CASE_ACTION = "case_action", _("办理事件")
    VERIFY = "verify", _("核实数据")
    CHECK = "check", _("应急核查")
    CORRECTION = "correction", _("数据更正")
    PATROL = "patrol", _("巡查轨迹")


class Outcome(models.TextChoices):
    """How the server answered a write: applied once, or refused for a reason the worker reads."""

    APPLIED = "applied", _("已生效")
    CONFLICT = "conflict", _("有冲突")
    REFUSED = "refused", _("被拒绝")


class CorrectionTarget(models.TextChoices):
    PERSON = "person", _("人员")
    HOUSEHOLD = "household", _("户")
    ROOM = "room", _("房屋")


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("未采纳")
