"""Admin of fusion: sources are defined here (or as files under ``sources/``); the rest
is read-only, since imports, reviews and answers go through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from linli.core.admin import ReadOnlyAdmin
from linli.core.errors import ValidationFailed
from linli.fusion.mapping import parse_source_definition
from linli.fusion.models import (
    FieldProvenance,
    ImportJob,
    MatchReview,
    Source,
    SourceRecord,
    VerificationTask,
)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin[Source]):
    list_display = ("code", "name", "department", "active", "updated_at")
    list_filter = ("department", "active")
    search_fields = ("code", "name")
    readonly_fields = ("definition_sha",)

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:  # noqa: FBT001 -- Django's signature
        from linli.fusion.services import source_save

        try:
            saved = source_save(actor=request.user, definition=obj.definition, name=obj.name)
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from None
        obj.pk = saved.pk




@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin[Any]):
    list_display = ("id", "source", "file_name", "status", "progress", "dry_run", "created_at")
    list_filter = ("status", "source")


@admin.register(SourceRecord)
class SourceRecordAdmin(ReadOnlyAdmin[Any]):
    list_display = ("id", "source", "row_number", "status", "outcome", "how", "person_id")
    list_filter = ("status", "outcome", "source")
    exclude = ("raw",)


@admin.register(FieldProvenance)
class FieldProvenanceAdmin(ReadOnlyAdmin[Any]):
    list_display = ("person_id", "field", "source", "precedence", "won", "reason", "observed_at")
    list_filter = ("field", "won")
    exclude = ("value_enc", "value")


@admin.register(MatchReview)
class MatchReviewAdmin(ReadOnlyAdmin[Any]):
    list_display = ("id", "record_id", "candidate_id", "score", "status")
    list_filter = ("status",)


@admin.register(VerificationTask)
class VerificationTaskAdmin(ReadOnlyAdmin[Any]):
    list_display = ("id", "person_id", "field", "grid", "assignee", "status", "created_at")
    list_filter = ("status", "field")


__all__ = ["SourceAdmin", "parse_source_definition"]
