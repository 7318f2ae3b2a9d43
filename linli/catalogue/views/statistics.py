"""Hall statistics (大厅统计): figures and ECharts charts over the user's scope."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.catalogue.choices import ApplicationStatus
from linli.catalogue.forms import PeriodForm
from linli.catalogue.selectors import hall_statistics_for_user
from linli.catalogue.views.access import StaffRequest, statistics_only

TOP_ITEMS = 15


def _weekday_names() -> list[str]:
    return [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


@statistics_only
@require_GET
def statistics(request: StaffRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    stats = hall_statistics_for_user(user=request.user, start=start, end=end)
    weekdays = _weekday_names()
    chart: dict[str, Any] = {
        "items": {"labels": [name for name, _n in stats.by_item[:TOP_ITEMS]],
                  "values": [n for _name, n in stats.by_item[:TOP_ITEMS]]},
        "departments": {"labels": [name for name, _n in stats.by_department],
                        "values": [n for _name, n in stats.by_department]},
        "hours": {"labels": [f"{h}:00" for h in range(24)], "values": [stats.by_hour.get(h, 0) for h in range(24)]},
        "weekdays": {"labels": weekdays, "values": [stats.by_weekday.get(d, 0) for d in range(1, 8)]},
        "status": {"labels": [str(ApplicationStatus(s).label) for s in stats.by_status],
                   "values": list(stats.by_status.values())},
    }
    rate = stats.instant_approval_rate
    return render(request, "catalogue/statistics.html", {
        "form": form, "start": start, "end": end, "stats": stats, "chart": chart,
        "instant_rate": None if rate is None else round(rate * 100, 1),
        "peak_hour": stats.peak_hour,
        "peak_weekday": weekdays[stats.peak_weekday - 1] if stats.peak_weekday else None,
    })
