"""Bulk writes of an import, inside the caller's transaction: PostgreSQL ``COPY`` (psycopg 3)
or SQLite ``executemany``; ids reserved up front so rows can point at each other without a
round trip per row.

Persons are written exactly as :func:`linli.registry.services.person_create` writes them:
the same validators, encryption bound to the same field names, blind indexes and masks —
the ciphertexts sealed in batches (:func:`linli.core.pii.encrypt_many`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db.models import Model
from django.utils import timezone

from linli.core import pii
from linli.core.bulk import (
    bulk_insert,
    bulk_insert_objects,
    bulk_update,
    db_value,
    foreign_keys_suspended,
    insert_frame,
    reserve_ids,
)
from linli.fusion.choices import RecordStatus, ReviewStatus
from linli.fusion.models import (
    FieldProvenance,
    ImportJob,
    MatchReview,
    Source,
    SourceRecord,
    VerificationTask,
)
from linli.notify.services import notification_enqueue
from linli.registry.models import Person, PersonTag
from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys

if TYPE_CHECKING:
    from linli.fusion.plan import Plan

# --- persons ---------------------------------------------------------------------------


@dataclass
class PersonValues:
    """The registry columns of one person, in plain form (ID number and phone normalised)."""

    name: str
    id_number: str = ""
    phone: str = ""
    birth_date: date | None = None
    sex: str = ""
    hukou: str = "local"
    ethnicity: str = "汉族"
    room_id: int | None = None
    building_id: int | None = None
    grid_id: int | None = None
    is_deceased: bool = False
    deceased_on: date | None = None


PERSON_FIELDS: tuple[str, ...] = (
    "name", "name_pinyin", "name_initials", "id_number_enc", "id_number_bidx", "id_number_masked",
    "id_number_s4_bidx", "id_number_s6_bidx", "birth_date", "sex", "phone_enc", "phone_bidx", "phone_masked",
    "phone_s4_bidx", "phone_s6_bidx", "hukou", "ethnicity", "room",
    "building", "grid", "is_deceased", "deceased_on",
)
# The columns each fused field writes (``disability_grade`` lives on the tag).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "name_pinyin", "name_initials"),
    "id_number": ("id_number_enc", "id_number_bidx", "id_number_masked", "id_number_s4_bidx", "id_number_s6_bidx"),
    "phone": ("phone_enc", "phone_bidx", "phone_masked", "phone_s4_bidx", "phone_s6_bidx"),
    "residence": ("room", "building", "grid"),
    "birth_date": ("birth_date",), "sex": ("sex",), "hukou": ("hukou",), "ethnicity": ("ethnicity",),
    "is_deceased": ("is_deceased",), "deceased_on": ("deceased_on",),
}


def _sealed(values: Sequence[str], *, field: str) -> list[str]:
    """Ciphertexts of ``values`` ('' stays ''), sealed in one batch."""
    filled = [v for v in values if v]
    tokens = iter(pii.encrypt_many(filled, field=field))
    return [next(tokens) if v else "" for v in values]


def id_number_forms(value: str) -> tuple[str, str, str]:
    """(ciphertext, blind index, mask) of a normalised ID number, as the registry stores it."""
    if not value:
        return "", "", ""
    return pii.encrypt(value, field=PII_ID_NUMBER), pii.blind_index(value, field=PII_ID_NUMBER), pii.mask_id_number(value)


def phone_forms(value: str) -> tuple[str, str, str]:
    if not value:
        return "", "", ""
    return pii.encrypt(value, field=PII_PHONE), pii.blind_index(value, field=PII_PHONE), pii.mask_phone(value)


def id_number_keys(value: str) -> tuple[str, str]:
    """(blind index, mask): what matching and display need, without the encryption."""
    return pii.blind_index(value, field=PII_ID_NUMBER), pii.mask_id_number(value)


def phone_keys(value: str) -> tuple[str, str]:
    return pii.blind_index(value, field=PII_PHONE), pii.mask_phone(value)


def _pii_columns(values: Sequence[str], *, field: str, mask: Any) -> list[tuple[str, ...]]:
    """(ciphertext, blind index, mask, suffix indexes …) of each value, as the registry stores them."""
    tokens = _sealed(values, field=field)
    suffixes = pii.suffix_indexes_many(values, field=field)
    return [(t, pii.blind_index(v, field=field), mask(v), *tails) if v else ("", "", "", *tails)
            for t, v, tails in zip(tokens, values, suffixes, strict=True)]


def person_rows(people: Sequence[PersonValues]) -> list[tuple[object, ...]]:
    """The :data:`PERSON_FIELDS` of each person (PII sealed in batches)."""
    ids = _pii_columns([p.id_number for p in people], field=PII_ID_NUMBER, mask=pii.mask_id_number)
    phones = _pii_columns([p.phone for p in people], field=PII_PHONE, mask=pii.mask_phone)
    rows: list[tuple[object, ...]] = []
    for values, id_forms, phone in zip(people, ids, phones, strict=True):
        full, initials = pinyin_keys(values.name)
        rows.append((
            values.name, full, initials, *id_forms, values.birth_date, values.sex, *phone, values.hukou,
            values.ethnicity, values.room_id, values.building_id, values.grid_id, values.is_deceased, values.deceased_on,
        ))
    return rows


def persons_bulk_create(people: Sequence[PersonValues], *, now: datetime) -> list[int]:
    """Create persons in bulk; returns their ids in input order."""
    ids = reserve_ids(Person, len(people))
    stamp = db_value(now)
    rows = ((pk, stamp, stamp, "", *(db_value(v) for v in row))
            for pk, row in zip(ids, person_rows(people), strict=True))
    bulk_insert(Person, ("id", "created_at", "updated_at", "relation", *PERSON_FIELDS), rows)
    return ids


def persons_bulk_update(people: Sequence[tuple[int, PersonValues | Mapping[str, Any]]], *, now: datetime) -> int:
    """Rewrite the fused columns of existing persons (``updated_at`` set to ``now``): all of
    them for :class:`PersonValues`, only the fields given for a ``{field: value}`` mapping
    (``residence``: ``(room, building, grid)``) — one UPDATE per set of fields."""
    stamp = db_value(now)
    whole = [(pk, v) for pk, v in people if isinstance(v, PersonValues)]
    count = bulk_update(Person, ("updated_at", *PERSON_FIELDS), [
        (pk, stamp, *(db_value(v) for v in row))
        for (pk, _v), row in zip(whole, person_rows([v for _pk, v in whole]), strict=True)])
    by_fields: dict[tuple[str, ...], list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
    for pk, values in people:
        if not isinstance(values, PersonValues) and values:
            by_fields[tuple(sorted(values))].append((pk, values))
    for names, group in by_fields.items():
        columns: list[list[tuple[object, ...]]] = [[] for _name in names]
        for at, name in enumerate(names):
            given = [values[name] for _pk, values in group]
            if name == "id_number":
                columns[at] = list(_pii_columns(given, field=PII_ID_NUMBER, mask=pii.mask_id_number))
            elif name == "phone":
                columns[at] = list(_pii_columns(given, field=PII_PHONE, mask=pii.mask_phone))
            elif name == "name":
                columns[at] = [(v, *pinyin_keys(v)) for v in given]
            elif name == "residence":
                columns[at] = [tuple(v) for v in given]
            else:
                columns[at] = [(db_value(v),) for v in given]
        fields = [c for name in names for c in FIELD_COLUMNS[name]]
        rows = [(pk, stamp, *(cell for column in columns for cell in column[i]))
                for i, (pk, _values) in enumerate(group)]
        count += bulk_update(Person, ("updated_at", *fields), rows)
    return count


# --- the plan --------------------------------------------------------------------------


def stamp_text(value: datetime) -> str:
    """A timestamp as the frames carry it into the database (ISO text)."""
    stored = db_value(value)
    return stored if isinstance(stored, str) else value.isoformat()


RECORD_FIELDS: tuple[str, ...] = ("id", "created_at", "updated_at", "job", "source", "row_number", "sheet", "raw",
                                  "raw_hash", "person", "outcome", "how", "score", "status", "rejected_reasons",
                                  "stated")
# From this many rows (records + provenance) on, a load goes without per-row foreign-key
# checks (see :func:`linli.core.bulk.foreign_keys_suspended`; it locks the tables meanwhile).
BULK_LOAD_ROWS = 100_000
PROVENANCE_FIELDS: tuple[str, ...] = ("person", "field", "source", "record", "value", "value_enc", "value_masked",
                                      "observed_at", "precedence", "won", "reason")


def persist_plan(
    *, plan: Plan, source: Source, job_id: int | None, observed_at: datetime,
    record_ids: Sequence[int] | None = None, record_status: str | None = None,
) -> dict[str, int]:
    """Apply the plan with bulk writes; runs inside the caller's transaction.

    With ``record_ids`` the plan's records exist already (review decisions, splits): they are
    re-pointed at their person instead of inserted. Returns new-person cluster → id.
    """
    created = persons_bulk_create(list(plan.new_persons.values()), now=observed_at)
    cluster_ids = dict(zip(plan.new_persons, created, strict=True))
    _unplaced_to_area(plan, created, job_id=job_id, record_ids=record_ids)
    clusters = pl.DataFrame({"cluster": pl.Series(list(cluster_ids), dtype=pl.String),
                             "new_person": pl.Series(created, dtype=pl.Int64)})
    stamp = stamp_text(observed_at)
    records = plan.records.join(clusters, on="cluster", how="left").with_columns(
        person=pl.coalesce("person", "new_person"))
    if record_ids is None:
        record_ids = reserve_ids(SourceRecord, records.height)
        # Large loads skip the per-row foreign-key checks: every id the rows point at is ours
        # (records, new persons) except the matched persons, the source and the job, checked
        # in one query each.
        large = records.height + plan.provenance.height >= BULK_LOAD_ROWS
        referenced: dict[type[Model], list[int]] = {Person: plan.records["person"].drop_nulls().unique().to_list(), Source: [source.pk],
                      ImportJob: [job_id] if job_id is not None else []}
        with foreign_keys_suspended([SourceRecord, FieldProvenance], referenced=referenced) if large else nullcontext():
            insert_frame(SourceRecord, RECORD_FIELDS, records.select(
                pl.Series("id", record_ids, dtype=pl.Int64), pl.lit(stamp).alias("created_at"),
                pl.lit(stamp).alias("updated_at"), pl.lit(job_id, pl.Int64).alias("job"),
                pl.lit(source.pk, pl.Int64).alias("source"), "row_number", "sheet", "raw", "raw_hash", "person",
                "outcome", "how", "score", "status", "rejected_reasons", "stated"))
            _persist_provenance(plan.provenance, clusters, record_ids, source=source, stamp=stamp)
    else:
        for pk, person, status, stated in zip(record_ids, records["person"].to_list(), records["status"].to_list(),
                                              records["stated"].to_list(), strict=True):
            SourceRecord.objects.filter(pk=pk).update(
                # A past record stays one, wherever it is moved (a split).
                person_id=person, status=status if status == RecordStatus.PAST else (record_status or status),
                updated_at=observed_at, stated=json.loads(stated))
        _persist_provenance(plan.provenance, clusters, record_ids, source=source, stamp=stamp)
    _unwin(plan.unwin)
    persons_bulk_update(list(plan.person_updates.items()), now=observed_at)
    _persist_tags(plan.tags, clusters, source=source)
    _announce_benefits(plan.tags, clusters, source=source, job_id=job_id)
    # Stamped here: the bulk path does not apply ``auto_now``.
    now = timezone.now()
    _insert_work(MatchReview, [
        MatchReview(record_id=record_ids[r["record_index"]], candidate_id=r["candidate"], score=r["score"],
                    evidence=r["evidence"], status=ReviewStatus.OPEN, created_at=now, updated_at=now)
        for r in plan.reviews
    ])
    _insert_work(VerificationTask, [
        VerificationTask(person_id=t["person"], field=t["field"], grid_id=t["grid"], assignee_id=t["assignee"],
                         job_id=job_id, evidence=t["evidence"], created_at=now, updated_at=now)
        for t in plan.tasks
    ])
    _notify_assignees(plan.tasks, source=source, job_id=job_id, now=now)
    return cluster_ids


def _notify_assignees(tasks: Sequence[Mapping[str, Any]], *, source: Source, job_id: int | None,
                      now: datetime) -> None:
    """One inbox notification per grid worker with new verification tasks, in the import's
    transaction (an import that rolls back notifies nobody)."""
    counts: dict[int, int] = {}
    for t in tasks:
        if t["assignee"] is not None:
            counts[int(t["assignee"])] = counts.get(int(t["assignee"]), 0) + 1
    run = job_id if job_id is not None else int(now.timestamp() * 1000)
    for assignee, count in counts.items():
        notification_enqueue(recipient_ids=[assignee], event_type="fusion.verification_assigned",
                             variables={"count": count, "source": source.name or source.code},
                             dedup_key=f"fusion-job:{run}:verification", object_type="fusion.VerificationTask",
                             link="/fusion/tasks/", now=now)
def _unplaced_to_area(plan: Plan, created: Sequence[int], *, job_id: int | None,
                      record_ids: Sequence[int] | None) -> None:
    """New persons whose address found no room belong to the import's area (its street or
    community) and wait in its 待落位 list, instead of belonging to no one."""
    unplaced = [pk for pk, values in zip(created, plan.new_persons.values(), strict=True) if values.grid_id is None]
    if not unplaced:
        return
    if job_id is None and record_ids:  # a review decision: the job of the record decided on
        job_id = SourceRecord.objects.filter(pk=record_ids[0]).values_list("job_id", flat=True).first()
    area_id = ImportJob.objects.filter(pk=job_id).values_list("area_id", flat=True).first() if job_id else None
    if area_id is not None:
        for start in range(0, len(unplaced), _UPDATE_CHUNK):
            Person.objects.filter(pk__in=unplaced[start:start + _UPDATE_CHUNK]).update(area_id=area_id)


_UPDATE_CHUNK = 900  # under SQLite's 999 parameters


# From this many rows on, reviews and tasks go in by COPY: a district import opens tens of
# thousands of verification tasks (a profiled 200,000-resident import spent 3.1 s of its
# 104 s in ``bulk_create`` for 28,000 of them).
_COPY_WORK_FROM = 500


def _insert_work(model: type[MatchReview] | type[VerificationTask],
                 objects: Sequence[MatchReview] | Sequence[VerificationTask]) -> None:
    if len(objects) >= _COPY_WORK_FROM:
        bulk_insert_objects(model, objects)
    else:
        model.objects.bulk_create(objects, batch_size=2000)  # type: ignore[arg-type]


def _unwin(unwin: Mapping[int, str]) -> None:
    """Provenance rows that no longer win, with why: one UPDATE … FROM a COPY-loaded table."""
    bulk_update(FieldProvenance, ("won", "reason"), [(pk, False, reason) for pk, reason in unwin.items()])


def _persist_provenance(provenance: pl.DataFrame, clusters: pl.DataFrame, record_ids: Sequence[int], *,
                        source: Source, stamp: str) -> None:
    if provenance.height == 0:
        return
    frame = provenance.join(clusters, on="cluster", how="left").with_columns(
        person=pl.coalesce("person", "new_person"), record=pl.Series(record_ids, dtype=pl.Int64).gather(
            provenance["pos"]))
    sealed = pl.Series("value_enc", [""] * frame.height, dtype=pl.String)
    for name, bound in (("id_number", PII_ID_NUMBER), ("phone", PII_PHONE)):
        at = (frame["field"] == name).arg_true()
        if len(at):
            sealed = sealed.scatter(at, pii.encrypt_many(frame["plain"].gather(at).to_list(), field=bound))
    insert_frame(FieldProvenance, PROVENANCE_FIELDS, frame.select(
        "person", "field", pl.lit(source.pk, pl.Int64).alias("source"), "record",
        pl.col("value").str.slice(0, 300), sealed, pl.col("masked").str.slice(0, 300), pl.lit(stamp).alias("observed_at"),
        "precedence", "won", "reason"))


# Called with the benefit facts of an import (rows whose tag rule names a benefit), in the
# import's transaction: care (a higher layer) registers here in its AppConfig.ready.
import_benefit_listeners: list[Callable[..., object]] = []


def _announce_benefits(tags: pl.DataFrame, clusters: pl.DataFrame, *, source: Source, job_id: int | None) -> None:
    if not import_benefit_listeners or tags.height == 0:
        return
    facts = (tags.filter(pl.col("benefit") != "").join(clusters, on="cluster", how="left")
             .with_columns(person=pl.coalesce("person", "new_person"))
             .unique(["person", "benefit"], keep="last", maintain_order=True))
    if facts.height == 0:
        return
    rows = list(facts.select("person", "benefit", "valid_from", "valid_to").iter_rows())
    for listener in import_benefit_listeners:
        listener(source_code=source.code, department=source.department, job_id=job_id, rows=rows)


def _persist_tags(tags: pl.DataFrame, clusters: pl.DataFrame, *, source: Source) -> None:
    """Open the tags the rows carry; an open tag of the same kind keeps its dates (its note
    follows the newest grade). Set-based: the open tags of the file's persons are read in
    one query, the new ones written with one bulk insert."""
    from linli.fusion.pipeline import among, chunk_size, query_frame

    if tags.height == 0:
        return
    wanted = tags.join(clusters, on="cluster", how="left").with_columns(
        person=pl.coalesce("person", "new_person")).unique(["person", "kind"], keep="last", maintain_order=True)
    persons = wanted["person"].unique().sort().to_list()
    schema = {"id": pl.Int64(), "person": pl.Int64(), "kind": pl.String(), "have_note": pl.String()}
    found = [query_frame(*PersonTag.objects.filter(among("person_id", persons[start:start + chunk_size()]),
                                                  valid_to__isnull=True)
                         .values_list("id", "person_id", "kind", "note").query.sql_with_params(), schema)
             for start in range(0, len(persons), chunk_size())]
    # Should a person hold two open tags of a kind, the later one is the one kept up to date.
    have = pl.concat(found).sort("id").unique(["person", "kind"], keep="last")
    create = wanted.join(have, on=["person", "kind"], how="anti")
    stamp = db_value(timezone.now())
    bulk_insert(PersonTag, ("created_at", "updated_at", "person", "kind", "source", "valid_from", "valid_to", "note"), (
        (stamp, stamp, person, kind, source.department, db_value(valid_from),
         db_value(valid_to) if valid_to is not None and valid_to >= valid_from else None, note)
        for person, kind, valid_from, valid_to, note in create.select(
            "person", "kind", "valid_from", "valid_to", "note").iter_rows()))
    renamed = wanted.join(have, on=["person", "kind"], how="inner").filter(
        (pl.col("note") != "") & (pl.col("note") != pl.col("have_note").fill_null("")))
    bulk_update(PersonTag, ("note",), list(renamed.select("id", "note").iter_rows()))
