"""The import wizard and the import jobs: upload → preview → dry run → commit → report.

The uploaded file is checked by the readers before anything is written (a refusal shows
its reason and leaves no row behind), kept under ``DATA_DIR/fusion/uploads/`` named by its
SHA-256, and remembered in the uploader's session until it becomes a job. Dry run and
commit are both background jobs (``import_job_run``); the job page polls their progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.core import pii
from linli.core.errors import ApplicationError, NotFound, ValidationFailed
from linli.fusion import selectors, services
from linli.fusion.choices import ImportStatus, MatchHow
from linli.fusion.errors import FileRefused
from linli.fusion.forms import ReportDownloadForm, UploadForm
from linli.fusion.mapping import SourceDefinition
from linli.fusion.models import ImportJob, Source
from linli.fusion.normalise import normalise_frame, reason_message
from linli.fusion.pipeline import definition_of, stage_read
from linli.fusion.readers import (
    ROW_COLUMN,
    SHEET_COLUMN,
    ReadResult,
    max_upload_bytes,
)
from linli.fusion.views.access import IMPORT_ROLES, StaffRequest, request_id_of, staff_view
from linli.fusion.views.context import FIELD_LABELS, HOW_LABELS, fusion_context
from linli.fusion.views.display import value_text

SESSION_KEY = "fusion_uploads"
PREVIEW_ROWS = 5
JOB_LIST_LIMIT = 50
REJECTED_SHOWN = 50
# Multipart framing around the file; a body larger than the limit plus this is refused unread.
UPLOAD_OVERHEAD = 64 * 1024
ALLOWED_SUFFIXES = frozenset({".csv", ".txt", ".xlsx"})


def _store_upload(upload: Any) -> tuple[Path, bool]:
    """Write the upload content-addressed; ``(path, created)`` — created is False when the
    same bytes were already there (another job may still point at them)."""
    directory = services.uploads_dir()
    directory.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name or "").suffix.lower()
    suffix = suffix if suffix in ALLOWED_SUFFIXES else ""
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in upload.chunks():
                digest.update(chunk)
                out.write(chunk)
        target = directory / f"{digest.hexdigest()}{suffix}"
        if target.exists():
            return target, False
        Path(temp_name).replace(target)
        return target, True
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temp_name).unlink()


def _uploads(request: StaffRequest) -> dict[str, dict[str, Any]]:
    stored = request.session.get(SESSION_KEY)
    return stored if isinstance(stored, dict) else {}


def _remember(request: StaffRequest, state: dict[str, Any]) -> str:
    uploads = _uploads(request)
    # Keep the session small: the last few uploads are enough to go back a step.
    for old in list(uploads)[:-4]:
        uploads.pop(old, None)
    token = secrets.token_urlsafe(12)
    uploads[token] = state
    request.session[SESSION_KEY] = uploads
    return token


def _upload_state(request: StaffRequest, token: str) -> tuple[dict[str, Any], Source]:
    state = _uploads(request).get(token)
    if state is None:
        raise NotFound(_("上传的文件已过期,请重新上传"))
    source = selectors.source_get_for_user(user=request.user, code=str(state["source"]))
    return state, source


@staff_view(IMPORT_ROLES)
@never_cache
@require_http_methods(["GET", "POST"])
def upload(request: StaffRequest) -> HttpResponse:
    """Step 1: choose the source and the file; the file is checked before it is kept."""
    sources = selectors.source_list_for_user(user=request.user)
    areas = selectors.import_areas_for_user(user=request.user)
    limit = max_upload_bytes()
    if request.method == "POST":
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > limit + UPLOAD_OVERHEAD:
            # Refused before the body is read: a 200 MB upload never reaches the disk.
            form = UploadForm(sources=sources, areas=areas)
            refusal = _("文件过大(%(size)s MB),上限为 %(limit)s MB,请分批导出") % {
                "size": round(length / 1048576, 1), "limit": limit // 1048576}
            return _upload_page(request, form, refusal=refusal, status=413)
        form = UploadForm(request.POST, request.FILES, sources=sources, areas=areas)
        if form.is_valid():
            source: Source = form.cleaned_data["source"]
            file = form.cleaned_data["file"]
            if file.size > limit:
                refusal = _("文件过大(%(size)s MB),上限为 %(limit)s MB,请分批导出") % {
                    "size": round(file.size / 1048576, 1), "limit": limit // 1048576}
                return _upload_page(request, form, refusal=refusal, status=413)
            path, created = _store_upload(file)
            try:
                read = stage_read(definition_of(source), path, head=PREVIEW_ROWS)
            except FileRefused as refused:
                if created:
                    path.unlink(missing_ok=True)
                return _upload_page(request, form, refusal=refused.message, refused_field=refused.field or "",
                                    status=400)
            token = _remember(request, {
                "source": source.code, "path": str(path), "name": Path(file.name or path.name).name[:255],
                "sha256": read.sha256, "size": read.size, "area": form.cleaned_data["area"].pk,
            })
            return redirect("fusion:preview", token=token)
        return _upload_page(request, form, status=400)
    return _upload_page(request, UploadForm(sources=sources, areas=areas))


def _upload_page(request: StaffRequest, form: UploadForm, *, refusal: str = "", refused_field: str = "",
                 status: int = 200) -> HttpResponse:
    return render(request, "fusion/upload.html", {
        **fusion_context(request.user, "upload"), "form": form, "refusal": refusal,
        "refused_field": refused_field, "limit_mb": max_upload_bytes() // 1048576,
    }, status=status)


@dataclass(frozen=True)
class PreviewCell:
    """One mapped cell: the value in the file and what linli makes of it."""

    column: str
    field: str
    raw: str
    value: str
    error: str


@dataclass(frozen=True)
class PreviewRow:
    row_number: int
    sheet: str
    cells: list[PreviewCell]


def _shown(field: str, value: Any) -> str:
    """A value for the preview: personal identifiers masked, empty as ''."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, bool):
        text = _("是") if value else _("否")
    if field == "id_number":
        return pii.mask_id_number(text)
    if field == "phone":
        return pii.mask_phone(text)
    # Codes the normaliser writes (``local``, ``M``) in words, as the person pages show them.
    return value_text(field, text)


