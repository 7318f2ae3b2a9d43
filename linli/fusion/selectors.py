"""Reads of the fusion app, every one scoped by :func:`linli.accounts.selectors.scope_for`.

Import jobs and the review queue concern a whole street's lists: they are open to users who
may export the registry (street staff, district admins) whose scope covers the job's area
(the importer's street or district); reviews further need the candidate person inside the
caller's grids. Verification tasks are seen by whoever covers the task's
grid (a grid worker: their own grids). Out-of-scope objects raise :class:`NotFound`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy

from linli.accounts.choices import Permission
from linli.accounts.models import User
from linli.accounts.selectors import AreaScope, Principal, scope_for
from linli.core.errors import NotFound
from linli.fusion.choices import ConflictField, RecordStatus, ReviewStatus, TaskStatus
from linli.fusion.models import (
    FieldProvenance,
    ImportJob,
    MatchReview,
    Source,
    SourceRecord,
    VerificationTask,
)
from linli.fusion.workflow import PII_FIELDS, STATED_PII_KEY, WinReason
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person

IMPORT_AREA_LEVELS = (AreaLevel.STREET, AreaLevel.DISTRICT)


def _import_scope(user: Principal | None) -> AreaScope | None:
    scope = scope_for(user)
    return scope if scope.can(Permission.EXPORT_REGISTRY) and scope.grid_ids else None


def source_list_for_user(*, user: Principal) -> QuerySet[Source]:
    if _import_scope(user) is None:
        return Source.objects.none()
    return Source.objects.filter(active=True)


def source_get_for_user(*, user: Principal, code: str) -> Source:
    source = source_list_for_user(user=user).filter(code=code).first()
    if source is None:
        raise NotFound()
    return source


def import_areas_for_user(*, user: Principal) -> QuerySet[Area]:
    """The streets and districts in the user's scope an import may be filed under."""
    scope = _import_scope(user)
    if scope is None:
        return Area.objects.none()
    return Area.objects.filter(pk__in=scope.area_ids, level__in=IMPORT_AREA_LEVELS).order_by("level", "code")


def import_job_list_for_user(*, user: Principal) -> QuerySet[ImportJob]:
    scope = _import_scope(user)
    if scope is None:
        return ImportJob.objects.none()
    return ImportJob.objects.filter(area_id__in=scope.area_ids).select_related("source", "created_by", "area")


