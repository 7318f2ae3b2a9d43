"""Read-only admin views of devices, alarms and dead letters: registration and alarm
handling go through the services (pages and API), never through a form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from linli.core.admin import AuditedModelAdmin
from linli.devices.models import Alarm, DeadLetter, Device


class _ReadOnly(AuditedModelAdmin[Any]):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        model: type[models.Model] = self.model
        return [f.name for f in model._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(_ReadOnly):
    list_display = ("external_id", "kind", "grid", "status", "battery", "last_seen_at")
    list_filter = ("kind", "status", "battery_low")
    search_fields = ("external_id", "name")
    list_select_related = ("grid",)


@admin.register(Alarm)
class AlarmAdmin(_ReadOnly):
    list_display = ("raised_at", "kind", "level", "status", "device", "grid", "case")
    list_filter = ("kind", "status", "level")
    list_select_related = ("device", "grid", "case")


@admin.register(DeadLetter)
class DeadLetterAdmin(_ReadOnly):
    list_display = ("received_at", "topic", "reason", "field")
    list_filter = ("reason",)
    search_fields = ("topic",)
