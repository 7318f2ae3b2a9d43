"""Choices and fixed numbers of the fusion app (一库对应多条线)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.TextChoices):
    """Departments whose exports are fused into the registry."""

    MINZHENG = "民政", _("民政")
    CANLIAN = "残联", _("残联")
    ZONGZHI = "综治", _("综治")
    CHENGGUAN = "城管", _("城管")
    JISHENG = "计生", _("计生")
    LIUDONG = "流动人口", _("流动人口")
    OTHER = "其他", _("其他")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class MatchOutcome(models.TextChoices):
    """What the matcher decided for one source row."""

    SAME = "same", _("同一人")
    REVIEW = "review", _("待复核")
    NEW = "new", _("新人员")
    NONE = "", _("未匹配")


class MatchHow(models.TextChoices):
    ID_EXACT = "id_exact", _("身份证号一致")
    ID_FUZZY = "id_fuzzy", _("身份证号近似")
    SCORE = "score", _("综合评分")
    NEW = "new", _("新建")
    REVIEW = "review", _("人工复核")
    NONE = "", _("无")


class RecordStatus(models.TextChoices):
    ACCEPTED = "accepted", _("已并入")
    REVIEW = "review", _("待复核")
    REJECTED = "rejected", _("已拒收")
    SPLIT = "split", _("已拆分")
    # A row the source's ``past_rows`` mark (注销/迁出): linked to its person, asserting nothing.
    PAST = "past", _("历史记录")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("待复核")
    ACCEPTED = "accepted", _("确认同一人")
    REJECTED = "rejected", _("不是同一人")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待核实")
    ANSWERED = "answered", _("已核实")
    CLOSED = "closed", _("已关闭")


class ConflictField(models.TextChoices):
    """Fields whose disagreement between sources becomes a verification task."""

    IS_DECEASED = "is_deceased", _("是否已故")
    RESIDENCE = "residence", _("居住地址")
    DISABILITY_GRADE = "disability_grade", _("残疾等级")
    PHONE = "phone", _("联系电话")


# Precedence of a grid worker's on-the-spot verification: above any department's
# authoritative precedence (departments use 1–999).
FIELD_VERIFICATION_PRECEDENCE = 1000
# Precedence of a source for a field it is not authoritative for.
DEFAULT_PRECEDENCE = 0
# Source code under which field-verification provenance rows are filed.
VERIFICATION_SOURCE_CODE = "field_verification"
