"""The phone's writes as the server received them, data-correction requests and patrols.

``Submission`` is the idempotency table: one row per key the phone made, written in the
same transaction as the write it stands for, so a write sent twice (lost answer, second
sync) is applied once and answered the same way both times.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel
from linli.field.choices import CorrectionStatus, CorrectionTarget, Outcome, WriteKind


class Submission(TimeStampedModel):
    """One queued write from a phone, by its client-made key, and the answer it got."""

    key = models.CharField(_("幂等键"), max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=16, choices=WriteKind.choices)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    # What the write made or touched: {"case": 12} / {"visit": 3} ...
    result = models.JSONField(_("结果数据"), default=dict, blank=True)
    made_at = models.DateTimeField(_("手机记录时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        verbose_name = _("手机提交")
        verbose_name_plural = _("手机提交")

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Correction(TimeStampedModel):
    """A grid worker's request to correct a person, household or room: the clerk decides;
    nothing goes into the registry by itself."""

    target_type = models.CharField(_("对象"), max_length=16, choices=CorrectionTarget.choices)
    target_id = models.PositiveBigIntegerField(_("对象编号"))
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="+")
    field = models.CharField(_("字段"), max_length=50)
    proposed = models.CharField(_("应为"), max_length=200)
    note = models.TextField(_("说明"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        verbose_name = _("数据更正申请")
        verbose_name_plural = _("数据更正申请")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grid", "status"], name="field_correction_grid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.target_type}:{self.target_id} {self.field}"


class Patrol(TimeStampedModel):
    """A patrol: start, stop and the positions the open app recorded in between."""

    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("开始"))
    ended_at = models.DateTimeField(_("结束"))
    # [[lon, lat, unix seconds], ...] in WGS-84, as the phone reported them.
    track = models.JSONField(_("轨迹"), default=list)
    distance_m = models.FloatField(_("里程(米)"), default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at"]
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["worker", "started_at"], name="field_patrol_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> int:
        return max(0, int((self.ended_at - self.started_at).total_seconds()))
