"""Emergency incidents (应急事件): the area, the households inside it and their checks.

The households are a snapshot taken when the incident starts: a resident who moves in or
out during the incident does not change the list the grid workers are working through.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.cockpit.choices import CheckState
from linli.core.models import TimeStampedModel


class Incident(TimeStampedModel):
    """An emergency in a drawn area, from its start to its closing report."""

    title = models.CharField(_("事件名称"), max_length=100)
    # The smallest area holding every household of the incident: who may see it.
    area = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="+")
    # GeoJSON Polygon in WGS-84 lon/lat (a circle is stored as its polygon).
    polygon = models.JSONField(_("范围"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("开始时间"), db_index=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    summary = models.TextField(_("处置小结"), blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at"]
        verbose_name = _("应急事件")
        verbose_name_plural = _("应急事件")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class IncidentTask(TimeStampedModel):
    """The task of one responsible grid worker: check their households in the area."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    households = models.PositiveIntegerField(_("户数"), default=0)
    # Set when the task went out through the notification outbox (linli.notify).
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["incident_id", "worker_id"]
        verbose_name = _("核查任务")
        verbose_name_plural = _("核查任务")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["incident", "worker"], name="incidenttask_incident_worker_uniq"),
        ]


class IncidentHousehold(TimeStampedModel):
    """One household to check; the tags are those held when the incident started."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="households")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey("registry.Building", on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="+")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    unit_number = models.PositiveSmallIntegerField(_("单元号"), default=0)
    room_number = models.CharField(_("室号"), max_length=10, blank=True)
    floor = models.SmallIntegerField(_("楼层"), default=0)
    residents = models.PositiveSmallIntegerField(_("人数"), default=0)
    # Emergency priority (lower first, see workflow.household_priority) and the tags behind it.
    priority = models.PositiveSmallIntegerField(_("优先级"), default=0)
    tag_kinds = models.JSONField(_("标签"), default=list)
    state = models.CharField(_("核查状态"), max_length=16, choices=CheckState.choices,
                             default=CheckState.PENDING)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    marked_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["incident_id", "priority", "building_id", "unit_number", "floor",
                                         "room_number"]
        verbose_name = _("核查户")
        verbose_name_plural = _("核查户")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["incident", "household"], name="incidenthousehold_uniq"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["incident", "worker"], name="incidenthh_worker_idx"),
        ]
