"""Admin for data stewards: read-only views of the care tables. Rules are edited on the rule
editor page (validated, versioned, audited), benefits through the services, never here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.care.models import Benefit, Policy, PolicyVersion, SweepRun


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "department", "expiry_notice_days", "is_active")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("policy", "number", "effective_from", "effective_to", "amount")
    list_select_related = ("policy",)


@admin.register(Benefit)
class BenefitAdmin(ReadOnlyAdmin):
    list_display = ("person_id", "policy", "state", "starts_on", "ends_on", "source")
    list_filter = ("state", "source", "policy")
    list_select_related = ("policy",)


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdmin):
    list_display = ("on", "status", "steps_done", "finished_at")
