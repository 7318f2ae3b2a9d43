"""Models of the care app (民生服务): policies as rules, benefits, what the nightly sweep
finds (recommendations, review items, work orders), elders' three colours, visits.

Sensitive categories (disability, health, income: PIPL art. 28) live in ``CareProfile`` and
the benefits; pages that show them write an access entry to the audit log. ID numbers and
phones stay in ``registry.Person`` (encrypted there); nothing here copies them.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.care.choices import (
    BenefitSource,
    BenefitState,
    CareEventKind,
    Colour,
    ItemStatus,
    RecommendationKind,
    ReviewReason,
    SweepStatus,
    VisitReason,
    WorkOrderKind,
)
from linli.core.models import OneLabelDisplay, TimeStampedModel

_OPEN = Q(status=ItemStatus.OPEN)


class CareProfile(TimeStampedModel):
    """Care facts the registry does not hold: disability grade (1 most severe … 4), whether
    bedridden, the household's monthly income per head, 计生特扶 family. Sensitive."""

    person = models.OneToOneField("registry.Person", on_delete=models.CASCADE, related_name="care_profile")
    disability_grade = models.PositiveSmallIntegerField(_("残疾等级"), null=True, blank=True)
    bedridden = models.BooleanField(_("失能卧床"), default=False)
    income_per_head = models.DecimalField(_("家庭人均月收入"), max_digits=9, decimal_places=2, null=True, blank=True)
    only_child_lost = models.BooleanField(_("独生子女伤残或死亡家庭"), default=False)

    class Meta:
        ordering: ClassVar[list[str]] = ["person_id"]
        verbose_name = _("关爱档案")
        verbose_name_plural = _("关爱档案")
        indexes: ClassVar[list[models.Index]] = [
            # A rule's live count starts from the profiles it needs (低保: income below the
            # line) and fetches those persons by key (rules_query.rule_seek_q).
            models.Index(fields=["income_per_head"], include=["person"], name="care_profile_income_idx"),
            models.Index(fields=["disability_grade"], include=["person"], name="care_profile_grade_idx"),
        ]

    def __str__(self) -> str:
        return f"care profile of {self.person_id}"


