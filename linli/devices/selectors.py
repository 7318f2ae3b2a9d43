"""Reads of the devices app, always scoped by the user's grids (``scope_for``).

Who sees a device or an alarm: staff whose scope holds its grid (grid workers, community
and street staff, district administrators). Department staff and auditors see none (the
cases an alarm opens reach departments through the cases app). Dead letters belong to no
grid: street staff and district administrators see them. Anything else is ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Avg, Count, FloatField, Max, Min, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core.errors import NotFound
from linli.devices.choices import OPEN_ALARM_STATUSES, AlarmStatus, DeviceStatus
from linli.devices.models import Alarm, DeadLetter, Device, Reading
from linli.registry.models import Person

_DEVICE_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_DEAD_LETTER_ROLES = frozenset({Role.STREET_STAFF, Role.DISTRICT_ADMIN})
STATUS_FILTERS = ("online", "offline", "low_battery", "new")


def _grids(user: User) -> frozenset[int]:
    if user.role not in _DEVICE_ROLES:
        return frozenset()
    return scope_for(user).grid_ids


def alarm_grids_for_user(*, user: User) -> frozenset[int]:
    """The grids whose alarms ``user`` sees (the same rule as :func:`alarm_list_for_user`), for
    the cockpit's live stream, which filters new alarms by grid without a query per screen."""
    return _grids(user)


def device_list_for_user(*, user: User, status: str = "", kind: str = "", q: str = "") -> QuerySet[Device]:
    """Devices in the user's grids, optionally by status (online, offline, low battery, new)."""
    rows = Device.objects.filter(grid_id__in=_grids(user)).select_related("grid", "building", "room", "person")
    if status == "low_battery":
        rows = rows.filter(battery_low=True)
    elif status in (DeviceStatus.ONLINE, DeviceStatus.OFFLINE, DeviceStatus.NEW):
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if q:
        rows = rows.filter(Q(external_id__icontains=q) | Q(name__icontains=q) | Q(building__address__icontains=q))
    return rows.order_by("grid_id", "kind", "external_id")


def device_counts_for_user(*, user: User) -> dict[str, int]:
    rows = Device.objects.filter(grid_id__in=_grids(user))
    return rows.aggregate(
        total=Count("pk"), online=Count("pk", filter=Q(status=DeviceStatus.ONLINE)),
        offline=Count("pk", filter=Q(status=DeviceStatus.OFFLINE)), low_battery=Count("pk", filter=Q(battery_low=True)),
    )


def device_get_for_user(*, user: User, device_id: int) -> Device:
    found = (Device.objects.filter(grid_id__in=_grids(user), pk=device_id)
             .select_related("grid", "building", "room", "room__unit", "person").first())
    if found is None:
        raise NotFound(_("设备不存在"))
    return found


def device_readings(*, device: Device, days: int = 7, limit: int = 500) -> list[Reading]:
    """The device's recent messages, newest first (the detail page's history)."""
    since = timezone.now() - timedelta(days=days)
    return list(device.readings.filter(received_at__gte=since).order_by("-received_at")[:limit])


# What the chart plots: numbers as hourly min / avg / max, events as hourly counts. The
# adapters keep only finite numbers and booleans under these keys, so the casts are safe.
CHART_MEASURES = (("temperature", _("温度(℃)")), ("humidity", _("湿度(%)")), ("battery", _("电量(%)")),
                  ("linkquality", _("信号质量")))
CHART_EVENTS = (("door_open", _("开门次数")), ("smoke", _("烟雾报警")), ("gas", _("燃气报警")),
                ("water_leak", _("漏水报警")), ("sos", _("紧急呼叫")))


