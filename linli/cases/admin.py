"""Admin for the case catalogue (categories, dispatch rules), editable by
district admins, and a read-only view of cases: status changes go through the workflow
service, never through a form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.cases.models import Case, Category, DispatchRule
from linli.core.admin import AuditedModelAdmin


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin[Category]):
    list_display = ("code", "name", "parent", "domain", "default_level", "handle_amount",
                    "handle_unit", "department", "active")
    list_filter = ("domain", "active", "parent")
    search_fields = ("code", "name")
    list_select_related = ("parent", "department")
    ordering = ("code",)


@admin.register(DispatchRule)
class DispatchRuleAdmin(AuditedModelAdmin[DispatchRule]):
    list_display = ("category", "area", "target", "department", "priority", "approval_min_level", "active")
    list_filter = ("target", "active")
    list_select_related = ("category", "area", "department")
    raw_id_fields = ("area",)


@admin.register(Case)
class CaseAdmin(AuditedModelAdmin[Case]):
    list_display = ("number", "status", "category", "grid", "level", "supervision_level", "created_at")
    list_filter = ("status", "source", "supervision_level")
    search_fields = ("number",)
    list_select_related = ("category", "grid")
    exclude = ("callback_phone_enc",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Case._meta.concrete_fields if f.name != "callback_phone_enc"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
