"""Fusion (一库对应多条线): departmental sources, import jobs, the rows they brought,
per-field provenance, uncertain matches awaiting review and verification tasks.

Every value a source gave for a person field is kept as a :class:`FieldProvenance` row;
exactly one row per (person, field) is the winner (``won``), chosen by precedence
(field verification > a source's authoritative precedence > recency). Personal values
(ID numbers, phones) are stored encrypted (``*_enc``) with a masked copy, as in the
registry; raw source rows keep their PII columns under ``<column>_enc`` keys.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import OneLabelDisplay, TimeStampedModel
from linli.fusion.choices import (
    Department,
    ImportStatus,
    MatchHow,
    MatchOutcome,
    RecordStatus,
    ReviewStatus,
    TaskStatus,
)


class Source(TimeStampedModel):
    """A departmental export (数据来源): its column mapping, key columns, format and the
    fields it is authoritative for. ``definition`` holds the parsed source definition
    (see ``linli.fusion.mapping.SourceDefinition``); ``definition_sha`` its fingerprint."""

    code = models.CharField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    department = models.CharField(_("部门"), max_length=20, choices=Department.choices)
    definition = models.JSONField(_("定义"), default=dict)
    definition_sha = models.CharField(_("定义指纹"), max_length=64, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("数据来源")
        verbose_name_plural = _("数据来源")

    def __str__(self) -> str:
        return self.name or self.code


class ImportJob(TimeStampedModel):
    """One import of one file of one source, run as a background job.

    ``counts`` holds the report figures (rows read, matched by how, new persons, updated
    fields, conflicts, review, rejected — and, dry run or not, the rejected rows' numbers,
    columns and reasons); ``report_file`` the path (under the data dir, mode 0600) of the
    rejected rows with their values, for the department to fix and send back. ``area`` is
    the importer's street or district: only users whose scope covers it see the job."""

    source = models.ForeignKey(Source, verbose_name=_("来源"), on_delete=models.PROTECT, related_name="jobs")
    # The importing street (or district): who may see the job, its report and its rejected
    # rows, and which part of the registry the import may match and write.
    area = models.ForeignKey(
        "geo.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+",
    )
    file_name = models.CharField(_("文件名"), max_length=255)
    file_path = models.CharField(_("文件存放路径"), max_length=500, blank=True)
    sha256 = models.CharField(_("文件哈希"), max_length=64, db_index=True)
    size = models.BigIntegerField(_("文件大小(字节)"), default=0)
    sheet = models.CharField(_("工作表"), max_length=100, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED, db_index=True,
    )
    dry_run = models.BooleanField(_("试运行"), default=False)
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="fusion_jobs",
    )
    report_file = models.CharField(_("拒收清单文件"), max_length=500, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="importjob_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.file_name}"


class SourceRecord(TimeStampedModel):
    """One row of a source export as it came (PII columns encrypted), with the match
    decision and the person it was fused into. ``raw_hash`` makes re-imports idempotent;
    ``stated`` keeps the values that merely confirmed the registry (see FieldProvenance)."""

    # Lookups by job go through (job, status), by source through (source, raw_hash), by person
    # through (person, source): no single-column index each — every index costs an import
    # ~1.5 µs per row (millions of rows per district import).
    # Nor by creation time (the job says when): no index on ``created_at`` either.
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    job = models.ForeignKey(
        ImportJob, verbose_name=_("导入任务"), on_delete=models.PROTECT, related_name="records", db_index=False,
    )
    source = models.ForeignKey(
        Source, verbose_name=_("来源"), on_delete=models.PROTECT, related_name="records", db_index=False,
    )
    row_number = models.PositiveIntegerField(_("行号"))
    sheet = models.CharField(_("工作表"), max_length=100, blank=True)
    raw = models.JSONField(_("原始数据"), default=dict)
    raw_hash = models.CharField(_("原始行哈希"), max_length=64)
    person = models.ForeignKey(
        "registry.Person", verbose_name=_("人员"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="source_records", db_index=False,
    )
    outcome = models.CharField(_("匹配结果"), max_length=8, choices=MatchOutcome.choices, blank=True)
    how = models.CharField(_("匹配方式"), max_length=12, choices=MatchHow.choices, blank=True)
    score = models.FloatField(_("得分"), default=0.0)
    status = models.CharField(_("状态"), max_length=10, choices=RecordStatus.choices)
    rejected_reasons = models.JSONField(_("拒收原因"), default=list, blank=True)
    # Values this row stated that agreed with what the registry held, with no more authority:
    # ``{field: key}`` or ``{field: [key, masked]}`` (PII: a blind-index prefix and the mask).
    # Kept here instead of one FieldProvenance row per row and field (the bulk of an import).
    stated = models.JSONField(_("一致的字段"), default=dict, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["job_id", "row_number"]
        verbose_name = _("来源记录")
        verbose_name_plural = _("来源记录")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["source", "raw_hash"], name="sourcerecord_source_hash_uniq"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["person", "source"], name="sourcerecord_person_idx"),
            models.Index(fields=["job", "status"], name="sourcerecord_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}#{self.row_number}"


class FieldProvenance(OneLabelDisplay, models.Model):
    """What one source (or a grid worker's verification) said about one person field, when,
    and whether it is the value in the registry (``won``) and why (``reason``).

    Written for every value that differs from the current winner, wins, or confirms it with
    more authority; a value that merely agrees is kept on its record (``SourceRecord.stated``)
    and shown beside these rows (see ``selectors.person_provenance``)."""

    # Indexes: (person, field) serves the person lookups, ``record`` the record's; a source's
    # rows are looked up only when it is deleted (never, in practice) — each index costs an
    # import ~1.5 µs per row.
    person = models.ForeignKey(
        "registry.Person", verbose_name=_("人员"), on_delete=models.CASCADE, related_name="provenance",
        db_index=False,
    )
    field = models.CharField(_("字段"), max_length=32)
    source = models.ForeignKey(
        Source, verbose_name=_("来源"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    record = models.ForeignKey(
        SourceRecord, verbose_name=_("来源记录"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="provenance",
    )
    task = models.ForeignKey(
        "VerificationTask", verbose_name=_("核实任务"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )
    # Plain values for non-personal fields; PII (ID number, phone) encrypted + masked.
    value = models.CharField(_("值"), max_length=300, blank=True)
    value_enc = models.TextField(_("值(密文)"), blank=True)
    value_masked = models.CharField(_("值(脱敏)"), max_length=300, blank=True)
    observed_at = models.DateTimeField(_("观测时间"))
    precedence = models.IntegerField(_("优先级"), default=0)
    won = models.BooleanField(_("采用"), default=False)
    reason = models.CharField(_("理由"), max_length=40, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["person_id", "field", "-observed_at", "-id"]
        verbose_name = _("字段来源")
        verbose_name_plural = _("字段来源")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["person", "field"], name="provenance_person_field_idx"),
            # Only answers of grid workers carry a task: a partial index stays tiny.
            models.Index(fields=["task"], name="provenance_task_idx", condition=models.Q(task__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}.{self.field}"


class MatchReview(TimeStampedModel):
    """An uncertain match (score between the thresholds) waiting for a person to decide."""

    record = models.ForeignKey(SourceRecord, verbose_name=_("来源记录"), on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(
        "registry.Person", verbose_name=_("候选人员"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    score = models.FloatField(_("得分"), default=0.0)
    evidence = models.JSONField(_("依据"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("复核人"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-score", "id"]
        verbose_name = _("匹配复核")
        verbose_name_plural = _("匹配复核")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["record"], condition=models.Q(status=ReviewStatus.OPEN), name="matchreview_one_open_per_record",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.record_id}→{self.candidate_id}"


class VerificationTask(TimeStampedModel):
    """Sources disagree on a field that matters: the grid worker of the person's grid goes
    and looks. ``evidence`` lists what each source said (PII masked); the answer updates
    the registry with provenance "field verification"."""

    person = models.ForeignKey(
        "registry.Person", verbose_name=_("人员"), on_delete=models.CASCADE, related_name="verification_tasks",
    )
    field = models.CharField(_("字段"), max_length=32)
    grid = models.ForeignKey(
        "geo.Area", verbose_name=_("网格"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("网格员"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="fusion_tasks",
    )
    job = models.ForeignKey(
        ImportJob, verbose_name=_("导入任务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks",
    )
    evidence = models.JSONField(_("依据"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN, db_index=True)
    answer = models.JSONField(_("核实结果"), default=dict, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("核实人"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("核实时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name = _("核实任务")
        verbose_name_plural = _("核实任务")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["person", "field"], condition=models.Q(status=TaskStatus.OPEN),
                name="verificationtask_one_open_per_field",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grid", "status"], name="vtask_grid_status_idx"),
        ]

    def __str__(self) -> str:
        return f"verify {self.person_id}.{self.field}"
