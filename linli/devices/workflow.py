"""Pure rules of the devices app: alarm transitions, what each alarm opens, deadlines.

No ORM here: the tables are tested over every pair, the services apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli.devices.choices import AlarmAction, AlarmKind, AlarmStatus, DeviceKind

S = AlarmStatus
A = AlarmAction

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.RAISED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.RAISED, A.HANDLE): S.HANDLED,
    (S.RAISED, A.FALSE_ALARM): S.FALSE_ALARM,
    (S.RAISED, A.CLEAR): S.CLEARED,
    (S.ACKNOWLEDGED, A.HANDLE): S.HANDLED,
    (S.ACKNOWLEDGED, A.FALSE_ALARM): S.FALSE_ALARM,
    (S.ACKNOWLEDGED, A.CLEAR): S.CLEARED,
}
# What a person may do from the alarm page (``CLEAR`` is the system's: the door opened).
PERSON_ACTIONS: frozenset[str] = frozenset({A.ACKNOWLEDGE, A.HANDLE, A.FALSE_ALARM})


def next_status(status: str, action: str) -> str | None:
    return TRANSITIONS.get((status, action))


def actions_from(status: str, *, person: bool = True) -> list[str]:
    return [a for (s, a) in TRANSITIONS if s == status and (not person or a in PERSON_ACTIONS)]


@dataclass(frozen=True)
class AlarmRule:
    """What an alarm kind does: the case category (小类 code) and level it opens, if any."""

    level: int
    category: str | None


# smoke / gas / SOS: level 1 at once. Water leak: the property company's 房屋漏水. Absence: a
# welfare check (独居老人异常, dispatched to the grid worker by the 特殊人群关爱 rule). A silent
# device is maintenance: no case.
ALARM_RULES: dict[str, AlarmRule] = {
    AlarmKind.SMOKE: AlarmRule(1, "0506"),
    AlarmKind.GAS: AlarmRule(1, "1203"),
    AlarmKind.SOS: AlarmRule(1, "1701"),
    AlarmKind.WATER_LEAK: AlarmRule(3, "1603"),
    AlarmKind.ABSENCE: AlarmRule(2, "1701"),
    AlarmKind.CAMERA: AlarmRule(3, None),  # the category comes from the label
    AlarmKind.TAMPER: AlarmRule(3, None),
    AlarmKind.SILENT: AlarmRule(4, None),
}

# Camera labels (Frigate / vendor AI models) → 小类. Unknown labels raise no alarm.
CAMERA_LABELS: dict[str, tuple[str, str]] = {
    "illegal_parking": ("0405", "机动车乱停放"),
    "car": ("0405", "机动车乱停放"),
    "street_vendor": ("0401", "无照经营游商"),
    "vendor": ("0401", "无照经营游商"),
    "shop_outside": ("0402", "店外经营"),
    "garbage": ("0101", "暴露垃圾"),
    "rubbish": ("0101", "暴露垃圾"),
    "bicycle": ("0406", "非机动车乱停放"),
}

# Which value of a message raises which alarm (after the adapters normalised it).
TRIGGERS: dict[str, str] = {
    "smoke": AlarmKind.SMOKE,
    "gas": AlarmKind.GAS,
    "carbon_monoxide": AlarmKind.GAS,
    "sos": AlarmKind.SOS,
    "water_leak": AlarmKind.WATER_LEAK,
    "tamper": AlarmKind.TAMPER,
}

# A camera that stops repeating an event for this long has ended it (vendors often never
# send the end).
CAMERA_IDLE = timedelta(minutes=10)
LOW_BATTERY_PERCENT = 20
DEFAULT_ABSENCE_HOURS = 24
DEFAULT_HEARTBEAT_SECONDS = 25 * 3600
# Cameras and gateways talk all the time; their silence matters sooner.
HEARTBEAT_BY_KIND: dict[str, int] = {DeviceKind.CAMERA: 15 * 60, DeviceKind.GATEWAY: 15 * 60}


def heartbeat_for(kind: str) -> int:
    return HEARTBEAT_BY_KIND.get(kind, DEFAULT_HEARTBEAT_SECONDS)


def absence_due(*, last_opened_at: datetime | None, since: datetime, hours: int | None) -> datetime | None:
    """When a door not opened since ``last_opened_at`` (or since ``since`` when it never
    reported an opening) becomes a welfare check; ``None`` when the rule is off."""
    if not hours:
        return None
    return (last_opened_at or since) + timedelta(hours=hours)


def absence_hours_for(*, device_hours: int | None, colour: str | None, by_colour: Mapping[str, int]) -> int | None:
    """The absence threshold of a door contact protecting an elder of care ``colour``: the
    colour's hours when shorter than the device's own (higher risk, sooner check), else the
    device's. ``None`` (rule off on this device) stays off; no colour keeps the device's."""
    if not device_hours:
        return None
    level_hours = by_colour.get(colour or "")
    return min(device_hours, level_hours) if level_hours else device_hours


def battery_is_low(battery: int | None, *, flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return battery is not None and battery <= LOW_BATTERY_PERCENT


def is_urgent(values: Mapping[str, object], *, camera_label: str | None = None, camera_phase: str = "") -> bool:
    """Whether a message raises an alarm with a case (a trigger value set, or a camera event
    with a case category): the ingestor commits such a message at once, ahead of the
    telemetry queued before it. Silence (``available: false``) is not urgent: it is a
    maintenance item, and a later message clears it."""
    if any(values.get(name) is True for name in TRIGGERS):
        return True
    return camera_label is not None and camera_label in CAMERA_LABELS and camera_phase != "end"
