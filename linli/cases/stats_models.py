"""Rollup tables of the case statistics (kept current by :mod:`linli.cases.rollups`).

They are imported by ``linli/cases/models.py`` so Django's app registry sees them. Ids are
plain integers, not foreign keys: a rollup row must never block deleting an area or a
category, and 0 stands for "none" because SQL unique keys treat NULLs as all different,
which would break ``INSERT … ON CONFLICT``.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.cases.indicators import COUNTER_NAMES


class RollupCounters(models.Model):
    """The additive counters of :class:`linli.cases.indicators.Counters`, one column each."""

    reported = models.IntegerField(default=0)
    proactive = models.IntegerField(default=0)
    registered = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    dispatched_accurate = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handle_timed = models.IntegerField(default=0)
    handle_seconds = models.BigIntegerField(default=0)
    on_spot = models.IntegerField(default=0)
    should_handle = models.IntegerField(default=0)
    handled_on_time = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)
    should_close = models.IntegerField(default=0)
    closed_in_cohort = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    rework = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)

    class Meta:
        abstract = True


class CaseRollup(RollupCounters):
    """Counters per (day, grid, 小类, 大类, source, department): the daily grain.

    ``day`` is the Asia/Shanghai date of the event a counter records (see
    :mod:`linli.cases.indicators` for which event each counter uses).
    """

    day = models.DateField(_("日期"))
    grid_id = models.IntegerField(_("网格"), default=0)
    category_id = models.IntegerField(_("小类"), default=0)
    major_id = models.IntegerField(_("大类"), default=0)
    source = models.CharField(_("来源"), max_length=16)
    department_id = models.IntegerField(_("部门"), default=0)

    class Meta:
        verbose_name = _("事件统计(日)")
        verbose_name_plural = _("事件统计(日)")
        ordering: ClassVar[list[str]] = ["day", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["day", "grid_id", "category_id", "major_id", "source", "department_id"],
                name="case_rollup_key",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # A grid's breakdowns by 大类, source and department are read here, not from
            # the area table (see ``linli.cases.rollups.area_keys``).
            models.Index(fields=["grid_id", "day"], name="case_rollup_grid_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} grid={self.grid_id} category={self.category_id} {self.source}"


class CaseRollupArea(RollupCounters):
    """Counters per (grain, period, dimension, value, area): what statistics read.

    For every grid's ancestors (zone, community, street, district), per day (``grain="d"``),
    ISO week (``"w"``, ``period`` = its Monday) and month (``"m"``, ``period`` = first day),
    one row per dimension: ``dim="all"`` (value ""), ``"major"`` (大类 id), ``"source"`` and
    ``"department"`` (id); for the grid itself only ``dim="all"`` (its breakdowns are read
    from :class:`CaseRollup`, keyed by grid already). A street's month grouped by 大类 is
    then ~16 rows however many cases it had; a scope is the union of its root areas' rows.
    """

    grain = models.CharField(_("粒度"), max_length=1)
    period = models.DateField(_("日期/月份"))
    dim = models.CharField(_("维度"), max_length=12)
    value = models.CharField(_("取值"), max_length=32, blank=True)
    area_id = models.IntegerField(_("区域"))

    class Meta:
        verbose_name = _("事件统计(区域)")
        verbose_name_plural = _("事件统计(区域)")
        ordering: ClassVar[list[str]] = ["period", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Reads are grain = … AND dim = … AND area_id IN (…) AND period BETWEEN …
            models.UniqueConstraint(fields=["grain", "dim", "area_id", "period", "value"], name="case_rollup_area_key"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # For reads of many areas at once (a district by grid): one range per period span
            # instead of one index descent per area, and rows of a period lie together.
            models.Index(fields=["grain", "dim", "period", "area_id"], name="case_rollup_area_period"),
        ]

    def __str__(self) -> str:
        return f"{self.grain}:{self.period} {self.dim}={self.value} area={self.area_id}"


assert tuple(  # noqa: S101 -- import-time guard that the columns match the counters
    f.name for f in RollupCounters._meta.local_fields
) == COUNTER_NAMES