def preview_rows(read: ReadResult, definition: SourceDefinition, *, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first rows: each mapped column's source value → normalised value (or the reason)."""
    head = read.frame.head(limit)
    normalised = normalise_frame(head.rename({ROW_COLUMN: "row_number"}), definition)
    rows: list[PreviewRow] = []
    all_errors = normalised["errors"].to_list()
    for i in range(head.height):
        errors = {e["column"]: reason_message(e["code"]) for e in (all_errors[i] or [])}
        cells = []
        for column, cmap in definition.columns.items():
            if column not in head.columns:
                continue
            out = "address_norm" if cmap.field == "address" else cmap.field
            value = normalised[out][i] if out in normalised.columns else None
            cells.append(PreviewCell(
                column=column, field=cmap.field, raw=_shown(cmap.field, head[column][i]),
                value=_shown(cmap.field, value), error=errors.get(column, ""),
            ))
        rows.append(PreviewRow(row_number=int(head[ROW_COLUMN][i]), sheet=str(head[SHEET_COLUMN][i] or ""),
                               cells=cells))
    return rows


@staff_view(IMPORT_ROLES)
@never_cache
@require_GET
def preview(request: StaffRequest, token: str) -> HttpResponse:
    """Steps 2 and 3: detected encoding and columns, and the mapping of the first rows."""
    state, source = _upload_state(request, token)
    definition = definition_of(source)
    try:
        read = stage_read(definition, Path(state["path"]), head=PREVIEW_ROWS)
    except FileRefused as refused:
        messages.error(request, refused.message)
        return redirect("fusion:upload")
    mapped = [(c, definition.columns[c].field) for c in read.columns if c in definition.columns]
    return render(request, "fusion/preview.html", {
        **fusion_context(request.user, "upload"), "token": token, "state": state, "source": source,
        "read": read, "definition": definition, "mapped": mapped,
        "mapped_labels": [(c, FIELD_LABELS.get(f, f)) for c, f in mapped],
        "unmapped": [c for c in read.columns if c not in definition.columns],
        "key_columns": list(definition.key_columns), "rows": preview_rows(read, definition),
    })


@staff_view(IMPORT_ROLES)
@require_POST
def dry_run(request: StaffRequest, token: str) -> HttpResponse:
    """Step 4: a dry run in the background; its job page shows what the import would do."""
    state, source = _upload_state(request, token)
    try:
        job = services.import_job_create(actor=request.user, source=source, file_path=Path(state["path"]),
                                         file_name=str(state["name"]), dry_run=True, area=state.get("area"))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("fusion:upload")
    return redirect("fusion:job", job_id=job.pk)


@staff_view(IMPORT_ROLES)
@require_POST
def commit(request: StaffRequest, job_id: int) -> HttpResponse:
    """Step 5: the real import of the file a finished dry run checked."""
    dry = selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    if not dry.dry_run or dry.status != ImportStatus.DONE:
        messages.error(request, _("只能在试运行完成后确认导入"))
        return redirect("fusion:job", job_id=dry.pk)
    try:
        job = services.import_job_create(actor=request.user, source=dry.source, file_path=Path(dry.file_path),
                                         file_name=dry.file_name, dry_run=False, area=dry.area_id)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("fusion:job", job_id=dry.pk)
    messages.success(request, _("已开始导入,完成后将显示导入报告。"))
    return redirect("fusion:job", job_id=job.pk)


@staff_view(IMPORT_ROLES)
@require_POST
def resume(request: StaffRequest, job_id: int) -> HttpResponse:
    """Run a failed or interrupted job again (its worker died, or the cause was fixed)."""
    job = selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    try:
        services.import_job_resume(actor=request.user, job=job)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已重新排队,完成后将显示导入报告。"))
    return redirect("fusion:job", job_id=job.pk)


@staff_view(IMPORT_ROLES)
@require_GET
def job_list(request: StaffRequest) -> HttpResponse:
    jobs = list(selectors.import_job_list_for_user(user=request.user)[:JOB_LIST_LIMIT])
    return render(request, "fusion/jobs.html", {**fusion_context(request.user, "jobs"), "jobs": jobs})


@dataclass(frozen=True)
class RejectedLists:
    """What a report lists of its problems, each count from one source: refused rows (the
    ``rejected`` count) and dropped values of accepted rows (``dropped_values``); ``*_more``
    is that count minus the lines shown."""

    rows: list[dict[str, Any]]
    rows_more: int
    dropped: list[dict[str, Any]]
    dropped_more: int


def rejected_lists(counts: dict[str, Any], *, shown: int = REJECTED_SHOWN) -> RejectedLists:
    """Split a job's listed problems into refused rows and dropped values, at most ``shown``
    of each, with how many more of each the counts say there are."""
    listed = counts.get("rejected_rows") or []
    rows = [item for item in listed if item.get("rejected", True)][:shown]
    dropped = [item for item in listed if not item.get("rejected", True)][:shown]
    rows_total = int(counts.get("rejected") or 0)
    dropped_total = int(counts.get("dropped_values") or 0)
    return RejectedLists(rows, max(rows_total - len(rows), 0), dropped, max(dropped_total - len(dropped), 0))


def rejected_items(job: ImportJob) -> RejectedLists:
    """The first refused rows and dropped values (row, sheet, column, reason) of a finished
    job — dry run or not — and how many more of each there are."""
    if job.status != ImportStatus.DONE:
        return RejectedLists([], 0, [], 0)
    counts = job.counts or {}
    if isinstance(counts.get("rejected_rows"), list):
        return rejected_lists(counts)
    items: list[dict[str, Any]] = []  # older jobs: from the stored records
    for record in selectors.job_rejected_records(job=job)[:REJECTED_SHOWN]:
        items.extend({"row": record.row_number, "sheet": record.sheet, "column": item.get("column", ""),
                      "reason": item.get("reason", ""), "rejected": True} for item in record.rejected_reasons or [])
    return rejected_lists({"rejected_rows": items, "rejected": counts.get("rejected") or len(items)})


def job_context(job: ImportJob, user: Any = None) -> dict[str, Any]:
    """What the job page and its polled status fragment show."""
    counts = job.counts or {}
    matched = counts.get("matched") or {}
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    problems = rejected_items(job)
    return {
        "job": job, "counts": counts, "finished": finished,
        "running": not finished,
        "matched": [(str(HOW_LABELS.get(how, how)), n) for how, n in sorted(matched.items()) if how != MatchHow.NEW],
        "rejected": problems.rows, "rejected_more": problems.rows_more,
        "dropped": problems.dropped, "dropped_more": problems.dropped_more,
        "has_rejected_file": bool(job.report_file) or bool(problems.rows) or bool(problems.dropped),
        "can_reveal": user is not None and scope_for(user).can(Permission.REVEAL_PII),
    }


@staff_view(IMPORT_ROLES)
@never_cache
@require_GET
def job_detail(request: StaffRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    return render(request, "fusion/job.html", {**fusion_context(request.user, "jobs"), **job_context(job, request.user)})


@staff_view(IMPORT_ROLES)
@never_cache
@require_GET
def job_progress(request: StaffRequest, job_id: int) -> HttpResponse:
    """The job's status fragment, polled every second by HTMX while the job runs."""
    job = selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    return render(request, "fusion/_job_status.html", job_context(job, request.user))


@staff_view(IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def rejected_download(request: StaffRequest, job_id: int) -> HttpResponseBase:
    """The rejected rows (row number, column, reason, the row's values) for the department
    to fix and resend. GET: ID numbers and phones masked; POST ``full`` + ``reason``: the
    values as sent (needs the reveal permission). Both go through the audited service."""
    job = selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    form = ReportDownloadForm(request.POST if request.method == "POST" else None)
    full = request.method == "POST" and form.is_valid() and bool(form.cleaned_data["full"])
    reason = str(form.cleaned_data.get("reason") or "") if form.is_bound and form.is_valid() else ""
    try:
        body = services.import_report_download(actor=request.user, job=job, request_id=request_id_of(request),
                                               full=full, reason=reason)
    except ValidationFailed as error:
        messages.error(request, error.message)
        return redirect("fusion:job", job_id=job.pk)
    suffix = "full" if full else "masked"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-rejected-{suffix}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def job_url(job: ImportJob) -> str:
    return reverse("fusion:job", kwargs={"job_id": job.pk})
