"""Writes of the fusion app: sources, import jobs, review decisions, splits and the answers
of grid workers to verification tasks.

An import runs read → normalise → match outside any transaction (progress is committed
as it goes) and merge + persist inside ONE transaction: a failure leaves the registry as it
was. Every write is audited with field names only.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core import pii
from linli.core.actors import Actor, SystemActor
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record, audit_record_many, audit_record_standalone
from linli.fusion import persist
from linli.fusion.choices import (
    FIELD_VERIFICATION_PRECEDENCE,
    ConflictField,
    ImportStatus,
    MatchHow,
    MatchOutcome,
    RecordStatus,
    ReviewStatus,
    TaskStatus,
)
from linli.fusion.errors import FileRefused, FusionErrorCode
from linli.fusion.mapping import (
    DefinitionFileError,
    column_header,
    definition_diff,
    definition_paths,
    parse_source_definition,
    read_definition_file,
)
from linli.fusion.models import (
    FieldProvenance,
    ImportJob,
    MatchReview,
    Source,
    SourceRecord,
    VerificationTask,
)
from linli.fusion.normalise import normalise_frame
from linli.fusion.persist import persist_plan
from linli.fusion.pipeline import (
    Decision,
    ImportReport,
    Normalised,
    Progress,
    _in_grids,
    among,
    apply_value,
    chunk_size,
    definition_of,
    observations_of,
    raw_frame,
    raw_row,
    registry_keys,
    room_index,
    stage_match,
    stage_normalise,
    stage_read,
    write_rejected_file,
)
from linli.fusion.plan import Plan, build_plan, plan_slices
from linli.fusion.readers import SHEET_COLUMN
from linli.fusion.selectors import IMPORT_AREA_LEVELS, import_areas_for_user
from linli.fusion.workflow import (
    IMPORT_TRANSITIONS,
    PII_FIELDS,
    REVIEW_TRANSITIONS,
    TASK_TRANSITIONS,
    UNAPPLIED_FIELDS,
    Observation,
    WinReason,
    can_transition,
    loser_reason,
    pick_winner,
    relink_verdict,
)
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person, PersonTag, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE
from linli.registry.validators import parse_phone

logger = logging.getLogger(__name__)
SOURCES_DIR = Path(__file__).resolve().parent / "sources"
JOB = "fusion.importjob"
PERSON = "registry.person"


# --- sources ---------------------------------------------------------------------------


def _require_import_rights(actor: Actor) -> None:
    if isinstance(actor, User):
        scope = scope_for(actor)
        if not scope.can(Permission.EXPORT_REGISTRY) or not scope.grid_ids:
            raise PermissionDenied(_("无权导入部门数据"))


def source_save(*, actor: Actor, definition: Mapping[str, Any], name: str = "") -> Source:
    """Create or update a source from its definition (checked by ``parse_source_definition``)."""
    parsed = parse_source_definition(definition)
    body = json.dumps(definition, ensure_ascii=False, sort_keys=True)
    sha = hashlib.sha256(body.encode()).hexdigest()
    with transaction.atomic():
        source, created = Source.objects.select_for_update().get_or_create(
            code=parsed.code, defaults={"department": parsed.department},
        )
        if created or source.definition_sha != sha:
            source.department = parsed.department
            source.definition = json.loads(body)
            source.definition_sha = sha
            source.name = name or str(definition.get("name", "")) or source.name
            source.active = True
            source.save()
            audit_record(actor=actor, action="fusion.source_save", target_type="fusion.source", target_id=source.pk,
                         fields=["definition", "department"])
    return source


@dataclass
class SourcesSync:
    """What :func:`sources_apply` did: per file, the source saved (``changes``: the keys that
    differed, empty when already current) or the one-line error that kept it out."""

    saved: list[tuple[Path, Source, list[str]]] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


def sources_apply(*, actor: Actor, targets: Sequence[Path] = (SOURCES_DIR,), dry_run: bool = False) -> SourcesSync:
    """Save the definition files named (or found in the folders named) as sources, each on its
    own: a bad file is reported (``file: key: message``) and skipped, the others still load.
    ``dry_run`` only computes the differences (``linli fusion sources --diff``)."""
    result = SourcesSync()
    for path in definition_paths(list(targets)):
        try:
            raw, parsed = read_definition_file(path)
        except DefinitionFileError as exc:
            logger.error("fusion source definition refused: %s", exc)
            result.errors.append(str(exc))
            continue
        stored = Source.objects.filter(code=parsed.code).first()
        changes = definition_diff(stored.definition if stored else None, json.loads(json.dumps(raw)))
        if dry_run:
            result.saved.append((path, stored or Source(code=parsed.code), changes))
            continue
        result.saved.append((path, source_save(actor=actor, definition=raw), changes))
    return result


def sources_sync(*, actor: Actor, directory: Path = SOURCES_DIR) -> list[Source]:
    """Load the definitions kept under version control (``sources/*.toml``); a bad file is
    logged with its file and key and skipped, it does not block the others."""
    return [source for _path, source, _changes in sources_apply(actor=actor, targets=(directory,)).saved]


# --- import jobs -----------------------------------------------------------------------


def _set_job(job: ImportJob, **values: Any) -> None:
    """Commit a job's status/progress at once (outside the import transaction)."""
    status = values.get("status")
    if status is not None and status != job.status and not can_transition(IMPORT_TRANSITIONS, job.status, status):
        raise ApplicationError(FusionErrorCode.IMPORT_FAILED, _("导入任务状态不允许此操作"))
    for key, value in values.items():
        setattr(job, key, value)
    ImportJob.objects.filter(pk=job.pk).update(**values, updated_at=timezone.now())


def reports_dir() -> Path:
    return Path(settings.DATA_DIR) / "fusion" / "reports"


def import_areas_of(actor: Actor) -> list[Area]:
    """The streets and districts an importer may file a job under (inside their scope)."""
    if not isinstance(actor, User):
        return list(Area.objects.filter(level__in=IMPORT_AREA_LEVELS).order_by("level", "code"))
    return list(import_areas_for_user(user=actor))


def import_area_resolve(*, actor: Actor, area: Area | int | None) -> Area:
    """The area a job is filed under: the one chosen (must be the importer's street or
    district), or the only one they have; a system job without one goes to the root area."""
    area_id = area.pk if isinstance(area, Area) else area
    if isinstance(actor, User):
        choices = import_areas_of(actor)
        if area_id is None and len(choices) == 1:
            return choices[0]
        chosen = next((a for a in choices if a.pk == area_id), None)
        if chosen is None:
            raise ValidationFailed("area", _("请选择本人负责的街道或区"))
        return chosen
    if area_id is not None:
        found = Area.objects.filter(pk=area_id, level__in=IMPORT_AREA_LEVELS).first()
        if found is None:
            raise ValidationFailed("area", _("请选择有效的街道或区"))
        return found
    roots = list(Area.objects.filter(parent__isnull=True).order_by("code")[:2])
    if len(roots) != 1:
        raise ValidationFailed("area", _("请选择导入所属的街道或区"))
    return roots[0]


def grids_under(area: Area) -> list[int] | None:
    """The grid ids an import filed under ``area`` may match and write; ``None`` for a root
    area (the whole registry)."""
    if area.parent_id is None:
        return None
    return list(Area.objects.filter(path__startswith=area.path, level=AreaLevel.GRID).values_list("pk", flat=True))


PREVIEW_ROWS_CHECKED = 20


def import_job_create(
    *, actor: Actor, source: Source, file_path: Path, file_name: str = "", dry_run: bool = False,
    enqueue: bool = True, area: Area | int | None = None,
) -> ImportJob:
    """Check the file (refused before anything is written), then record a queued job and
    enqueue its background task in the same transaction."""
    _require_import_rights(actor)
    chosen = import_area_resolve(actor=actor, area=area)
    # Only the limits and the first rows here (a web request); the job reads the whole file.
    read = stage_read(definition_of(source), file_path, head=PREVIEW_ROWS_CHECKED)
    with transaction.atomic():
        job = ImportJob.objects.create(
            source=source, area=chosen, file_name=file_name or file_path.name, file_path=str(file_path),
            sha256=read.sha256,
            size=read.size, dry_run=dry_run, created_by=actor if isinstance(actor, User) else None,
            counts={"rows_read": read.rows, "encoding": read.encoding, "sheets": read.sheets},
        )
        audit_record(actor=actor, action="fusion.import_queue", target_type=JOB, target_id=job.pk,
                     fields=["source", "area", "file_name", "dry_run"])
        if enqueue:
            from linli.fusion.tasks import import_job_run

            if _task_backend_is_immediate():
                # The immediate backend would run the import inside this transaction.
                transaction.on_commit(lambda: import_job_run.enqueue(job.pk))
            else:
                import_job_run.enqueue(job.pk)
    return job


def _task_backend_is_immediate() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.endswith("ImmediateBackend")


def import_job_execute(*, job_id: int, progress: Progress | None = None) -> ImportReport:
    """Run (or re-run after a crash) a queued/running/failed job."""
    job = ImportJob.objects.select_related("source", "created_by", "area").get(pk=job_id)
    if job.status == ImportStatus.DONE:
        return ImportReport(source=job.source.code, file_name=job.file_name, dry_run=job.dry_run, job_id=job.pk)
    actor: Actor = job.created_by if job.created_by is not None else _system_actor()
    return import_run(actor=actor, source=job.source, file_path=Path(job.file_path), dry_run=job.dry_run,
                      job=job, progress=progress, area=job.area)


def _system_actor() -> Actor:
    return SystemActor("job:fusion_import")


def import_job_interrupted(*, actor: Actor, job_id: int, requeued: bool) -> ImportJob | None:
    """The worker running this job died (kill -9, out of memory, power). The registry is
    untouched — the import writes in one transaction — so the job goes back to ``queued``
    when its task runs again, else to ``failed`` with a message saying it can be resumed.
    Called inside the caller's transaction (linli.ops recovery)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status == ImportStatus.DONE:
        return job
    if requeued:
        _set_job(job, status=ImportStatus.QUEUED, progress=0, error="")
    else:
        _set_job(job, status=ImportStatus.FAILED, finished_at=timezone.now(),
                 error=str(_("处理进程意外中断,未写入任何数据。可在导入任务页面点击“继续导入”重新运行。")))
    audit_record(actor=actor, action="fusion.import_interrupted", target_type=JOB, target_id=job.pk,
                 fields=["status"], reason="requeued" if requeued else "failed")
    return job


def import_job_resume(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Run a failed (or interrupted) import again: back to ``queued`` with a new task, in
    one transaction. The file is read again from where the upload kept it."""
    _require_import_rights(actor)
    if not Path(job.file_path).is_file():
        raise ValidationFailed("file", _("导入文件已不存在,请重新上传"))
    from linli.fusion.tasks import import_job_run

    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.FAILED:
            raise ValidationFailed("status", _("只有失败或中断的导入任务可以继续导入"))
        _set_job(locked, status=ImportStatus.QUEUED, progress=0, error="", finished_at=None)
        audit_record(actor=actor, action="fusion.import_resume", target_type=JOB, target_id=locked.pk,
                     fields=["status"])
        if _task_backend_is_immediate():
            transaction.on_commit(lambda: import_job_run.enqueue(locked.pk))
        else:
            import_job_run.enqueue(locked.pk)
    return locked


class _StageClock:
    """Adds the seconds since the previous lap to ``timings[stage]`` (no-op without timings)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


def import_run(
    *,
    actor: Actor,
    source: Source,
    file_path: Path,
    dry_run: bool,
    job: ImportJob | None = None,
    progress: Progress | None = None,
    observed_at: datetime | None = None,
    area: Area | int | None = None,
    timings: dict[str, float] | None = None,
) -> ImportReport:
    """Import one export of ``source``: the whole registry write is one transaction.

    Bad files raise :class:`FileRefused` before anything is written (a job given is marked
    failed with the message). Bad rows are rejected with their row, column and reason —
    in a dry run too, so the department can fix them before the commit. The import matches
    and writes only persons of its area's grids (or without a grid). A large file is
    planned and written a slice of persons at a time (:func:`plan_slices`), still in one
    transaction, so that its merge plan is never whole in memory. ``timings`` (optional)
    gets the seconds of each stage added to it.
    """
    clock = _StageClock(timings)
    file_path = Path(file_path)
    definition = definition_of(source)
    try:
        read = stage_read(definition, file_path)
    except FileRefused as exc:
        if job is not None:
            _set_job(job, status=ImportStatus.FAILED, error=exc.message, finished_at=timezone.now())
        raise
    now = observed_at or timezone.now()
    if job is None:
        _require_import_rights(actor)
        job = ImportJob.objects.create(
            source=source, area=import_area_resolve(actor=actor, area=area), file_name=file_path.name, file_path=str(file_path), sha256=read.sha256, size=read.size,
            dry_run=dry_run, created_by=actor if isinstance(actor, User) else None, status=ImportStatus.RUNNING,
            started_at=now,
        )
    else:
        _set_job(job, status=ImportStatus.RUNNING, started_at=now, progress=5, error="")
    grids = grids_under(job.area)

    def step(value: int) -> None:
        _set_job(job, progress=value)
        if progress is not None:
            progress(value)

    report = ImportReport(source=source.code, file_name=job.file_name, dry_run=dry_run, job_id=job.pk,
                          rows_read=read.frame.height, skipped=read.skipped, encoding=read.encoding,
                          sheets=read.sheets)
    try:
        step(10)
        clock.lap("read")
        norm = stage_normalise(read, definition)
        del read  # the file's frame: the normalised one and the raw columns carry on
        step(30)
        clock.lap("normalise")
        indices = _fresh_indices(source, norm.hashes, report)
        decisions: list[Decision | None] = [None] * norm.frame.height
        if indices:
            subset = norm.frame[indices] if len(indices) != norm.frame.height else norm.frame
            matched = stage_match(subset, registry_keys(grids))
            for index, decision in zip(indices, matched, strict=True):
                decisions[index] = decision
            del matched, subset
        step(60)
        clock.lap("match")
        slices = plan_slices(decisions, indices)
        rooms = room_index(grids)

        def plan_of(part: list[int]) -> Plan:
            plan = build_plan(source=source, definition=definition, norm=norm, decisions=decisions, indices=part,
                              observed_at=now, report=report, grids=grids, rooms=rooms)
            clock.lap("plan")
            return plan

        if dry_run:
            for part in slices:
                plan_of(part)
            step(75)
            _write_report_file(job, report, norm)
            _finish(job, report)
            return report
        with transaction.atomic():
            created: list[int] = []
            changed: dict[int, set[str]] = {}
            for at, part in enumerate(slices):
                plan = plan_of(part)
                if progress is not None:  # the job row itself is updated only outside the transaction
                    progress(60 + 39 * (2 * at + 1) // (2 * len(slices)))
                created.extend(persist_plan(plan=plan, source=source, job_id=job.pk, observed_at=now).values())
                changed.update(plan.changed_fields)
                del plan
                clock.lap("persist")
                if progress is not None:
                    progress(60 + 39 * (at + 1) // len(slices))
            relinked = relink_after_import(actor=actor, job_id=job.pk, grids=grids, now=now)
            report.relinked += len(relinked.merged) + relinked.resolved
            report.review += relinked.reviews
            clock.lap("relink")
            _audit_import(actor=actor, job=job, report=report, plan_changed=changed, created=created)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportStatus.DONE, progress=100, counts=report.counts(), finished_at=timezone.now(),
            )
        clock.lap("persist")
    except FileRefused as exc:
        _set_job(job, status=ImportStatus.FAILED, error=exc.message, finished_at=timezone.now())
        raise
    except Exception as exc:
        logger.exception("import job %s failed", job.pk)
        _set_job(job, status=ImportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise
    job.status, job.progress, job.counts = ImportStatus.DONE, 100, report.counts()
    _write_report_file(job, report, norm)
    if progress is not None:
        progress(100)
    return report


def _finish(job: ImportJob, report: ImportReport) -> None:
    _set_job(job, status=ImportStatus.DONE, progress=100, counts=report.counts(), finished_at=timezone.now())


def _fresh_indices(source: Source, hashes: Sequence[str], report: ImportReport) -> list[int]:
    """Rows not imported before (same source, same raw hash) and not repeated in the file."""
    known: set[str] = set()
    # A source's first import (the district's initial load) has nothing to look up.
    distinct = sorted(set(hashes)) if SourceRecord.objects.filter(source=source).exists() else []
    size = chunk_size()
    for start in range(0, len(distinct), size):
        known.update(SourceRecord.objects.filter(among("raw_hash", distinct[start:start + size], sql_type="text"),
                                                 source=source)
                     .values_list("raw_hash", flat=True))
    fresh: list[int] = []
    seen: set[str] = set()
    for index, digest in enumerate(hashes):
        if digest in known or digest in seen:
            report.unchanged += 1
            continue
        seen.add(digest)
        fresh.append(index)
    return fresh


def _audit_import(*, actor: Actor, job: ImportJob, report: ImportReport, plan_changed: Mapping[int, set[str]],
                  created: Sequence[int]) -> None:
    audit_record(actor=actor, action="fusion.import", target_type=JOB, target_id=job.pk,
                 fields=["persons", "source_records", "provenance"],
                 reason=json.dumps({k: v for k, v in report.counts().items() if isinstance(v, int)}, sort_keys=True))
    targets: list[tuple[str | int, Iterable[str]]] = [(pk, ["created"]) for pk in created]
    targets += [(pk, sorted(fields)) for pk, fields in plan_changed.items()]
    audit_record_many(actor=actor, action="person.fuse", target_type=PERSON, targets=targets,
                      reason=f"job {job.pk}")


def _write_report_file(job: ImportJob, report: ImportReport, norm: Normalised) -> None:
    """The rejected rows with their values as the department sent them (owner-only file)."""
    if not report.rejected_rows:
        return
    wanted = {(r.sheet, r.row_number) for r in report.rejected_rows}
    rows = norm.frame["row_number"].to_list()
    raw = raw_frame(norm)
    raw_by_row = {(norm.sheets[i], int(rows[i])): raw_row(raw, i) for i in range(len(rows))
                  if (norm.sheets[i], int(rows[i])) in wanted}
    path = write_rejected_file(report, raw_by_row, reports_dir() / f"job-{job.pk}-rejected.csv")
    job.report_file = str(path)
    ImportJob.objects.filter(pk=job.pk).update(report_file=str(path))


# --- the rejected-rows download --------------------------------------------------------


def _report_path(job: ImportJob) -> Path | None:
    """The job's rejected-rows file, only if it lies inside the reports folder."""
    if not job.report_file:
        return None
    path = Path(job.report_file).resolve()
    root = reports_dir().resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _mask_cell(field: str, value: str) -> str:
    text = value.strip()
    if not text:
        return value
    if field == "id_number":
        return pii.mask_id_number(text) if len(text) >= 8 else "*" * len(text)
    return pii.mask_phone(text) if len(text) >= 7 else "*" * len(text)


def _masked_csv(job: ImportJob, path: Path) -> bytes:
    """The stored file with the columns mapped to ID number or phone masked."""
    definition = definition_of(job.source)
    pii_columns = {column_header(c): m.field for c, m in definition.columns.items() if m.field in PII_FIELDS}
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        writer.writerow(header)
        masked_at = {i: pii_columns[c] for i, c in enumerate(header) if c in pii_columns}
        for row in reader:
            writer.writerow([_mask_cell(masked_at[i], v) if i in masked_at else v for i, v in enumerate(row)])
    return out.getvalue().encode("utf-8")


def _reasons_csv(job: ImportJob) -> bytes:
    """No file kept (older job): row numbers, columns and reasons, without row values."""
    from linli.fusion.readers import neutralise_cell

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("行号"), _("工作表"), _("列"), _("原因")])
    listed = (job.counts or {}).get("rejected_rows")
    if listed and not job.records.exists():
        for item in listed:
            writer.writerow([item.get("row", ""), neutralise_cell(str(item.get("sheet", ""))),
                             neutralise_cell(str(item.get("column", ""))), neutralise_cell(str(item.get("reason", "")))])
    for record in job.records.filter(status=RecordStatus.REJECTED).order_by("row_number"):
        for item in record.rejected_reasons or [{"column": "", "reason": ""}]:
            writer.writerow([record.row_number, neutralise_cell(record.sheet),
                             neutralise_cell(str(item.get("column", ""))), neutralise_cell(str(item.get("reason", "")))])
    return out.getvalue().encode("utf-8")


def import_report_download(
    *, actor: Actor, job: ImportJob, request_id: str = "", full: bool = False, reason: str = "",
) -> bytes:
    """The rejected rows of ``job`` as a CSV, audited (``fusion.report_download``).

    By default ID numbers and phones are masked; ``full`` gives the values as sent (the
    department needs them to fix its rows) and requires :attr:`Permission.REVEAL_PII` and a
    reason, both recorded. The caller got ``job`` through a scoped selector; the scope is
    checked again here so no other path can hand out the file.
    """
    if isinstance(actor, User):
        scope = scope_for(actor)
        if job.area_id not in scope.area_ids or not scope.can(Permission.EXPORT_REGISTRY):
            raise NotFound()
        if full and not scope.can(Permission.REVEAL_PII):
            raise PermissionDenied(_("无权查看完整证件号和电话"))
    reason = reason.strip()
    if full and not reason:
        raise ValidationFailed("reason", _("下载完整数据须填写理由"))
    path = _report_path(job)
    if path is None:
        body, kept = _reasons_csv(job), "reasons"
    elif full:
        body, kept = path.read_bytes(), "full"
    else:
        body, kept = _masked_csv(job, path), "masked"
    with transaction.atomic():
        audit_record(actor=actor, action="fusion.report_download", target_type=JOB, target_id=job.pk,
                     fields=["rejected_rows", *(["id_number", "phone"] if kept == "full" else [])],
                     reason=f"{kept}: {reason}"[:500] if reason else kept, request_id=request_id)
    return body


# --- re-fusing stored records (review decisions, split) --------------------------------


def _normalised_of(records: Sequence[SourceRecord]) -> tuple[Normalised, Any]:
    """Stored rows back into normalised form (PII columns decrypted in memory only)."""
    source = records[0].source
    definition = definition_of(source)
    bound = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
    pii_columns = {column_header(c): bound[m.field] for c, m in definition.columns.items() if m.field in bound}
    raws: list[dict[str, str]] = []
    for record in records:
        raw = {k: v for k, v in record.raw.items() if not k.endswith("_enc")}
        for column, field in pii_columns.items():
            token = record.raw.get(f"{column}_enc")
            if token:
                raw[column] = pii.decrypt(token, field=field)
        raws.append(raw)
    columns = definition.headers()
    frame = pl.DataFrame({c: pl.Series([r.get(c) for r in raws], dtype=pl.String) for c in columns} | {
        "row_number": pl.Series([r.row_number for r in records], dtype=pl.Int64),
        SHEET_COLUMN: pl.Series([r.sheet for r in records], dtype=pl.String)})
    norm_frame = normalise_frame(frame, definition)
    past = pl.Series("past", [r.status == RecordStatus.PAST for r in records], dtype=pl.Boolean)
    return Normalised(frame=norm_frame, raw=raws, hashes=[r.raw_hash for r in records],
                      sheets=[r.sheet for r in records], past=past if past.any() else None), definition


def _building_keys(norm: Normalised) -> set[str]:
    if "building_key" not in norm.frame.columns:
        return set()
    return {key for key in norm.frame["building_key"].drop_nulls().to_list() if key}


def _refuse(records: Sequence[SourceRecord], decisions: list[Decision | None], *, status: str,
            now: datetime) -> tuple[ImportReport, dict[str, int], dict[int, set[str]]]:
    norm, definition = _normalised_of(records)
    source = records[0].source
    report = ImportReport(source=source.code, file_name="", dry_run=False)
    plan = build_plan(source=source, definition=definition, norm=norm, decisions=decisions,
                      indices=list(range(len(records))), observed_at=now, report=report,
                      rooms=room_index(building_keys=_building_keys(norm)))
    plan.reviews.clear()
    cluster_ids = persist_plan(plan=plan, source=source, job_id=None, observed_at=now,
                               record_ids=[r.pk for r in records], record_status=status)
    return report, cluster_ids, plan.changed_fields


def _review_in_scope(actor: Actor, review: MatchReview) -> None:
    scope = scope_for(actor) if isinstance(actor, User) else None
    if scope is None:
        return
    job_area = SourceRecord.objects.filter(pk=review.record_id).values_list("job__area_id", flat=True).first()
    if (not scope.can(Permission.EXPORT_REGISTRY) or review.candidate is None
            or review.candidate.grid_id not in scope.grid_ids or job_area not in scope.area_ids):
        raise NotFound()


def review_accept(*, actor: Actor, review: MatchReview) -> Person:
    """Same person: link the record to the candidate and merge its fields (with provenance)."""
    _review_in_scope(actor, review)
    if review.candidate_id is None:
        raise ValidationFailed("candidate", _("没有候选人员,只能作为新人员处理"))
    now = timezone.now()
    with transaction.atomic():
        locked = MatchReview.objects.select_for_update().get(pk=review.pk)
        if not can_transition(REVIEW_TRANSITIONS, locked.status, ReviewStatus.ACCEPTED):
            raise ApplicationError(FusionErrorCode.ALREADY_DECIDED, _("该复核已处理"))
        record = SourceRecord.objects.select_related("source").get(pk=review.record_id)
        if record.person_id is not None and record.person_id != review.candidate_id:
            # A re-link review: the record has its own person already; the two become one.
            try:
                with transaction.atomic():
                    _person_merge(loose=record.person_id, into=review.candidate_id, how=MatchHow.REVIEW,
                                  score=review.score, now=now)
            except _NotMergeableError as exc:
                raise ValidationFailed("candidate", _("该人员已有其他业务数据,请人工合并")) from exc
        else:
            decision = Decision(outcome=MatchOutcome.SAME, how=MatchHow.REVIEW, score=review.score,
                                person_id=review.candidate_id, cluster="", evidence=review.evidence)
            _refuse([record], [decision], status=RecordStatus.ACCEPTED, now=now)
            SourceRecord.objects.filter(pk=record.pk).update(outcome=MatchOutcome.SAME, how=MatchHow.REVIEW)
        MatchReview.objects.filter(pk=review.pk).update(
            status=ReviewStatus.ACCEPTED, decided_by=actor if isinstance(actor, User) else None, decided_at=now,
            updated_at=now,
        )
        audit_record(actor=actor, action="fusion.review_accept", target_type=PERSON, target_id=review.candidate_id,
                     fields=["source_records", "provenance"], reason=f"review {review.pk}")
    review.refresh_from_db()
    return Person.objects.get(pk=review.candidate_id)


def review_reject(*, actor: Actor, review: MatchReview) -> Person:
    """Not the same person: the record becomes (or joins) a new person of its own."""
    _review_in_scope(actor, review)
    now = timezone.now()
    with transaction.atomic():
        locked = MatchReview.objects.select_for_update().get(pk=review.pk)
        if not can_transition(REVIEW_TRANSITIONS, locked.status, ReviewStatus.REJECTED):
            raise ApplicationError(FusionErrorCode.ALREADY_DECIDED, _("该复核已处理"))
        record = SourceRecord.objects.select_related("source").get(pk=review.record_id)
        if record.person_id is not None:  # a re-link review: the record keeps its own person
            MatchReview.objects.filter(pk=review.pk).update(
                status=ReviewStatus.REJECTED, decided_by=actor if isinstance(actor, User) else None, decided_at=now,
                updated_at=now)
            audit_record(actor=actor, action="fusion.review_reject", target_type=PERSON, target_id=record.person_id,
                         fields=[], reason=f"review {review.pk}")
            return Person.objects.get(pk=record.person_id)
        cluster = f"review-{review.pk}"
        decision = Decision(outcome=MatchOutcome.NEW, how=MatchHow.REVIEW, score=review.score, person_id=None,
                            cluster=cluster, evidence=review.evidence)
        _report, cluster_ids, _changed = _refuse([record], [decision], status=RecordStatus.ACCEPTED, now=now)
        person_id = cluster_ids[cluster]
        SourceRecord.objects.filter(pk=record.pk).update(outcome=MatchOutcome.NEW, how=MatchHow.REVIEW)
        MatchReview.objects.filter(pk=review.pk).update(
            status=ReviewStatus.REJECTED, decided_by=actor if isinstance(actor, User) else None, decided_at=now,
            updated_at=now,
        )
        audit_record(actor=actor, action="fusion.review_reject", target_type=PERSON, target_id=person_id,
                     fields=["created", "source_records", "provenance"], reason=f"review {review.pk}")
    return Person.objects.get(pk=person_id)


def _recompute_winners(person: Person, *, now: datetime) -> list[str]:
    """Re-pick every field's winner of ``person`` from its provenance; set the registry."""
    rows = list(FieldProvenance.objects.filter(person=person).order_by("field", "observed_at", "id"))
    by_field: dict[str, list[FieldProvenance]] = {}
    for row in rows:
        by_field.setdefault(row.field, []).append(row)
    values = persist.PersonValues(
        name=person.name,
        id_number=pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER) if person.id_number_enc else "",
        phone=pii.decrypt(person.phone_enc, field=PII_PHONE) if person.phone_enc else "",
        birth_date=person.birth_date, sex=person.sex, hukou=person.hukou, ethnicity=person.ethnicity,
        room_id=person.room_id, building_id=person.building_id, grid_id=person.grid_id,
        is_deceased=person.is_deceased, deceased_on=person.deceased_on,
    )
    changed: list[str] = []
    for name, items in by_field.items():
        observations = [Observation(i.value, i.precedence, i.observed_at, i.pk) for i in items]
        best, reason = pick_winner(observations)
        winner = items[best]
        for i, item in enumerate(items):
            won = i == best
            why = reason if won else loser_reason(observations[best], observations[i])
            if item.won != won or item.reason != why:
                FieldProvenance.objects.filter(pk=item.pk).update(won=won, reason=why)
        plain = _plain_of(winner)
        if plain is not _MISSING:
            apply_value(values, name, plain)
            changed.append(name)
    persist.persons_bulk_update([(person.pk, values)], now=now)
    return changed


_MISSING = object()


def _plain_of(row: FieldProvenance) -> Any:
    """The registry value of a provenance row (PII decrypted in memory)."""
    if row.field == "id_number":
        return pii.decrypt(row.value_enc, field=PII_ID_NUMBER) if row.value_enc else _MISSING
    if row.field == "phone":
        return pii.decrypt(row.value_enc, field=PII_PHONE) if row.value_enc else _MISSING
    if row.field in ("birth_date", "deceased_on"):
        return date.fromisoformat(row.value) if row.value else None
    if row.field == "is_deceased":
        return row.value == "1"
    if row.field == "residence":
        room = Room.objects.select_related("building").filter(pk=int(row.value.split(":", 1)[1])).first()
        return (room.pk, room.building_id, room.building.grid_id) if room else _MISSING
    if row.field in UNAPPLIED_FIELDS:
        return _MISSING
    return row.value


def _materialise_stated(records: Sequence[SourceRecord], *, person_id: int) -> None:
    """Turn the values ``records`` merely stated (``SourceRecord.stated``) into provenance
    rows, from their stored raw rows, so the person's winners can be re-picked from rows."""
    stating = [r for r in records if r.stated]
    by_source: dict[int, list[SourceRecord]] = {}
    for record in stating:
        by_source.setdefault(record.source_id, []).append(record)
    bound = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
    created: list[FieldProvenance] = []
    for group in by_source.values():
        norm, definition = _normalised_of(group)
        authoritative: dict[str, int] = dict(definition.authoritative or {})
        if "address" in authoritative:
            authoritative.setdefault("residence", authoritative["address"])
        rooms = room_index(building_keys=_building_keys(norm))
        for record, row in zip(group, norm.frame.to_dicts(), strict=True):
            for obs in observations_of(row, rooms):
                if obs.field not in record.stated:
                    continue
                enc = pii.encrypt(str(obs.plain), field=bound[obs.field]) if obs.field in bound else ""
                created.append(FieldProvenance(
                    person_id=person_id, field=obs.field, source_id=record.source_id, record=record,
                    value=obs.value[:300], value_enc=enc, value_masked=obs.masked[:300], observed_at=record.created_at,
                    precedence=authoritative.get(obs.field, 0), won=False, reason=WinReason.AGREED,
                ))
    FieldProvenance.objects.bulk_create(created, batch_size=2000)
    SourceRecord.objects.filter(pk__in=[r.pk for r in stating]).update(stated={})


def person_split(*, actor: Actor, person: Person, records: Sequence[SourceRecord]) -> Person:
    """Undo a wrong merge: move ``records`` to a new person; both persons' field winners
    are recomputed from their provenance. No source record is lost."""
    scope = scope_for(actor) if isinstance(actor, User) else None
    if scope is not None and (person.grid_id not in scope.grid_ids or not scope.can(Permission.EDIT_REGISTRY)):
        raise NotFound()
    chosen = sorted({r.pk for r in records})
    if not chosen:
        raise ValidationFailed("records", _("请选择要拆分出去的来源记录"))
    now = timezone.now()
    with transaction.atomic():
        owned = list(SourceRecord.objects.select_for_update().filter(person=person).select_related("source")
                     .order_by("id"))
        moving = [r for r in owned if r.pk in chosen]
        if len(moving) != len(chosen):
            raise ValidationFailed("records", _("所选来源记录不属于该人员"))
        if len(moving) == len(owned):
            raise ValidationFailed("records", _("不能拆出该人员的全部来源记录"))
        if all(r.status == RecordStatus.PAST for r in moving):
            # A past record asserts nothing and creates nobody: it follows a current record.
            raise ValidationFailed("records", _("历史记录不能单独拆出,请同时选择一条当前记录"))
        _materialise_stated([r for r in owned if r.pk not in chosen], person_id=person.pk)
        FieldProvenance.objects.filter(person=person, record_id__in=chosen).delete()
        cluster = f"split-{person.pk}-{chosen[0]}"
        new_person_id: int | None = None
        by_source: dict[int, list[SourceRecord]] = {}
        for record in moving:
            by_source.setdefault(record.source_id, []).append(record)
        # The new person is created from a group holding a current record (past ones link to it).
        groups = sorted(by_source.values(), key=lambda g: all(r.status == RecordStatus.PAST for r in g))
        for group in groups:
            decisions: list[Decision | None]
            if new_person_id is None:
                decisions = [Decision(MatchOutcome.NEW, MatchHow.REVIEW, 0.0, None, cluster, {}) for _r in group]
                _rep, ids, _ch = _refuse(group, decisions, status=RecordStatus.SPLIT, now=now)
                new_person_id = ids[cluster]
            else:
                decisions = [Decision(MatchOutcome.SAME, MatchHow.REVIEW, 0.0, new_person_id, "", {}) for _r in group]
                _refuse(group, decisions, status=RecordStatus.SPLIT, now=now)
        person.refresh_from_db()
        changed = _recompute_winners(person, now=now)
        VerificationTask.objects.filter(person=person, status=TaskStatus.OPEN).update(
            status=TaskStatus.CLOSED, note=_("人员已拆分"), updated_at=now)
        audit_record(actor=actor, action="fusion.split", target_type=PERSON, target_id=person.pk,
                     fields=["source_records", "provenance", *changed])
        if new_person_id is None:  # pragma: no cover - ``moving`` is never empty here
            raise ValidationFailed("records", _("请选择要拆分出去的来源记录"))
        audit_record(actor=actor, action="person.fuse", target_type=PERSON, target_id=new_person_id,
                     fields=["created", "source_records"], reason=f"split from {person.pk}")
    return Person.objects.get(pk=new_person_id)



# --- re-link: earlier rows matched again against the persons an import touched -----------

# What a merged-away person may still hold: all of it is re-derived from its source records
# on the person it joins (provenance, tags) or moved (open reviews, field-verified values).
_MERGEABLE: Final = frozenset({"registry.person", "registry.persontag", "fusion.fieldprovenance",
                               "fusion.verificationtask", "fusion.matchreview"})


class _NotMergeableError(Exception):
    """The loose person holds more than fusion data (a case, a visit…): a person decides."""


@dataclass
class Relinked:
    merged: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (merged away, into)
    reviews: int = 0
    resolved: int = 0  # open reviews the pass found sure


def _loose_records(*, job_id: int, grids: Sequence[int] | None) -> dict[int, list[SourceRecord]]:
    """Persons without an ID number, created by earlier imports and not touched by this
    one, that no person has ruled on (no review, no split) → their current records."""
    asked = SourceRecord.objects.filter(Q(reviews__isnull=False) | Q(status=RecordStatus.SPLIT)
                                        | Q(how=MatchHow.REVIEW), person__isnull=False).values("person_id")
    loose = Person.objects.filter(_in_grids(grids), id_number_bidx="").exclude(
        pk__in=SourceRecord.objects.filter(job_id=job_id, person__isnull=False).values("person_id")).exclude(
        pk__in=asked).values("pk")
    found: dict[int, list[SourceRecord]] = {}
    for record in SourceRecord.objects.filter(person_id__in=loose, status=RecordStatus.ACCEPTED).select_related(
            "source").order_by("person_id", "id"):
        found.setdefault(int(record.person_id or 0), []).append(record)
    return found


def relink_after_import(*, actor: Actor, job_id: int, grids: Sequence[int] | None, now: datetime) -> Relinked:
    """Order independence: the records of ID-less persons that earlier imports created, and
    the rows they left in review, are matched again — same matcher, blocking and thresholds — against the persons this import
    created or changed. A sure match merges the two (provenance re-derived from the rows,
    undone by :func:`person_split`); a doubtful one becomes a review (a row already in review stays there unless now sure). Runs inside the
    import's transaction; a second run finds nothing new (a reviewed person is not asked
    again, a merged one is gone)."""
    done = Relinked()
    loose = _loose_records(job_id=job_id, grids=grids)
    # Rows an earlier import left in review: the person they doubted may be sure by now.
    pending = list(SourceRecord.objects.filter(
        status=RecordStatus.REVIEW, person__isnull=True, reviews__status=ReviewStatus.OPEN,
        reviews__candidate__in=Person.objects.filter(_in_grids(grids)).values("pk")).exclude(job_id=job_id)
        .select_related("source").distinct().order_by("id"))
    if not loose and not pending:
        return done
    touched = SourceRecord.objects.filter(job_id=job_id, person__isnull=False).values_list(
        "person_id", flat=True).distinct()
    keys = registry_keys(grids)
    keys = keys.join(pl.DataFrame({"person_id": pl.Series(list(touched), dtype=pl.Int64)}), on="person_id",
                     how="semi").join(pl.DataFrame({"person_id": pl.Series(list(loose), dtype=pl.Int64)}),
                                      on="person_id", how="anti")
    if keys.height == 0:
        return done
    by_source: dict[int, list[SourceRecord]] = {}
    for record in [r for records in loose.values() for r in records] + pending:
        by_source.setdefault(record.source_id, []).append(record)
    decided: dict[int, Decision] = {}
    for group in by_source.values():
        norm, _definition = _normalised_of(group)
        decided.update(zip((r.pk for r in group), stage_match(norm.frame, keys), strict=True))
    for record in pending:
        decision = decided[record.pk]
        if decision.outcome == MatchOutcome.SAME and decision.person_id is not None:
            _refuse([record], [decision], status=RecordStatus.ACCEPTED, now=now)
            SourceRecord.objects.filter(pk=record.pk).update(outcome=MatchOutcome.SAME, how=decision.how,
                                                             score=decision.score)
            MatchReview.objects.filter(record=record, status=ReviewStatus.OPEN).update(
                status=ReviewStatus.ACCEPTED, decided_at=now, updated_at=now)
            done.resolved += 1
            audit_record(actor=actor, action="fusion.relink", target_type=PERSON, target_id=decision.person_id,
                         fields=["source_records", "provenance"], reason=f"review of record {record.pk}, job {job_id}")
    merged_into: dict[int, int] = {}
    for person_id, records in loose.items():
        decisions = [decided[r.pk] for r in records]
        verdict = relink_verdict([(d.outcome, d.person_id, d.score) for d in decisions])
        if not verdict.action or verdict.person_id is None or verdict.record_index is None:
            continue
        target = merged_into.get(verdict.person_id, verdict.person_id)
        decision = decisions[verdict.record_index]
        if verdict.action == "merge":
            try:
                with transaction.atomic():
                    _person_merge(loose=person_id, into=target, how=decision.how, score=decision.score, now=now)
            except _NotMergeableError:
                pass
            else:
                merged_into[person_id] = target
                done.merged.append((person_id, target))
                audit_record(actor=actor, action="fusion.relink", target_type=PERSON, target_id=target,
                             fields=["source_records", "provenance"], reason=f"merged {person_id}, job {job_id}")
                continue
        record = records[verdict.record_index]
        if not MatchReview.objects.filter(record=record, status=ReviewStatus.OPEN).exists():
            MatchReview.objects.create(record=record, candidate_id=target, score=verdict.score,
                                       evidence=decision.evidence, status=ReviewStatus.OPEN)
            done.reviews += 1
    return done


def _person_merge(*, loose: int, into: int, how: str, score: float, now: datetime) -> None:
    """Merge person ``loose`` into ``into`` through the review path: its source records are
    fused into ``into`` again from their rows (provenance, winners, conflicts as tasks), its
    field-verified values and open reviews follow, and the emptied person is deleted — unless
    it holds anything else (raises :class:`_NotMergeableError`; the caller's savepoint undoes)."""
    records = list(SourceRecord.objects.select_for_update().filter(person_id=loose).select_related("source")
                   .order_by("id"))
    verified = FieldProvenance.objects.filter(person_id=loose, record__isnull=True).update(person_id=into)
    FieldProvenance.objects.filter(person_id=loose).delete()
    groups: dict[tuple[int, str], list[SourceRecord]] = {}
    for record in records:
        groups.setdefault((record.source_id, record.status), []).append(record)
    for (_source, status), group in groups.items():
        decisions: list[Decision | None] = [
            Decision(MatchOutcome.SAME, how, score, into, "", {}) for _r in group]
        _refuse(group, decisions, status=status, now=now)
    SourceRecord.objects.filter(pk__in=[r.pk for r in records]).exclude(status=RecordStatus.PAST).update(
        outcome=MatchOutcome.SAME, how=how, score=score)
    MatchReview.objects.filter(candidate_id=loose, status=ReviewStatus.OPEN).update(candidate_id=into, updated_at=now)
    VerificationTask.objects.filter(person_id=loose, status=TaskStatus.OPEN).update(
        status=TaskStatus.CLOSED, note=_("人员已合并"), updated_at=now)
    collector = Collector(using="default")
    collector.collect(list(Person.objects.filter(pk=loose)))
    held = {m._meta.label_lower for m, objs in collector.data.items() if objs}
    held |= {qs.model._meta.label_lower for qs in collector.fast_deletes if qs.exists()}
    if held - _MERGEABLE:
        raise _NotMergeableError(sorted(held - _MERGEABLE))
    Person.objects.filter(pk=loose).delete()
    if verified:
        _recompute_winners(Person.objects.get(pk=into), now=now)


# --- verification tasks ----------------------------------------------------------------


def _answer_value(field: str, raw: Any) -> tuple[str, Any, str, str]:
    """(comparison value, registry value, ciphertext, masked) of a grid worker's answer."""
    if field == ConflictField.IS_DECEASED:
        if isinstance(raw, str):
            raw = raw.strip().lower() in ("1", "true", "yes", "是", "已故")
        return ("1" if raw else "0"), bool(raw), "", ""
    if field == "deceased_on":
        try:
            value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        except ValueError:
            raise ValidationFailed("deceased_on", _("死亡日期格式应为 YYYY-MM-DD")) from None
        if value > timezone.localdate():
            raise ValidationFailed("deceased_on", _("死亡日期不能晚于今天"))
        return value.isoformat(), value, "", ""
    if field == ConflictField.PHONE:
        phone = parse_phone(str(raw), field="phone")
        enc, bidx, masked = persist.phone_forms(phone)
        return bidx, phone, enc, masked
    if field == ConflictField.DISABILITY_GRADE:
        try:
            grade = int(raw)
        except (TypeError, ValueError):
            raise ValidationFailed("disability_grade", _("残疾等级应为1–4级")) from None
        if not 1 <= grade <= 4:
            raise ValidationFailed("disability_grade", _("残疾等级应为1–4级"))
        return str(grade), grade, "", ""
    if field == ConflictField.RESIDENCE:
        try:
            room = Room.objects.select_related("building").get(pk=int(raw))
        except (TypeError, ValueError, Room.DoesNotExist):
            raise ValidationFailed("residence", _("请选择有效的房屋")) from None
        return f"room:{room.pk}", (room.pk, room.building_id, room.building.grid_id), "", str(room.building.address)
    raise ValidationFailed(field, _("该字段不能在核实任务中修改"))


def verification_answer(*, actor: User, task: VerificationTask, answer: Mapping[str, Any], note: str = "") -> VerificationTask:
    """A grid worker's finding on the spot: updates the registry with provenance
    "field verification" (above any department) and closes the task."""
    scope = scope_for(actor)
    if task.grid_id is None or task.grid_id not in scope.grid_ids or not scope.can(Permission.EDIT_REGISTRY):
        raise NotFound()
    allowed = {task.field} | ({"deceased_on"} if task.field == ConflictField.IS_DECEASED else set())
    unknown = set(answer) - allowed
    if unknown or task.field not in answer:
        raise ValidationFailed(task.field, _("请填写核实结果"))
    parsed = {name: _answer_value(name, value) for name, value in answer.items()}
    if task.field == ConflictField.RESIDENCE:
        room_grid = parsed["residence"][1][2]
        if room_grid not in scope.grid_ids:
            raise ValidationFailed("residence", _("请选择有效的房屋"))
    now = timezone.now()
    with transaction.atomic():
        locked = VerificationTask.objects.select_for_update().get(pk=task.pk)
        if not can_transition(TASK_TRANSITIONS, locked.status, TaskStatus.ANSWERED):
            raise ApplicationError(FusionErrorCode.ALREADY_DECIDED, _("该核实任务已处理"))
        person = Person.objects.select_for_update().get(pk=task.person_id)
        FieldProvenance.objects.filter(person=person, field__in=list(parsed), won=True).update(
            won=False, reason=WinReason.OUTRANKED)
        FieldProvenance.objects.bulk_create([
            FieldProvenance(person=person, field=name, source=None, record=None, task=task, value=value[:300],
                            value_enc=enc, value_masked=masked[:300], observed_at=now,
                            precedence=FIELD_VERIFICATION_PRECEDENCE, won=True, reason=WinReason.VERIFIED)
            for name, (value, _plain, enc, masked) in parsed.items()
        ])
        changed = _recompute_winners(person, now=now)
        if task.field == ConflictField.DISABILITY_GRADE:
            PersonTag.objects.filter(person=person, kind="disabled", valid_to__isnull=True).update(
                note=f"{parsed['disability_grade'][1]}级", updated_at=now)
        VerificationTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.ANSWERED, answer={k: v[0] if k not in ("phone",) else v[3] for k, v in parsed.items()},
            note=note[:500], answered_by=actor, answered_at=now, updated_at=now,
        )
        audit_record(actor=actor, action="fusion.verify", target_type=PERSON, target_id=person.pk,
                     fields=sorted(set(changed) | set(parsed)), reason=f"task {task.pk}")
    task.refresh_from_db()
    return task


__all__ = [
    "ImportReport", "import_area_resolve", "import_areas_of", "import_job_create", "import_job_execute",
    "import_report_download", "import_run", "person_split", "review_accept",
    "review_reject", "source_save", "sources_sync", "verification_answer",
]


# --- retention of files on disk ------------------------------------------------------------

DEFAULT_RETENTION_DAYS = 30
# A half-written upload (the request died) is junk after a day, whatever the retention.
_PART_MAX_AGE_SECONDS = 86_400


def uploads_dir() -> Path:
    return Path(settings.DATA_DIR) / "fusion" / "uploads"


@dataclass(frozen=True)
class FilesPurged:
    reports: int
    uploads: int


def import_files_purge(*, now: datetime | None = None, retention_days: int | None = None) -> FilesPurged:
    """Delete the files that hold full ID numbers in plaintext once they are older than the
    retention period (``LINLI_FILE_RETENTION_DAYS``, default 30): rejected-rows reports, the
    uploaded exports (imported or never imported) and abandoned partial uploads. A file of a
    queued or running job is kept. The jobs stay, without their files; one audit entry per run."""
    moment = now or timezone.now()
    days = retention_days if retention_days is not None else int(
        getattr(settings, "LINLI_FILE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    cutoff = moment.timestamp() - days * 86_400
    busy = {str(Path(p).resolve()) for p in ImportJob.objects.filter(
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).values_list("file_path", flat=True)}
    reports = 0
    for path in _files_in(reports_dir()):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            ImportJob.objects.filter(report_file__in=[str(path), str(path.resolve())]).update(report_file="")
            reports += 1
    uploads = 0
    for path in _files_in(uploads_dir()):
        age_limit = moment.timestamp() - _PART_MAX_AGE_SECONDS if path.suffix == ".part" else cutoff
        if path.stat().st_mtime < age_limit and str(path.resolve()) not in busy:
            path.unlink(missing_ok=True)
            uploads += 1
    if reports or uploads:
        audit_record_standalone(actor=SystemActor("retention"), action="fusion.files_purge",
                                target_type="fusion.files", target_id=f"reports:{reports},uploads:{uploads}",
                                reason=f"retention {days} days")
    return FilesPurged(reports=reports, uploads=uploads)


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


# --- place proposals (issue 17, cause 5) ---------------------------------------------------------


@dataclass(frozen=True)
class PlaceAccepted:
    """What accepting a place proposal wrote."""

    building_id: int
    building_created: bool
    rooms_created: int
    placed: int


def _floor_of(room: str) -> int:
    """502 → 5, 1201 → 12; a room number without a floor part is on the first floor."""
    digits = "".join(c for c in room if c.isdigit())
    return max(int(digits[:-2]), 1) if len(digits) >= 3 else 1


def place_proposal_accept(*, actor: User, key: str, grid_id: int | None = None, lon: float | None = None,
                          lat: float | None = None, request_id: str = "") -> PlaceAccepted:
    """Accept one of :func:`linli.fusion.selectors.place_proposals_for_user` into the place
    registry: the building (in ``grid_id``, one of the caller's grids; at ``lon``/``lat``,
    else the grid's centre), its units and rooms, and the waiting persons placed into them.
    All through the registry's services (scope checks and audit); one transaction."""
    from linli.fusion.selectors import place_proposals_for_user
    from linli.registry.models import Building, Unit
    from linli.registry.services import building_create, person_place, room_create, unit_create

    proposal = next((p for p in place_proposals_for_user(user=actor) if p.key == key), None)
    if proposal is None:
        raise NotFound(_("没有这个待建楼栋(可能已被处理)"))
    with transaction.atomic():
        created = proposal.building_id is None
        if proposal.building_id is not None:
            building = Building.objects.get(pk=proposal.building_id)
        else:
            grid = Area.objects.filter(pk=grid_id, level=AreaLevel.GRID).first() if grid_id else None
            if grid is None:
                raise ValidationFailed("grid", _("请选择楼栋所在的网格"))
            if lon is None or lat is None:
                lon, lat = grid.centroid_lon, grid.centroid_lat
                if (lon is None or lat is None) and grid.boundary:
                    from linli.geo.workflow import boundary_centroid

                    lon, lat = boundary_centroid(grid.boundary)
                if lon is None or lat is None:
                    raise ValidationFailed("lon", _("该网格没有中心坐标,请填写楼栋的经纬度"))
            floors = max(_floor_of(room.room) for room in proposal.rooms)
            building = building_create(actor=actor, grid=grid, name=f"{proposal.building}幢",
                                       address=proposal.label, compound=proposal.compound, lon=lon, lat=lat,
                                       floors=floors)
        rooms_created = placed = 0
        for proposed in proposal.rooms:
            number = int(proposed.unit) if proposed.unit.isdigit() and int(proposed.unit) > 0 else 1
            unit = Unit.objects.filter(building=building, number=number).first() or unit_create(
                actor=actor, building=building, number=number)
            room = Room.objects.filter(unit=unit, number__in=[proposed.room, proposed.room.zfill(4)]).first()
            if room is None:
                room = room_create(actor=actor, unit=unit, floor=_floor_of(proposed.room), number=proposed.room)
                rooms_created += 1
            for person in Person.objects.filter(pk__in=proposed.person_ids, grid__isnull=True):
                person_place(actor=actor, person=person, room=room, request_id=request_id)
                placed += 1
    return PlaceAccepted(building_id=building.pk, building_created=created, rooms_created=rooms_created,
                         placed=placed)
