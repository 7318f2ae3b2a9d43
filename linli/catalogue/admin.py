"""Admin for the catalogue: read-only views. Items are published, applications moved and
appointments booked through the audited services (and the catalogue pages), never here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from linli.catalogue.models import (
    Application,
    ApplicationEvent,
    Appointment,
    ServiceItem,
    ServiceItemVersion,
    ServiceWindow,
)
from linli.core.admin import ReadOnlyAdmin


@admin.register(ServiceItem)
class ServiceItemAdmin(ReadOnlyAdmin[Any]):
    list_display = ("code", "name", "department", "level", "kind", "active")
    list_filter = ("level", "kind", "department", "active")
    search_fields = ("code", "name", "search_keywords")


@admin.register(ServiceItemVersion)
class ServiceItemVersionAdmin(ReadOnlyAdmin[Any]):
    list_display = ("item", "version", "time_limit_days", "published_at")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin[Any]):
    list_display = ("number", "item_version", "applicant_name", "community", "status",
                                         "due_at",)
    list_filter = ("status", "channel")
    search_fields = ("number",)
    # Form data holds masked identifiers and ciphertexts: not shown here.
    exclude = ("data",)


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdmin[Any]):
    list_display = ("application", "action", "from_status", "to_status", "actor_label", "at")


@admin.register(ServiceWindow)
class ServiceWindowAdmin(ReadOnlyAdmin[Any]):
    list_display = ("code", "name", "community", "capacity_per_slot", "active")


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin[Any]):
    list_display = ("window", "slot_start", "seat", "name", "status", "number")
    exclude = ("phone_enc", "phone_bidx")