class Policy(TimeStampedModel):
    """A benefit policy (高龄津贴, 低保 …); its conditions live in versions."""

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    department = models.CharField(_("主管部门"), max_length=50, blank=True)
    basis = models.CharField(_("政策依据"), max_length=300, blank=True)
    expiry_notice_days = models.PositiveSmallIntegerField(_("到期提前提醒天数"), default=30)
    # The catalogue item whose approval grants this policy (several policies may share one
    # item: the person's age or grade then picks among them).
    catalogue_item_code = models.CharField(_("对应服务事项编码"), max_length=40, blank=True, db_index=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("政策")
        verbose_name_plural = _("政策")

    def __str__(self) -> str:
        return self.name


class PolicyVersion(TimeStampedModel):
    """One immutable version of a policy's rule, in force from ``effective_from`` until
    ``effective_to`` (inclusive; open-ended when empty)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本"))
    rule = models.JSONField(_("条件"))
    amount = models.DecimalField(_("标准(元/月)"), max_digits=9, decimal_places=2, null=True, blank=True)
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["policy_id", "-number"]
        verbose_name = _("政策版本")
        verbose_name_plural = _("政策版本")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["policy", "number"], name="care_policy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.number}"


class Benefit(TimeStampedModel):
    """Who receives what (享受记录), from when to when, how much, from which source."""

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="benefits")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="benefits")
    amount = models.DecimalField(_("金额(元/月)"), max_digits=9, decimal_places=2, null=True, blank=True)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=BenefitSource.choices)
    # Provenance: the application (``catalogue.application:<number>``) or import that wrote it.
    source_ref = models.CharField(_("来源记录"), max_length=80, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=BenefitState.choices, default=BenefitState.ACTIVE)

    class Meta:
        ordering: ClassVar[list[str]] = ["person_id", "policy_id", "-starts_on"]
        verbose_name = _("享受记录")
        verbose_name_plural = _("享受记录")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["policy", "person"], name="care_benefit_policy_person"),
            models.Index(fields=["person", "state"], name="care_benefit_person_state"),
            models.Index(fields=["ends_on"], condition=Q(state=BenefitState.ACTIVE), name="care_benefit_active_end"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.policy_id} {self.state}"


class BenefitEvent(OneLabelDisplay, models.Model):
    """History of a benefit: granted, suspended, resumed, stopped, expired, renewed."""

    benefit = models.ForeignKey(Benefit, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=20)
    from_state = models.CharField(_("原状态"), max_length=16, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16)
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    actor_label = models.CharField(_("操作人"), max_length=150)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["at", "id"]
        verbose_name = _("享受记录变更")
        verbose_name_plural = _("享受记录变更")

    def __str__(self) -> str:
        return f"{self.benefit_id} {self.action}"


class Recommendation(TimeStampedModel):
    """A person who fits a policy and does not receive it (or is about to reach its age)."""

    # No database foreign keys on the sweep's bulk tables (ADR 0012): PostgreSQL checks one
    # per inserted row (and locks the person row), a third of the first sweep's time.
    # Deletes still cascade through the ORM.
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_recommendations",
                               db_constraint=False)
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="recommendations",
                               db_constraint=False)
    kind = models.CharField(_("类型"), max_length=16, choices=RecommendationKind.choices)
    reason = models.CharField(_("原因"), max_length=500)
    status = models.CharField(_("状态"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    found_on = models.DateField(_("发现日期"))

    class Meta:
        ordering: ClassVar[list[str]] = ["-found_on", "id"]
        verbose_name = _("待遇推荐")
        verbose_name_plural = _("待遇推荐")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["person", "policy", "kind"], condition=_OPEN,
                                    name="care_recommendation_open_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.policy_id}"


class ReviewItem(TimeStampedModel):
    """A benefit to check: its holder no longer fits the policy, or died."""

    # No database foreign keys (see Recommendation).
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_reviews",
                               db_constraint=False)
    benefit = models.ForeignKey(Benefit, on_delete=models.CASCADE, related_name="reviews", db_constraint=False)
    reason_kind = models.CharField(_("类型"), max_length=16, choices=ReviewReason.choices)
    reason = models.CharField(_("原因"), max_length=500)
    status = models.CharField(_("状态"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    found_on = models.DateField(_("发现日期"))

    class Meta:
        ordering: ClassVar[list[str]] = ["-found_on", "id"]
        verbose_name = _("待遇复核")
        verbose_name_plural = _("待遇复核")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["benefit", "reason_kind"], condition=_OPEN,
                                    name="care_review_open_unique"),
        ]

    def __str__(self) -> str:
        return f"review {self.benefit_id}"


class WorkOrder(TimeStampedModel):
    """A task for the person's grid worker, with a deadline (e.g. renew an expiring benefit)."""

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_work_orders")
    benefit = models.ForeignKey(Benefit, null=True, blank=True, on_delete=models.CASCADE, related_name="work_orders")
    kind = models.CharField(_("类型"), max_length=20, choices=WorkOrderKind.choices)
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="care_work_orders")
    reason = models.CharField(_("原因"), max_length=500)
    due_on = models.DateField(_("办理期限"))
    status = models.CharField(_("状态"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["due_on", "id"]
        verbose_name = _("关爱工单")
        verbose_name_plural = _("关爱工单")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["benefit", "kind"], condition=_OPEN, name="care_work_order_open_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grid", "due_on"], condition=_OPEN, name="care_work_order_open_grid"),
        ]

    def __str__(self) -> str:
        return f"work order {self.pk}"


class LevelRule(TimeStampedModel):
    """A readable rule that puts an elder in a colour; red is checked first, then yellow."""

    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices)
    name = models.CharField(_("名称"), max_length=100)
    rule = models.JSONField(_("条件"))
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "id"]
        verbose_name = _("三色规则")
        verbose_name_plural = _("三色规则")

    def __str__(self) -> str:
        return f"{self.colour}: {self.name}"


class ElderLevel(TimeStampedModel):
    """An elder's current colour with the reasons (names of the level rules that held)."""

    # No database foreign keys (see Recommendation).
    person = models.OneToOneField("registry.Person", on_delete=models.CASCADE, related_name="care_level",
                                  db_constraint=False)
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False)
    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices)
    reasons = models.JSONField(_("原因"), default=list)
    since = models.DateField(_("起始日期"))

    class Meta:
        ordering: ClassVar[list[str]] = ["person_id"]
        verbose_name = _("三色等级")
        verbose_name_plural = _("三色等级")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grid", "colour"], name="care_level_grid_colour"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.colour}"


class ElderLevelChange(OneLabelDisplay, models.Model):
    """History of colours."""

    # No database foreign key (see Recommendation).
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_level_changes",
                               db_constraint=False)
    from_colour = models.CharField(_("原颜色"), max_length=8, blank=True)
    to_colour = models.CharField(_("新颜色"), max_length=8, choices=Colour.choices)
    reasons = models.JSONField(_("原因"), default=list)
    on = models.DateField(_("日期"))

    class Meta:
        ordering: ClassVar[list[str]] = ["on", "id"]
        verbose_name = _("三色变更")
        verbose_name_plural = _("三色变更")

    def __str__(self) -> str:
        return f"{self.person_id} {self.from_colour}→{self.to_colour}"


