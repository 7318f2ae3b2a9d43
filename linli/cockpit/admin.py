"""Incidents in the admin, for viewing only: every write goes through the audited services."""

from django.contrib import admin

from linli.cockpit.models import Incident, IncidentHousehold
from linli.core.admin import ReadOnlyAdmin


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin[Incident]):
    list_display = ("title", "area", "started_by", "started_at", "closed_at")
    search_fields = ("title",)
    date_hierarchy = "started_at"


@admin.register(IncidentHousehold)
class IncidentHouseholdAdmin(ReadOnlyAdmin[IncidentHousehold]):
    list_display = ("incident", "household", "building", "worker", "state", "marked_at")
    list_filter = ("state",)
    raw_id_fields = ("incident", "household", "building")
