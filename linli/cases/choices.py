"""Enumerations of the cases app (事件): statuses, stages, sources, actions, targets."""

from __future__ import annotations

import enum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    """Where a case is in the closed loop (GB/T 30428: 立案 派遣 处置 反馈 核查 结案 评价)."""

    REPORTED = "reported", _("已上报")
    REGISTERED = "registered", _("已立案")
    # A dispatch proposed by community staff that a street dispatcher must approve (by level).
    PENDING_APPROVAL = "pending_approval", _("派遣待审批")
    RETURNED = "returned", _("已退回")
    DISPATCHED = "dispatched", _("已派遣")
    ACCEPTED = "accepted", _("处置中")
    HANDLED = "handled", _("已反馈")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已结案")
    EVALUATED = "evaluated", _("已评价")
    SUSPENDED = "suspended", _("已挂起")
    CANCELLED = "cancelled", _("已作废")
    MERGED = "merged", _("已合并")


# Statuses on which someone still has to act (the partial index and the sweeper use these).
OPEN_STATUSES: tuple[str, ...] = (
    CaseStatus.REPORTED, CaseStatus.REGISTERED, CaseStatus.PENDING_APPROVAL,
    CaseStatus.RETURNED, CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.HANDLED,
    CaseStatus.VERIFIED, CaseStatus.SUSPENDED,
)
FINAL_STATUSES: tuple[str, ...] = (
    CaseStatus.CLOSED, CaseStatus.EVALUATED, CaseStatus.CANCELLED, CaseStatus.MERGED,
)


class CaseStage(models.TextChoices):
    """The stage whose clock runs (``Case.stage`` / ``stage_due_at``); none once final."""

    REGISTER = "register", _("立案")
    DISPATCH = "dispatch", _("派遣")
    HANDLE = "handle", _("处置")
    VERIFY = "verify", _("核查")
    CLOSE = "close", _("结案")
    NONE = "", _("无")


class CaseSource(models.TextChoices):
    """The channel a case came in by."""

    PATROL = "patrol", _("网格员巡查")
    STAFF = "staff", _("社区/街道")
    HOTLINE = "hotline", _("12345热线")
    RESIDENT = "resident", _("居民")
    IOT = "iot", _("物联感知")
    CAMERA = "camera", _("视频AI")
    DEPARTMENT = "department", _("部门移交")
    OPEN311 = "open311", _("Open311")


class CategoryDomain(models.TextChoices):
    """城市管理 (components and events) or 社区治理 (community governance)."""

    CITY = "city", _("城市管理")
    COMMUNITY = "community", _("社区治理")


class DeadlineUnit(models.TextChoices):
    """How the handling deadline counts: working hours or working days."""

    HOURS = "hours", _("工作小时")
    DAYS = "days", _("工作日")


class DispatchTarget(models.TextChoices):
    """Who a dispatch rule sends cases to."""

    DEPARTMENT = "department", _("职能部门")
    GRID_WORKER = "grid_worker", _("本网格网格员")
    TEAM = "team", _("专业队伍")


class SupervisionLevel(models.IntegerChoices):
    """督办: raised by the sweeper when the current stage is overdue."""

    NONE = 0, _("正常")
    YELLOW = 1, _("黄牌")
    RED = 2, _("红牌")
    ESCALATED = 3, _("提级督办")


class CaseAction(enum.StrEnum):
    """Actions of ``linli.cases.services.case_transition`` (and the timeline's ``action``)."""

    REGISTER = "register"
    CANCEL = "cancel"
    SUBMIT_DISPATCH = "submit_dispatch"
    APPROVE_DISPATCH = "approve_dispatch"
    REJECT_DISPATCH = "reject_dispatch"
    DISPATCH = "dispatch"
    REASSIGN = "reassign"
    REJECT_BACK = "reject_back"
    ACCEPT = "accept"
    HANDLE_ON_SPOT = "handle_on_spot"
    REPORT_BACK = "report_back"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    VERIFY_PASS = "verify_pass"  # noqa: S105 -- an action name, not a password
    VERIFY_FAIL = "verify_fail"
    CLOSE = "close"
    REOPEN = "reopen"
    EVALUATE = "evaluate"
    MERGE = "merge"


# Timeline entries that are not status transitions.
EVENT_OPEN = "open"
EVENT_SUPERVISE = "supervise"
EVENT_PHOTO = "photo"
EVENT_REGRADE = "regrade"

ACTION_LABELS: dict[str, Promise] = {
    CaseAction.REGISTER: _("立案"),
    CaseAction.CANCEL: _("作废"),
    CaseAction.SUBMIT_DISPATCH: _("提交派遣审批"),
    CaseAction.APPROVE_DISPATCH: _("批准派遣"),
    CaseAction.REJECT_DISPATCH: _("驳回派遣"),
    CaseAction.DISPATCH: _("派遣"),
    CaseAction.REASSIGN: _("改派"),
    CaseAction.REJECT_BACK: _("退回"),
    CaseAction.ACCEPT: _("受理"),
    CaseAction.HANDLE_ON_SPOT: _("自行处置"),
    CaseAction.REPORT_BACK: _("处置反馈"),
    CaseAction.REQUEST_EXTENSION: _("申请延期"),
    CaseAction.APPROVE_EXTENSION: _("批准延期"),
    CaseAction.REJECT_EXTENSION: _("驳回延期"),
    CaseAction.SUSPEND: _("挂起"),
    CaseAction.RESUME: _("恢复"),
    CaseAction.VERIFY_PASS: _("核查通过"),
    CaseAction.VERIFY_FAIL: _("核查不通过"),
    CaseAction.CLOSE: _("结案"),
    CaseAction.REOPEN: _("重新处置"),
    CaseAction.EVALUATE: _("评价"),
    CaseAction.MERGE: _("合并"),
    EVENT_OPEN: _("上报"),
    EVENT_SUPERVISE: _("督办"),
    EVENT_PHOTO: _("上传照片"),
    EVENT_REGRADE: _("调整等级"),
}


class CaseErrorCode(enum.StrEnum):
    """Codes of refusals specific to cases (besides ``linli.core.errors.ErrorCode``)."""

    ACTION_NOT_ALLOWED = "action_not_allowed"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    NOT_ASSIGNEE = "not_assignee"
    # The handler of a case may not verify it.
    SEPARATION_OF_DUTIES = "separation_of_duties"
    APPROVAL_REQUIRED = "approval_required"
    NO_EXTENSION_PENDING = "no_extension_pending"
    UNLOCATED = "unlocated"
    BAD_PHOTO = "bad_photo"


# A case's level in words (1 is the most urgent); the number alone meant nothing to a reader.
LEVEL_LABELS: dict[int, Promise] = {
    1: _("1级 · 特急"),
    2: _("2级 · 紧急"),
    3: _("3级 · 一般"),
    4: _("4级 · 较缓"),
    5: _("5级 · 轻微"),
}


def level_label(level: int | None) -> str:
    if level is None:
        return ""
    label = LEVEL_LABELS.get(level)
    return str(label) if label is not None else str(level)
