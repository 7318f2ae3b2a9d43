"""Admin for the area tree: browse and rename.

Creating, moving or deleting areas changes ``path`` (every scope) and the grid locator, so
those go through the geo services and commands, not through a generic form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.core.admin import AuditedModelAdmin
from linli.geo.models import Area


@admin.register(Area)
class AreaAdmin(AuditedModelAdmin[Area]):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    ordering = ("code",)
    list_select_related = ("parent",)
    fields = ("code", "name", "level", "parent", "path", "boundary", "centroid_lon",
              "centroid_lat", "created_at", "updated_at")
    readonly_fields = ("code", "level", "parent", "path", "boundary", "centroid_lon",
                       "centroid_lat", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