def device_chart(*, device: Device, days: int = 7) -> dict[str, Any]:
    """The device's last ``days`` days bucketed per hour in the database (one GROUP BY), so a
    busy device sends at most ``24 × days`` points per series, never its raw readings.

    Returns ``{"measures": [{key, name, points: [[ms, min, avg, max], …]}], "events": [{key,
    name, points: [[ms, count], …]}], "messages": [[ms, count], …]}``; series without data
    are left out. Times are epoch milliseconds of the hour's start.
    """
    since = timezone.now() - timedelta(days=days)
    aggregates: dict[str, Any] = {"n": Count("pk")}
    for key, _label in CHART_MEASURES:
        number = Cast(KeyTextTransform(key, "values"), FloatField())
        aggregates[f"{key}__min"] = Min(number)
        aggregates[f"{key}__avg"] = Avg(number)
        aggregates[f"{key}__max"] = Max(number)
    for key, _label in CHART_EVENTS:
        aggregates[f"{key}__n"] = Count("pk", filter=Q(**{f"values__{key}": True}))
    rows = list(device.readings.filter(received_at__gte=since).annotate(hour=TruncHour("received_at"))
                .values("hour").annotate(**aggregates).order_by("hour"))

    def ms(row: dict[str, Any]) -> int:
        return int(row["hour"].timestamp() * 1000)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    measures = []
    for key, label in CHART_MEASURES:
        points = [[ms(r), rounded(r[f"{key}__min"]), rounded(r[f"{key}__avg"]), rounded(r[f"{key}__max"])]
                  for r in rows if r[f"{key}__avg"] is not None]
        if points:
            measures.append({"key": key, "name": str(label), "points": points})
    events = []
    for key, label in CHART_EVENTS:
        points = [[ms(r), r[f"{key}__n"]] for r in rows]
        if any(n for _t, n in points):
            events.append({"key": key, "name": str(label), "points": points})
    return {"measures": measures, "events": events, "messages": [[ms(r), r["n"]] for r in rows],
            "messages_name": str(_("上报条数"))}


def devices_of_person(*, user: User, person: Person) -> list[Device]:
    """The devices protecting a person, as far as the user may see them (the person page)."""
    return list(Device.objects.filter(person=person, grid_id__in=_grids(user)).order_by("kind", "external_id"))


def alarm_list_for_user(*, user: User, state: str = "open") -> QuerySet[Alarm]:
    """Alarms in the user's grids, newest first; ``state`` is ``open`` or ``all``."""
    rows = Alarm.objects.filter(grid_id__in=_grids(user)).select_related("device", "grid", "case")
    if state == "open":
        rows = rows.filter(status__in=OPEN_ALARM_STATUSES)
    return rows.order_by("-raised_at", "-pk")


def alarm_get_for_user(*, user: User, alarm_id: int) -> Alarm:
    found = (Alarm.objects.filter(grid_id__in=_grids(user), pk=alarm_id)
             .select_related("device", "device__room", "device__building", "grid", "case", "acknowledged_by",
                             "closed_by").first())
    if found is None:
        raise NotFound(_("报警不存在"))
    return found


@dataclass(frozen=True)
class FalseAlarmRate:
    """How often the alarms of one device model were false, in the user's grids."""

    kind: str
    model: str
    alarms: int
    false_alarms: int

    @property
    def rate(self) -> float:
        return self.false_alarms / self.alarms if self.alarms else 0.0


def false_alarm_rates_for_user(*, user: User) -> list[FalseAlarmRate]:
    rows = (Alarm.objects.filter(grid_id__in=_grids(user)).values("device__kind", "device__model")
            .annotate(alarms=Count("pk"), false_alarms=Count("pk", filter=Q(status=AlarmStatus.FALSE_ALARM)))
            .order_by("device__kind", "device__model"))
    return [FalseAlarmRate(r["device__kind"], r["device__model"] or "—", r["alarms"], r["false_alarms"]) for r in rows]


def dead_letter_list_for_user(*, user: User) -> QuerySet[DeadLetter]:
    """Street staff and district administrators see the dead letters; others nothing."""
    if user.role not in _DEAD_LETTER_ROLES or not scope_for(user).area_ids:
        return DeadLetter.objects.none()
    return DeadLetter.objects.order_by("-received_at", "-pk")


def dead_letter_counts_for_user(*, user: User) -> dict[str, int]:
    rows = dead_letter_list_for_user(user=user).values("reason").annotate(n=Count("pk")).order_by()
    return {r["reason"]: r["n"] for r in rows}