def import_job_get_for_user(*, user: Principal, job_id: int) -> ImportJob:
    job = import_job_list_for_user(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    return job


def job_rejected_records(*, job: ImportJob) -> QuerySet[SourceRecord]:
    """The rejected rows of a job (caller got the job through a scoped selector)."""
    return job.records.filter(status="rejected").order_by("row_number")


def review_queue_for_user(*, user: Principal, status: str = ReviewStatus.OPEN) -> QuerySet[MatchReview]:
    scope = _import_scope(user)
    if scope is None:
        return MatchReview.objects.none()
    return (MatchReview.objects.filter(status=status, candidate__grid_id__in=scope.grid_ids,
                                       record__job__area_id__in=scope.area_ids)
            .select_related("record", "record__source", "candidate"))


def review_get_for_user(*, user: Principal, review_id: int) -> MatchReview:
    review = review_queue_for_user(user=user, status=ReviewStatus.OPEN).filter(pk=review_id).first()
    if review is None:
        scope = _import_scope(user)
        if scope is not None:
            review = (MatchReview.objects.filter(pk=review_id, candidate__grid_id__in=scope.grid_ids,
                                                 record__job__area_id__in=scope.area_ids)
                      .select_related("record", "record__source", "candidate").first())
    if review is None:
        raise NotFound()
    return review


def verification_tasks_for_user(*, user: Principal, status: str | None = TaskStatus.OPEN,
                                field: str | None = None) -> QuerySet[VerificationTask]:
    scope = scope_for(user)
    # Verification tasks are work for people on the ground; a key's view_registry scope opens
    # the registry reads only (docs/api.md).
    if not isinstance(user, User) or not scope.can(Permission.VIEW_REGISTRY) or not scope.grid_ids:
        return VerificationTask.objects.none()
    rows = VerificationTask.objects.filter(grid_id__in=scope.grid_ids).select_related("person", "grid", "assignee")
    if field is not None:
        rows = rows.filter(field=field)
    return rows if status is None else rows.filter(status=status)


# A death claim first (benefits may still be paid), then where someone lives, then the rest.
_TASK_URGENCY = (ConflictField.IS_DECEASED, ConflictField.RESIDENCE, ConflictField.DISABILITY_GRADE,
                 ConflictField.PHONE)


def verification_tasks_in_walk_order(tasks: QuerySet[VerificationTask], *, status: str) -> QuerySet[VerificationTask]:
    """Open tasks by urgency, then by building, unit and room, so that a grid worker's round
    takes the tasks of one staircase together; answered and closed ones newest first."""
    if status != TaskStatus.OPEN:
        return tasks.order_by(F("answered_at").desc(nulls_last=True), "-id")
    urgency = Case(*(When(field=name, then=Value(rank)) for rank, name in enumerate(_TASK_URGENCY)),
                   default=Value(len(_TASK_URGENCY)), output_field=IntegerField())
    return tasks.order_by(urgency, *_walk())


def _walk() -> tuple[OrderBy | str, ...]:
    """Building, unit, room (tasks of persons without a room last), then id."""
    return (F("person__room__building__address").asc(nulls_last=True),
            F("person__room__unit__number").asc(nulls_last=True), F("person__room__number").asc(nulls_last=True), "id")


def verification_tasks_first_open(tasks: QuerySet[VerificationTask], *, limit: int) -> list[VerificationTask]:
    """The first ``limit`` open tasks of :func:`verification_tasks_in_walk_order`, one urgency
    at a time: the urgent kinds are few (a street's 53 death claims among 3,940 open tasks),
    so the home page sorts those rows instead of joining and sorting every open task in scope
    (≈ 40 ms on SQLite for the demo street, each visit)."""
    found: list[VerificationTask] = []
    groups = [Q(field=name) for name in _TASK_URGENCY] + [~Q(field__in=_TASK_URGENCY)]
    for group in groups:
        if len(found) >= limit:
            break
        found += tasks.filter(group, status=TaskStatus.OPEN).order_by(*_walk())[:limit - len(found)]
    return found


def verification_task_counts_for_user(*, user: Principal) -> dict[str, int]:
    """How many tasks of each status the user's grids hold (every status present, 0 if none)."""
    counts = dict.fromkeys(TaskStatus.values, 0)
    rows = verification_tasks_for_user(user=user, status=None).order_by().values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def verification_task_field_counts_for_user(*, user: Principal, status: str) -> dict[str, int]:
    """How many tasks of ``status`` concern each conflicting field, in urgency order."""
    counts = {str(name): 0 for name in _TASK_URGENCY}
    rows = verification_tasks_for_user(user=user, status=status).order_by().values("field").annotate(n=Count("id"))
    counts.update({row["field"]: row["n"] for row in rows})
    return counts


def verification_task_get_for_user(*, user: Principal, task_id: int) -> VerificationTask:
    task = verification_tasks_for_user(user=user, status=None).filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    return task


@dataclass(frozen=True)
class FieldValue:
    """What one source (or a verification) said about a field, and its fate."""

    source: str
    department: str
    value: str  # masked for personal identifiers
    observed_at: datetime
    precedence: int
    won: bool
    reason: str
    row_number: int | None


@dataclass
class FieldHistory:
    """Every value given for one field of a person, winner first."""

    field: str
    current: str
    values: list[FieldValue] = dataclasses.field(default_factory=list)


def _person_in_scope(user: Principal, person_id: int) -> Person:
    scope = scope_for(user)
    if not scope.can(Permission.VIEW_REGISTRY):
        raise NotFound()
    person = Person.objects.filter(pk=person_id, grid_id__in=scope.grid_ids).first()
    if person is None:
        raise NotFound()
    return person


def _stated_precedence(source: Source, field_name: str) -> int:
    authoritative = dict((source.definition or {}).get("authoritative") or {})
    if field_name == "residence" and "residence" not in authoritative:
        field_name = "address"
    value = authoritative.get(field_name, 0)
    return int(value) if isinstance(value, int | float | str) and str(value).lstrip("-").isdigit() else 0


def person_provenance(*, user: Principal, person_id: int) -> list[FieldHistory]:
    """Which source said what about each field, when, which value won and why.

    Provenance rows are read as stored; values a source gave that merely agreed with the
    registry (kept on its record, ``SourceRecord.stated``) are shown beside them: agreeing
    with the winner, outranked by it, or — where no source has changed the field — the
    registry's value they confirm.
    """
    _person_in_scope(user, person_id)
    rows = (FieldProvenance.objects.filter(person_id=person_id)
            .select_related("source", "record").order_by("field", "-won", "-precedence", "-observed_at", "-id"))
    histories: dict[str, FieldHistory] = {}
    winner_keys: dict[str, str] = {}
    with_row: set[tuple[int, str]] = set()
    for row in rows:
        shown = row.value_masked if row.field in PII_FIELDS else (row.value_masked or row.value)
        history = histories.setdefault(row.field, FieldHistory(field=row.field, current=""))
        if row.won and not history.current:
            history.current = shown
            winner_keys[row.field] = row.value[:STATED_PII_KEY] if row.field in PII_FIELDS else row.value
        if row.record_id is not None:
            with_row.add((row.record_id, row.field))
        history.values.append(FieldValue(
            source=row.source.code if row.source else "field_verification",
            department=row.source.department if row.source else "网格员核实",
            value=shown, observed_at=row.observed_at, precedence=row.precedence, won=row.won,
            reason=row.reason, row_number=row.record.row_number if row.record else None,
        ))
    for record in (SourceRecord.objects.filter(person_id=person_id).exclude(stated={})
                   .select_related("source").order_by("created_at", "id")):
        for name, stated in (record.stated or {}).items():
            if (record.pk, name) in with_row:
                continue
            key, shown = (str(stated[0]), str(stated[1])) if isinstance(stated, list) else (str(stated), str(stated))
            history = histories.setdefault(name, FieldHistory(field=name, current=""))
            confirms = name not in winner_keys  # no source changed it: the registry's own value
            if confirms and not history.current:
                history.current = shown
            history.values.append(FieldValue(
                source=record.source.code, department=record.source.department, value=shown,
                observed_at=record.created_at, precedence=_stated_precedence(record.source, name), won=confirms,
                reason=WinReason.AGREED if confirms or winner_keys[name] == key else WinReason.OUTRANKED,
                row_number=record.row_number,
            ))
    for history in histories.values():
        history.values.sort(key=lambda v: (not v.won, -v.precedence, -v.observed_at.timestamp()))
    return list(histories.values())


def person_past_records(*, user: Principal, person_id: int) -> QuerySet[SourceRecord]:
    """The past records (``past_rows``: a cancelled registration, a move out) linked to a
    person: which department once knew them, in which row — they asserted nothing."""
    _person_in_scope(user, person_id)
    return (SourceRecord.objects.filter(person_id=person_id, status=RecordStatus.PAST)
            .select_related("source").order_by("created_at", "id"))


def person_source_records(*, user: Principal, person_id: int) -> QuerySet[SourceRecord]:
    """The source rows fused into a person (for the split view)."""
    _person_in_scope(user, person_id)
    return SourceRecord.objects.filter(person_id=person_id).select_related("source").order_by("source__code", "row_number")


def open_tasks_count_for_user(*, user: Principal) -> int:
    return verification_tasks_for_user(user=user).filter(~Q(status=TaskStatus.ANSWERED)).count()


# --- place proposals (issue 17, cause 5) ---------------------------------------------------------


@dataclass(frozen=True)
class ProposedRoom:
    """A room an import's addresses name that the place registry lacks, and who lives there."""

    unit: str
    room: str
    person_ids: tuple[int, ...]


@dataclass(frozen=True)
class PlaceProposal:
    """A building (or the missing rooms of a known one) the unplaced persons' addresses name:
    what a clerk may accept into the place registry. ``building_id``: the building, when it
    exists already in the caller's grids."""

    key: str
    compound: str
    building: str
    rooms: tuple[ProposedRoom, ...]
    building_id: int | None = None

    @property
    def persons(self) -> int:
        return sum(len(room.person_ids) for room in self.rooms)

    @property
    def label(self) -> str:
        return f"{self.compound}{self.building}幢"


def place_proposals_for_user(*, user: Principal) -> list[PlaceProposal]:
    """The buildings and rooms named by the kept addresses (``address`` provenance) of the
    unplaced persons of the caller's 待落位 list, most persons first; an address without a
    building and room number proposes nothing."""
    from linli.fusion.normalise import building_key, normalise_address
    from linli.registry.models import Building
    from linli.registry.selectors import person_unplaced_list_for_user, registry_scope

    unplaced = person_unplaced_list_for_user(user=user).values("id")
    found = FieldProvenance.objects.filter(person_id__in=unplaced, field="address", won=True).values_list(
        "person_id", "value")
    grouped: dict[str, dict[tuple[str, str], list[int]]] = {}
    names: dict[str, tuple[str, str]] = {}
    for person_id, value in found:
        address = normalise_address(value)
        if not (address.building_key and address.room):
            continue
        grouped.setdefault(address.building_key, {}).setdefault((address.unit, address.room), []).append(person_id)
        names[address.building_key] = (address.compound, address.building)
    if not grouped:
        return []
    grids = sorted(registry_scope(user).grid_ids)
    known = {building_key(compound or "", name): pk for pk, compound, name in
             Building.objects.filter(grid_id__in=grids).values_list("pk", "compound", "name")}
    proposals = [
        PlaceProposal(key=key, compound=names[key][0], building=names[key][1], building_id=known.get(key),
                      rooms=tuple(ProposedRoom(unit=unit, room=room, person_ids=tuple(sorted(ids)))
                                  for (unit, room), ids in sorted(rooms.items(), key=lambda kv: (kv[0][0], kv[0][1].zfill(6)))))
        for key, rooms in grouped.items()
    ]
    return sorted(proposals, key=lambda p: (-p.persons, p.key))
