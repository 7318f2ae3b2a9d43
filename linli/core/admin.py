"""Admin pieces shared by every app: audited admin writes, and the read-only audit trail.

Django's admin is for district admins and superusers (see ``linli.accounts.backends``).
Whatever they change there is written to the audit chain in the same transaction, with
field names only.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest

from linli.core.actors import Actor
from linli.core.models import AuditEntry
from linli.core.services import audit_record

_M = TypeVar("_M", bound=models.Model)


def request_actor(request: HttpRequest) -> Actor:
    """The admin user behind a request (the admin only serves logged-in staff)."""
    user: Actor = request.user
    return user


def _target_type(obj: models.Model) -> str:
    return obj._meta.label_lower


class AuditedModelAdmin(admin.ModelAdmin[_M]):
    """A ModelAdmin whose saves and deletes append audit entries (``admin.add`` …)."""

    def save_model(self, request: HttpRequest, obj: _M, form: ModelForm[_M], change: bool) -> None:  # noqa: FBT001 -- Django's signature
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request_actor(request), action="admin.change" if change else "admin.add",
                target_type=_target_type(obj), target_id=str(obj.pk),
                fields=form.changed_data, request_id=getattr(request, "request_id", ""),
            )

    def delete_model(self, request: HttpRequest, obj: _M) -> None:
        with transaction.atomic():
            target_id = str(obj.pk)
            super().delete_model(request, obj)
            audit_record(actor=request_actor(request), action="admin.delete",
                         target_type=_target_type(obj), target_id=target_id,
                         request_id=getattr(request, "request_id", ""))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[_M]) -> None:
        with transaction.atomic():
            pks = [str(pk) for pk in queryset.values_list("pk", flat=True)]
            super().delete_queryset(request, queryset)
            for pk in pks:
                audit_record(actor=request_actor(request), action="admin.delete",
                             target_type=self.model._meta.label_lower, target_id=pk,
                             request_id=getattr(request, "request_id", ""))

    def save_formset(
        self, request: HttpRequest, form: ModelForm[_M], formset: BaseModelFormSet[Any, Any],
        change: bool,  # noqa: FBT001 -- Django's signature
    ) -> None:
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            touched = formset.new_objects or formset.changed_objects or formset.deleted_objects
            if touched:
                audit_record(
                    actor=request_actor(request), action="admin.change_related",
                    target_type=_target_type(form.instance), target_id=str(form.instance.pk),
                    fields=[formset.model._meta.label_lower],
                    request_id=getattr(request, "request_id", ""),
                )


@admin.register(AuditEntry)
class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """Viewing only: writes go through the audited services, never the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditEntryAdmin(ReadOnlyAdmin[AuditEntry]):
    list_display = ("seq", "created_at", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("action", "actor_label", "target_id", "request_id")
    ordering = ("-seq",)
    date_hierarchy = "created_at"
    readonly_fields = tuple(f.name for f in AuditEntry._meta.fields)
    actions = None

    # The log is append-only: no add, change or delete through the admin, for anyone
    # (ReadOnlyAdmin), superusers included.
