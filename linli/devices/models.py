"""Devices (物联感知): sensors and cameras, what they report, the alarms they raise.

State, alarms and timers live here, never only in an ingestor's memory: the absence and
heartbeat deadlines are the columns ``absence_due_at`` and ``offline_due_at``, which a
sweep compares with the clock (see ``services.device_sweep``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel
from linli.devices.choices import (
    OPEN_ALARM_STATUSES,
    AlarmKind,
    AlarmStatus,
    DeadLetterReason,
    DeviceKind,
    DeviceStatus,
)


class Device(TimeStampedModel):
    """A sensor, button, wearable, camera or gateway installed somewhere in a grid.

    ``external_id`` is what the device calls itself on the broker (the Zigbee2MQTT friendly
    name, the Frigate camera name, the gateway's device id). ``grid`` scopes who sees it;
    ``room`` / ``building`` / ``person`` say what it protects.
    """

    kind = models.CharField(_("类型"), max_length=16, choices=DeviceKind.choices, db_index=True)
    external_id = models.CharField(_("设备标识"), max_length=100, unique=True)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    vendor = models.CharField(_("厂商"), max_length=50, blank=True)
    model = models.CharField(_("型号"), max_length=50, blank=True)
    spot = models.CharField(_("安装位置"), max_length=50, blank=True, help_text=_("如:厨房、入户门"))
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="devices", verbose_name=_("网格"))
    building = models.ForeignKey("registry.Building", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="devices", verbose_name=_("楼栋"))
    room = models.ForeignKey("registry.Room", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="devices", verbose_name=_("房屋"))
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="devices", verbose_name=_("关爱对象"))
    # Where it is when no building says so (a camera on a pole).
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    # Silent for longer than this → offline and a maintenance task (Zigbee2MQTT: 25 h).
    heartbeat_seconds = models.PositiveIntegerField(_("心跳超时(秒)"), default=25 * 3600)
    # Door contacts of people living alone: not opened for this long → a welfare check.
    absence_hours = models.PositiveSmallIntegerField(_("未开门报警(小时)"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.NEW)
    battery = models.PositiveSmallIntegerField(_("电量(%)"), null=True, blank=True)
    battery_low = models.BooleanField(_("低电量"), default=False)
    last_seen_at = models.DateTimeField(_("最后上报"), null=True, blank=True)
    last_opened_at = models.DateTimeField(_("最后开门"), null=True, blank=True)
    last_values: models.JSONField[dict[str, Any]] = models.JSONField(_("最新数据"), default=dict, blank=True)
    # Deadlines the sweep claims with a compare-and-swap (NULL = nothing due).
    offline_due_at = models.DateTimeField(null=True, blank=True)
    absence_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ("grid_id", "kind", "external_id")
        indexes = (
            models.Index(fields=["offline_due_at"], name="device_offline_due",
                         condition=Q(offline_due_at__isnull=False)),
            models.Index(fields=["absence_due_at"], name="device_absence_due",
                         condition=Q(absence_due_at__isnull=False)),
            models.Index(fields=["person"], name="device_person", condition=Q(person__isnull=False)),
        )

    def __str__(self) -> str:
        return self.name or self.external_id


class Reading(TimeStampedModel):
    """One accepted message of a device: its inbox row. ``(device, message_key)`` is unique,
    so a QoS 1 redelivery (or a second ingestor) never applies a message twice."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    message_key = models.CharField(max_length=64)
    received_at = models.DateTimeField(_("接收时间"))
    values: models.JSONField[dict[str, Any]] = models.JSONField(_("数据"), default=dict)

    class Meta:
        verbose_name = _("设备上报")
        verbose_name_plural = _("设备上报")
        ordering = ("-received_at",)
        constraints = (
            models.UniqueConstraint(fields=["device", "message_key"], name="reading_device_message_unique"),
        )
        indexes = (models.Index(fields=["device", "received_at"], name="reading_device_time"),)

    def __str__(self) -> str:
        return f"{self.device_id}@{self.received_at:%Y-%m-%d %H:%M:%S}"


class Alarm(TimeStampedModel):
    """An alarm of a device. Repeats of the same ``(device, kind, fold_key)`` while it is
    open fold into it (``repeats``): the database enforces one open alarm per key."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("设备"))
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="alarms", verbose_name=_("网格"))
    kind = models.CharField(_("类型"), max_length=16, choices=AlarmKind.choices)
    # Cameras: label and zone ("car@no_parking"); empty for sensors.
    fold_key = models.CharField(max_length=100, blank=True, default="")
    level = models.PositiveSmallIntegerField(_("等级"))
    status = models.CharField(_("状态"), max_length=16, choices=AlarmStatus.choices, default=AlarmStatus.RAISED)
    summary = models.CharField(_("摘要"), max_length=200)
    raised_at = models.DateTimeField(_("报警时间"), db_index=True)
    last_at = models.DateTimeField(_("最近一次"))
    repeats = models.PositiveIntegerField(_("重复次数"), default=0)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="alarms", verbose_name=_("事件"))
    snapshot_url = models.CharField(_("抓拍"), max_length=300, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("确认人"))
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("处置人"))
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    note = models.CharField(_("处置说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("报警")
        verbose_name_plural = _("报警")
        ordering = ("-raised_at", "-pk")
        constraints = (
            models.UniqueConstraint(fields=["device", "kind", "fold_key"], name="alarm_one_open_per_key",
                                    condition=Q(status__in=OPEN_ALARM_STATUSES)),
        )
        indexes = (
            models.Index(fields=["grid", "raised_at"], name="alarm_grid_time"),
            models.Index(fields=["kind", "last_at"], name="alarm_open_kind", condition=Q(status__in=OPEN_ALARM_STATUSES)),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.device_id}"


class DeadLetter(TimeStampedModel):
    """A message the ingestor could not use, kept with its raw payload and the reason."""

    topic = models.CharField(_("主题"), max_length=300)
    # sha256 of topic and payload: a redelivered bad message is kept once.
    message_key = models.CharField(max_length=64, unique=True)
    payload = models.TextField(_("原始内容"), blank=True)
    payload_bytes = models.PositiveIntegerField(_("大小(字节)"), default=0)
    reason = models.CharField(_("原因"), max_length=16, choices=DeadLetterReason.choices, db_index=True)
    field = models.CharField(_("字段"), max_length=100, blank=True)
    detail = models.CharField(_("说明"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("接收时间"), db_index=True)

    class Meta:
        verbose_name = _("死信")
        verbose_name_plural = _("死信")
        ordering = ("-received_at", "-pk")

    def __str__(self) -> str:
        return f"{self.topic}: {self.reason}"
