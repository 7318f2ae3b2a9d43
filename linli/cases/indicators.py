"""The standard case indicators (GB/T 30428.4 and district practice) as pure formulas.

Everything here works on :class:`Counters`, the additive numbers the rollup tables keep
per (day, grid, category, source, department). Summing counters over any set of rows and
then applying :func:`compute` gives the indicators of that set; rates are never averaged.

Which day a counter lands on (the full rules are in ``docs/cases-indicators.md``):

* event counters on the day the event happened (Asia/Shanghai): ``reported`` and
  ``proactive`` on the report day, ``registered`` on the 立案 day, ``dispatched`` and
  ``dispatched_accurate`` on the (latest) dispatch day, ``handled``, ``handle_timed``,
  ``handle_seconds`` and ``on_spot`` on the handling day, ``closed``, ``rated`` and
  ``satisfied`` on the closing day;
* the handling cohort on the day the handling deadline (``due_at``) falls:
  ``should_handle``, ``handled_on_time``, ``overdue``;
* the closing cohort on the 立案 day: ``should_close``, ``closed_in_cohort``,
  ``closed_on_time``, ``rework``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrPromise

# Counter names in storage order (the rollup tables have one integer column each).
COUNTER_NAMES: Final[tuple[str, ...]] = (
    "reported", "proactive", "registered", "dispatched", "dispatched_accurate",
    "handled", "handle_timed", "handle_seconds", "on_spot",
    "should_handle", "handled_on_time", "overdue",
    "should_close", "closed_in_cohort", "closed_on_time", "rework",
    "closed", "rated", "satisfied",
)


@dataclass
class Counters:
    """Additive counters of a set of cases; ``+`` sums them."""

    reported: int = 0
    proactive: int = 0
    registered: int = 0
    dispatched: int = 0
    dispatched_accurate: int = 0
    handled: int = 0
    handle_timed: int = 0
    handle_seconds: int = 0
    on_spot: int = 0
    should_handle: int = 0
    handled_on_time: int = 0
    overdue: int = 0
    should_close: int = 0
    closed_in_cohort: int = 0
    closed_on_time: int = 0
    rework: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0

    def __add__(self, other: Counters) -> Counters:
        # Instance dicts keep field order; this runs thousands of times per statistics call.
        return Counters(*[a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True)])

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(self.__dict__.values())

    @classmethod
    def of(cls, values: tuple[int | None, ...] | list[int | None]) -> Counters:
        """From a row of sums in ``COUNTER_NAMES`` order (SQL ``SUM`` of no rows is NULL;
        the sums come back as ints: PostgreSQL's are cast to bigint)."""
        return cls(*[v or 0 for v in values])


assert tuple(f.name for f in fields(Counters)) == COUNTER_NAMES  # noqa: S101 -- import-time guard


def _rate(numerator: int, denominator: int) -> float | None:
    """A share in [0, 1]; None when there is nothing to divide by (shown as "—")."""
    return numerator / denominator if denominator else None


def accurate_dispatch_rate(c: Counters) -> float | None:
    """准确派遣率 = 准确派遣数 / 派遣数.

    派遣数: cases dispatched in the period (latest dispatch day). 准确派遣数: those never
    rejected back (退回) or reassigned (改派) by the receiving side.
    """
    return _rate(c.dispatched_accurate, c.dispatched)


def on_time_handle_rate(c: Counters) -> float | None:
    """按期处置率 = 按期处置数 / 应处置数.

    应处置数: dispatched cases (not cancelled or merged) whose handling deadline falls in
    the period. 按期处置数: those among them handled (reported back) by the deadline.
    """
    return _rate(c.handled_on_time, c.should_handle)


def close_rate(c: Counters) -> float | None:
    """结案率 = 结案数 / 应结案数 (立案口径).

    应结案数: cases registered (立案) in the period, not cancelled or merged. 结案数 here is
    the number of those cases closed so far (``closed_in_cohort``), so the rate is ≤ 100 %.
    """
    return _rate(c.closed_in_cohort, c.should_close)


def on_time_close_rate(c: Counters) -> float | None:
    """按期结案率 = 按期结案数 / 应结案数.

    按期结案数: cases of the 应结案 cohort closed without their handling deadline being
    exceeded (handled by ``due_at``, or no deadline because handled on the spot).
    """
    return _rate(c.closed_on_time, c.should_close)


def rework_rate(c: Counters) -> float | None:
    """返工率 = 返工数 / 应结案数.

    返工数: cases of the 应结案 cohort sent back for handling again at least once
    (核查不通过 or 重新处置, ``rework_count > 0``).
    """
    return _rate(c.rework, c.should_close)


def proactive_rate(c: Counters) -> float | None:
    """主动发现率 = (网格员巡查 + 视频AI + 物联感知 上报数) / 上报数."""
    return _rate(c.proactive, c.reported)


def satisfaction_rate(c: Counters) -> float | None:
    """满意率 = 评价为 4–5 分的案件数 / 已评价案件数 (on the closing day)."""
    return _rate(c.satisfied, c.rated)


def average_handle_hours(c: Counters) -> float | None:
    """平均处置时长 (hours) = Σ(处置时间 − 派遣时间) / 有派遣时间的处置数.

    Cases handled on the spot have no dispatch and are left out of both sums.
    """
    return c.handle_seconds / c.handle_timed / 3600 if c.handle_timed else None


# (key, label, kind): kind "count" | "rate" | "hours". The order is the column order
# of tables and exports.
INDICATORS: Final[tuple[tuple[str, StrPromise, str], ...]] = (
    ("reported", _("上报数"), "count"),
    ("registered", _("立案数"), "count"),
    ("dispatched", _("派遣数"), "count"),
    ("accurate_dispatch_rate", _("准确派遣率"), "rate"),
    ("handled", _("处置数"), "count"),
    ("on_time_handle_rate", _("按期处置率"), "rate"),
    ("closed", _("结案数"), "count"),
    ("close_rate", _("结案率"), "rate"),
    ("on_time_close_rate", _("按期结案率"), "rate"),
    ("rework_rate", _("返工率"), "rate"),
    ("overdue", _("超期案件数"), "count"),
    ("average_handle_hours", _("平均处置时长(小时)"), "hours"),
    ("on_spot", _("自行处置数"), "count"),
    ("proactive_rate", _("主动发现率"), "rate"),
    ("satisfaction_rate", _("满意率"), "rate"),
)
INDICATOR_KEYS: Final[tuple[str, ...]] = tuple(key for key, _label, _kind in INDICATORS)


def compute(c: Counters) -> dict[str, float | int | None]:
    """All indicators of one set of counters, keyed as in :data:`INDICATORS`.

    上报数, 立案数, 派遣数, 处置数, 结案数, 超期案件数 (cases of the handling cohort not
    handled by their deadline: handled late, or still open and flagged by supervision) and
    自行处置数 are the counters themselves.
    """
    return {
        "reported": c.reported,
        "registered": c.registered,
        "dispatched": c.dispatched,
        "accurate_dispatch_rate": accurate_dispatch_rate(c),
        "handled": c.handled,
        "on_time_handle_rate": on_time_handle_rate(c),
        "closed": c.closed,
        "close_rate": close_rate(c),
        "on_time_close_rate": on_time_close_rate(c),
        "rework_rate": rework_rate(c),
        "overdue": c.overdue,
        "average_handle_hours": average_handle_hours(c),
        "on_spot": c.on_spot,
        "proactive_rate": proactive_rate(c),
        "satisfaction_rate": satisfaction_rate(c),
    }


def delta(current: float | int | None, previous: float | int | None) -> float | None:
    """Change against the comparison period: relative for counts (+0.25 = +25 %), None when
    the earlier value is missing or zero. Rates use :func:`point_delta` instead."""
    if current is None or previous in (None, 0):
        return None
    assert previous is not None  # noqa: S101 -- narrowed above
    return (current - previous) / previous


def point_delta(current: float | int | None, previous: float | int | None) -> float | None:
    """Difference of two rates or durations (0.05 = +5 percentage points)."""
    if current is None or previous is None:
        return None
    return float(current - previous)
