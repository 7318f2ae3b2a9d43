"""Enumerations of the care app (民生服务)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BenefitState(models.TextChoices):
    """A benefit (享受记录) is received, paused, ended early or ran out."""

    ACTIVE = "active", _("享受中")
    SUSPENDED = "suspended", _("暂停")
    STOPPED = "stopped", _("停发")
    EXPIRED = "expired", _("到期")


class BenefitSource(models.TextChoices):
    MINZHENG_IMPORT = "minzheng", _("民政导入")
    CANLIAN_IMPORT = "canlian", _("残联导入")
    WINDOW = "window", _("窗口审批")
    MANUAL = "manual", _("人工录入")


class Colour(models.TextChoices):
    """三色预警 of elders."""

    RED = "red", _("红色")
    YELLOW = "yellow", _("黄色")
    GREEN = "green", _("绿色")


class RecommendationKind(models.TextChoices):
    ELIGIBLE = "eligible", _("符合条件未享受")
    BIRTHDAY = "birthday", _("生日达龄提醒")


class ItemStatus(models.TextChoices):
    """Recommendations, review items, work orders and due visits: open until someone acts."""

    OPEN = "open", _("待处理")
    DONE = "done", _("已处理")
    DISMISSED = "dismissed", _("已撤销")


class ReviewReason(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", _("已不符合条件")
    DECEASED = "deceased", _("已故仍在享受")


class WorkOrderKind(models.TextChoices):
    BENEFIT_EXPIRY = "benefit_expiry", _("待遇即将到期")


class CareEventKind(models.TextChoices):
    """三必到五必访 triggers and other life events a rule may ask about."""

    HOSPITALISATION = "hospitalisation", _("住院")
    BEREAVEMENT = "bereavement", _("丧亲")
    DISASTER = "disaster", _("受灾")
    DOOR_SILENCE = "door_silence", _("门磁长时间未动")
    COMPLAINT = "complaint", _("12345诉求")
    FALL = "fall", _("跌倒")


class VisitReason(models.TextChoices):
    PLAN = "plan", _("例行走访")
    TRIGGER = "trigger", _("必访事项")
    WORK_ORDER = "work_order", _("工单走访")


class SweepStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


# The structured part of a visit record (走访情况): question → answers.
VISIT_FINDINGS: dict[str, tuple[object, tuple[tuple[str, object], ...]]] = {
    "health": (_("身体状况"), (("good", _("良好")), ("fair", _("一般")), ("poor", _("较差")))),
    "living": (_("生活状况"), (("normal", _("正常")), ("attention", _("需关注")), ("danger", _("有危险")))),
    "safety": (_("安全隐患"), (("none", _("无")), ("gas", _("燃气")), ("electric", _("用电")),
                              ("fall", _("跌倒风险")))),
    "mood": (_("精神状态"), (("good", _("良好")), ("low", _("低落")), ("confused", _("意识不清")))),
}
