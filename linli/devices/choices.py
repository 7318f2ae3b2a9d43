"""Enumerations of the devices app (物联感知): device kinds and states, alarm kinds and states."""

from __future__ import annotations

import enum

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    """What a device senses."""

    DOOR_CONTACT = "door_contact", _("门磁")
    SMOKE = "smoke", _("烟感")
    GAS = "gas", _("燃气报警器")
    WATER_LEAK = "water_leak", _("水浸传感器")
    SOS = "sos", _("紧急呼叫按钮")
    WEARABLE = "wearable", _("智能手环")
    CAMERA = "camera", _("AI摄像头")
    GATEWAY = "gateway", _("网关")


class DeviceStatus(models.TextChoices):
    """Connectivity as the last message and the heartbeat sweep left it."""

    NEW = "new", _("未上线")
    ONLINE = "online", _("在线")
    OFFLINE = "offline", _("离线")


class AlarmKind(models.TextChoices):
    """Why an alarm was raised. ``SILENT`` is a maintenance task (the device stopped
    reporting), never an emergency: it opens no case."""

    SMOKE = "smoke", _("烟雾报警")
    GAS = "gas", _("燃气泄漏")
    SOS = "sos", _("紧急呼叫")
    WATER_LEAK = "water_leak", _("漏水")
    ABSENCE = "absence", _("长时间未开门")
    CAMERA = "camera", _("视频AI事件")
    SILENT = "silent", _("设备离线")
    TAMPER = "tamper", _("设备被拆")


class AlarmStatus(models.TextChoices):
    """raised → acknowledged → handled, or false alarm; cleared when the condition ended
    by itself (the door opened, the camera stopped seeing it, the device came back)."""

    RAISED = "raised", _("待确认")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    HANDLED = "handled", _("已处置")
    FALSE_ALARM = "false_alarm", _("误报")
    CLEARED = "cleared", _("已解除")


# An alarm in these states folds repeats of the same (device, kind, key) into itself.
OPEN_ALARM_STATUSES: tuple[str, ...] = (AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED)


class AlarmAction(enum.StrEnum):
    """Actions of :func:`linli.devices.services.alarm_transition`."""

    ACKNOWLEDGE = "acknowledge"
    HANDLE = "handle"
    FALSE_ALARM = "false_alarm"
    CLEAR = "clear"


class DeadLetterReason(models.TextChoices):
    """Why a message could not be ingested (it is kept, never dropped)."""

    UNKNOWN_TOPIC = "unknown_topic", _("未知主题")
    MALFORMED = "malformed", _("格式错误")
    OVERSIZED = "oversized", _("消息过大")
    UNKNOWN_DEVICE = "unknown_device", _("未登记设备")
    INVALID = "invalid", _("字段无效")
    INTERNAL = "internal", _("处理出错")