class VisitPlan(TimeStampedModel):
    """How often an elder of a colour is visited."""

    colour = models.CharField(_("颜色"), max_length=8, choices=Colour.choices, unique=True)
    every_days = models.PositiveSmallIntegerField(_("走访周期(天)"))

    class Meta:
        ordering: ClassVar[list[str]] = ["every_days"]
        verbose_name = _("走访计划")
        verbose_name_plural = _("走访计划")

    def __str__(self) -> str:
        return f"{self.colour} / {self.every_days}d"


class CareEvent(TimeStampedModel):
    """Something that happened to a person (住院, 丧亲, 受灾 …): rules ask "had event X within
    N days", and the 三必到五必访 kinds create a must-visit."""

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_events")
    kind = models.CharField(_("类型"), max_length=20, choices=CareEventKind.choices)
    occurred_on = models.DateField(_("发生日期"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    source = models.CharField(_("来源"), max_length=50, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-occurred_on", "id"]
        verbose_name = _("关爱事件")
        verbose_name_plural = _("关爱事件")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["person", "kind", "occurred_on"], name="care_event_person_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.occurred_on}"


class Visit(TimeStampedModel):
    """A visit record (走访记录 / 民情日志): who, when, where, whom, what was found."""

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_visits")
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_visits")
    visited_at = models.DateTimeField(_("走访时间"), db_index=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    met = models.CharField(_("见到的人"), max_length=100, blank=True)
    findings = models.JSONField(_("走访情况"), default=dict)
    notes = models.TextField(_("情况记录"), blank=True)
    needs = models.TextField(_("诉求"), blank=True)
    case_id = models.IntegerField(_("关联事件"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-visited_at", "id"]
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["person", "visited_at"], name="care_visit_person_at"),
            models.Index(fields=["grid", "visited_at"], name="care_visit_grid_at"),
        ]

    def __str__(self) -> str:
        return f"visit {self.pk}"


def _photo_path(instance: VisitPhoto, filename: str) -> str:
    # Content-addressed: the name reveals nothing about the person or the visitor.
    return f"care/{instance.sha256[:2]}/{instance.sha256}{filename[filename.rfind('.'):]}"


class VisitPhoto(models.Model):
    """A photo taken on a visit."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("文件"), upload_to=_photo_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(_("类型"), max_length=32)
    size = models.PositiveIntegerField(_("大小"))
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        verbose_name = _("走访照片")
        verbose_name_plural = _("走访照片")

    def __str__(self) -> str:
        return str(self.file.name)


class DueVisit(TimeStampedModel):
    """A visit someone owes a person by a day: from the colour's plan or a must-visit trigger."""

    # No database foreign keys on the sweep-written columns (see Recommendation).
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="care_due_visits",
                               db_constraint=False)
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False)
    reason_kind = models.CharField(_("类型"), max_length=16, choices=VisitReason.choices)
    reason = models.CharField(_("原因"), max_length=300)
    due_on = models.DateField(_("应访日期"))
    status = models.CharField(_("状态"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    overdue = models.BooleanField(_("已逾期"), default=False)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["due_on", "id"]
        verbose_name = _("应访任务")
        verbose_name_plural = _("应访任务")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["person", "reason_kind"], condition=_OPEN,
                                    name="care_due_visit_open_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grid", "due_on"], condition=_OPEN, name="care_due_open_grid"),
        ]

    def __str__(self) -> str:
        return f"due {self.person_id} {self.due_on}"


class SweepRun(TimeStampedModel):
    """One night's sweep: which steps are done, so a crashed run resumes where it stopped."""

    on = models.DateField(_("日期"), unique=True)
    status = models.CharField(_("状态"), max_length=16, choices=SweepStatus.choices, default=SweepStatus.RUNNING)
    steps_done = models.JSONField(_("已完成步骤"), default=list)
    counts = models.JSONField(_("数量"), default=dict)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # The plan, fixed when the run starts so a resumed run sweeps the same persons: the
    # whole population, or only those changed (SweepChange rows up to ``changes_upto``) and
    # those whose dates crossed a threshold since the last finished run (``since``).
    # Database defaults too: a process of the previous release still creates runs.
    full = models.BooleanField(_("全量"), default=True, db_default=True)
    since = models.DateField(null=True, blank=True)
    changes_upto = models.BigIntegerField(null=True, blank=True)
    rules_key = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["-on"]
        verbose_name = _("夜间巡检")
        verbose_name_plural = _("夜间巡检")

    def __str__(self) -> str:
        return f"sweep {self.on}"


class SweepChange(models.Model):
    """A person whose facts changed since the last sweep (ADR 0013): written by database
    triggers on persons, households, tags, care profiles, benefits, care events and on the
    staff's edits of recommendations and review items, whichever path wrote. The next
    sweep re-evaluates only these persons (plus those whose dates crossed a threshold) and
    deletes the rows it has consumed."""

    id = models.BigAutoField(primary_key=True)
    person_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("待巡检变更")
        verbose_name_plural = _("待巡检变更")

    def __str__(self) -> str:
        return f"change {self.person_id}"
