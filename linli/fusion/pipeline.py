"""The import pipeline: read → normalise → match → merge plan → persist.

Reading, normalising and matching touch no registry row (the registry's keys are loaded
once into Polars); :func:`build_plan` decides every write in memory, and
:func:`persist_plan` applies it with bulk paths inside the caller's single transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.core import pii
from linli.core.bulk import bulk_insert, db_value, reserve_ids
from linli.fusion import persist
from linli.fusion.choices import (
    DEFAULT_PRECEDENCE,
    MatchOutcome,
    RecordStatus,
    ReviewStatus,
    TaskStatus,
)
from linli.fusion.mapping import SourceDefinition, parse_source_definition
from linli.fusion.match import Matcher
from linli.fusion.models import FieldProvenance, MatchReview, Source, SourceRecord, VerificationTask
from linli.fusion.normalise import building_key, normalise_frame, reason_message
from linli.fusion.readers import ROW_COLUMN, SHEET_COLUMN, ReadResult, neutralise_cell, read_export
from linli.fusion.workflow import (
    FUSED_FIELDS,
    PII_FIELDS,
    STATED_PII_KEY,
    Observation,
    WinReason,
    is_conflict,
    loser_reason,
)
from linli.registry.choices import HukouStatus, TagKind
from linli.registry.models import Person, PersonTag, Room
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

Progress = Callable[[int], None]
CHUNK = 5000  # ids per query on SQLite (its variable limit); PostgreSQL takes arrays


def chunk_size() -> int:
    return 200_000 if connection.vendor == "postgresql" else CHUNK


def among(column: str, values: Sequence[Any], *, sql_type: str = "bigint") -> Q:
    """``column IN values`` for long lists: on PostgreSQL one array parameter
    (``= ANY``-style ``unnest``), not one placeholder per value (psycopg's client-side
    binding of thousands of placeholders costs more than the query)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{column}__in": RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])})  # noqa: S611 -- type from code
    return Q(**{f"{column}__in": list(values)})
# Rejected rows listed in a job's counts (page and API); the file holds them all.
REJECTED_LISTED = 1000


@dataclass(frozen=True)
class RejectedRow:
    """A row (``rejected``) or a single value (``dropped``) that was not taken, and why."""

    row_number: int
    sheet: str
    column: str
    reason: str
    rejected: bool = True


@dataclass
class ImportReport:
    """What an import did (or, dry run, would do)."""

    source: str
    file_name: str
    dry_run: bool
    job_id: int | None = None
    rows_read: int = 0
    unchanged: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    new_persons: int = 0
    updated_persons: int = 0
    updated_fields: int = 0
    conflicts: int = 0
    tasks_created: int = 0
    review: int = 0
    rejected: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    encoding: str = ""
    sheets: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read, "unchanged": self.unchanged, "matched": dict(self.matched),
            "matched_total": sum(self.matched.values()), "new_persons": self.new_persons,
            "updated_persons": self.updated_persons, "updated_fields": self.updated_fields,
            "conflicts": self.conflicts, "tasks_created": self.tasks_created, "review": self.review,
            "rejected": self.rejected,
            "dropped_values": sum(1 for r in self.rejected_rows if not r.rejected),
            "encoding": self.encoding, "sheets": list(self.sheets),
            # Row numbers, columns and reasons only (no values): shown for a dry run as well.
            "rejected_rows": [
                {"row": r.row_number, "sheet": r.sheet, "column": r.column, "reason": r.reason,
                 "rejected": r.rejected}
                for r in self.rejected_rows[:REJECTED_LISTED]
            ],
            "rejected_rows_total": len(self.rejected_rows),
        }


# --- stage 1: read ---------------------------------------------------------------------


def definition_of(source: Source) -> SourceDefinition:
    """The parsed :class:`linli.fusion.mapping.SourceDefinition` of a stored source."""
    return parse_source_definition(source.definition)


def stage_read(definition: Any, file_path: Path, *, max_bytes: int | None = None) -> ReadResult:
    return read_export(
        file_path, fmt=getattr(definition, "format", "auto") or "auto",
        encoding=getattr(definition, "encoding", "auto") or "auto",
        sheets=getattr(definition, "sheets", None), key_columns=list(getattr(definition, "key_columns", [])),
        mapped_columns=list(definition.columns), max_bytes=max_bytes,
    )


# --- stage 2: normalise ----------------------------------------------------------------


@dataclass
class Normalised:
    """The normalised frame, aligned row by row with the raw rows and their hashes."""

    frame: pl.DataFrame
    raw: list[dict[str, str]]
    hashes: list[str]
    sheets: list[str]


def _pii_columns(definition: Any) -> dict[str, str]:
    bound = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
    return {col: bound[cmap.field] for col, cmap in definition.columns.items() if cmap.field in bound}


def raw_rows(read: ReadResult) -> tuple[list[dict[str, str]], list[str]]:
    """Each row as ``{column: text}`` (empty cells left out) and its SHA-256 (idempotency)."""
    columns = read.columns
    rows: list[dict[str, str]] = []
    hashes: list[str] = []
    for values in read.frame.select(columns).iter_rows():
        row = {c: v for c, v in zip(columns, values, strict=True) if v is not None and v != ""}
        rows.append(row)
        hashes.append(hashlib.sha256(json.dumps(row, ensure_ascii=False, sort_keys=True).encode()).hexdigest())
    return rows, hashes


def stage_normalise(read: ReadResult, definition: Any) -> Normalised:
    raw, hashes = raw_rows(read)
    frame = normalise_frame(read.frame.rename({ROW_COLUMN: "row_number"}), definition)
    return Normalised(frame=frame, raw=raw, hashes=hashes, sheets=read.frame[SHEET_COLUMN].to_list())


# --- stage 3: match --------------------------------------------------------------------


def _in_grids(grids: Sequence[int] | None, column: str = "grid_id") -> Q:
    """Persons (rooms) an import filed under an area may touch: its grids' (and, for
    persons, those not placed in any grid yet). ``None``: the whole registry."""
    if grids is None:
        return Q()
    return Q(**{f"{column}__in": list(grids)}) | Q(**{f"{column}__isnull": True})


def registry_keys(grids: Sequence[int] | None = None) -> pl.DataFrame:
    """The registry's match keys, loaded once per import (never a query per row).

    ``id_enc`` (the ID number ciphertext) rides along so that the few candidates whose ID
    must be compared in plain text are decrypted in memory, not fetched one query each.
    """
    rows = Person.objects.filter(_in_grids(grids)).values_list(
        "id", "name", "name_pinyin", "name_initials", "id_number_bidx", "birth_date", "sex", "phone_bidx",
        "building__compound", "building__name", "room__unit__number", "room__number", "id_number_enc",
    )
    ids: list[int] = []
    names: list[str] = []
    pinyins: list[str] = []
    initials: list[str] = []
    id_bidx: list[str | None] = []
    births: list[date | None] = []
    sexes: list[str | None] = []
    phones: list[str | None] = []
    bkeys: list[str | None] = []
    units: list[str | None] = []
    rooms: list[str | None] = []
    tokens: list[str | None] = []
    bkey_cache: dict[tuple[str, str], str] = {}  # building → key (a few hundred distinct)
    for pk, name, pinyin, ini, idb, birth, sex, phb, compound, bname, unit, room, enc in rows.iterator(
            chunk_size=20000):
        ids.append(pk)
        names.append(name)
        pinyins.append(pinyin)
        initials.append(ini)
        id_bidx.append(idb or None)
        births.append(birth)
        sexes.append(sex or None)
        phones.append(phb or None)
        if bname:
            key = (compound or "", bname)
            if key not in bkey_cache:
                bkey_cache[key] = building_key(*key)
            bkeys.append(bkey_cache[key] or None)
        else:
            bkeys.append(None)
        units.append(None if unit is None else str(unit))
        rooms.append((str(room).lstrip("0") or "0") if room else None)
        tokens.append(enc or None)
    return pl.DataFrame({
        "person_id": pl.Series(ids, dtype=pl.Int64), "name": pl.Series(names, dtype=pl.String),
        "name_pinyin": pl.Series(pinyins, dtype=pl.String), "initials": pl.Series(initials, dtype=pl.String),
        "id_bidx": pl.Series(id_bidx, dtype=pl.String), "birth_date": pl.Series(births, dtype=pl.Date),
        "sex": pl.Series(sexes, dtype=pl.String), "phone_bidx": pl.Series(phones, dtype=pl.String),
        "building_key": pl.Series(bkeys, dtype=pl.String), "unit": pl.Series(units, dtype=pl.String),
        "room": pl.Series(rooms, dtype=pl.String), "id_enc": pl.Series(tokens, dtype=pl.String),
    })


@dataclass(frozen=True)
class Decision:
    """The matcher's decision for one row, in the shape the merge needs."""

    outcome: str
    how: str
    score: float
    person_id: int | None  # an existing person (same/review candidate)
    cluster: str  # new-person cluster key (rows of one new person share it)
    evidence: dict[str, Any]


def stage_match(
    frame: pl.DataFrame, keys: pl.DataFrame,
    *, id_plain: Callable[[pl.DataFrame], Callable[[int], str | None]] | None = None,
) -> list[Decision]:
    """Run :class:`linli.fusion.match.Matcher` over the normalised frame (row by row aligned);
    ``id_plain`` makes the candidates' plain-ID lookup from the keys (default: in memory)."""
    decrypt = (id_plain or decrypt_ids_of)(keys)
    decided = Matcher(keys, decrypt_id=decrypt).match(frame).sort("record_index")
    out: list[Decision] = []
    for _index, person_id, person_key, outcome, how, score, candidate_id, evidence in decided.select(
        "record_index", "person_id", "person_key", "outcome", "how", "score", "candidate_id", "evidence",
    ).iter_rows():
        existing = person_id if outcome == MatchOutcome.SAME else candidate_id if outcome == MatchOutcome.REVIEW else None
        out.append(Decision(
            outcome=outcome, how=how or "", score=float(score or 0.0), person_id=existing, cluster=str(person_key),
            evidence=json.loads(evidence) if evidence and outcome == MatchOutcome.REVIEW else {},
        ))
    return out


def decrypt_id_of(person_id: int) -> str | None:
    """Plain ID number of one candidate blocking found (to tell an ID typo from another person)."""
    token = Person.objects.filter(pk=person_id).values_list("id_number_enc", flat=True).first()
    return pii.decrypt(token, field=PII_ID_NUMBER) if token else None


def decrypt_ids_of(keys: pl.DataFrame) -> Callable[[int], str | None]:
    """The matcher's ``decrypt_id`` over the ciphertexts loaded with the keys: no query per
    candidate; only the candidates the matcher asks for are decrypted (in memory)."""
    tokens: dict[int, str] | None = None

    def plain(person_id: int) -> str | None:
        nonlocal tokens
        if tokens is None:
            have = keys.select("person_id", "id_enc").drop_nulls()
            tokens = dict(zip(have["person_id"].to_list(), have["id_enc"].to_list(), strict=True))
        token = tokens.get(person_id)
        return pii.decrypt(token, field=PII_ID_NUMBER) if token else None

    return plain


# --- stage 4: plan the merge -----------------------------------------------------------


@dataclass
class Obs:
    """One field value from one row, with its stored forms."""

    field: str
    value: str  # comparison key (blind index for PII)
    plain: Any  # what goes into the registry column
    enc: str = ""  # PII ciphertext, sealed only when a provenance row is written
    masked: str = ""


@dataclass
class Winner:
    """The current winner of one (person, field)."""

    value: str
    precedence: int
    observed_at: datetime
    order: int
    source_id: int | None
    provenance_id: int | None  # None: baseline registry value or a row of this import
    plain: Any = None
    new_index: int | None = None  # index into Plan.provenance when won in this import
    masked: str = ""  # the value as staff may see it (PII masked; residence: the address)


@dataclass
class Plan:
    """Every write of one import, decided in memory."""

    records: list[dict[str, Any]] = field(default_factory=list)
    new_persons: dict[str, persist.PersonValues] = field(default_factory=dict)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    unwin: dict[int, str] = field(default_factory=dict)  # provenance id → reason
    person_updates: dict[int, persist.PersonValues] = field(default_factory=dict)
    changed_fields: dict[int, set[str]] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)


_NO_BASELINE = frozenset({"disability_grade"})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def observations_of(row: dict[str, Any], rooms: dict[tuple[str, str, str], tuple[int, int, int]]) -> list[Obs]:
    """The fused-field values one normalised row states (empty cells state nothing)."""
    found: list[Obs] = []
    if row.get("name"):
        found.append(Obs("name", row["name"], row["name"]))
    if row.get("id_number") and row.get("id_valid"):
        bidx, masked = persist.id_number_keys(row["id_number"])
        found.append(Obs("id_number", bidx, row["id_number"], "", masked))
    hukou = hukou_status(row.get("hukou"))
    if hukou:
        found.append(Obs("hukou", hukou, hukou))
    found.extend(Obs(name, _text(row[name]), row[name]) for name in ("birth_date", "sex", "ethnicity", "deceased_on")
                 if row.get(name) is not None and row.get(name) != "")
    if row.get("phone"):
        bidx, masked = persist.phone_keys(row["phone"])
        found.append(Obs("phone", bidx, row["phone"], "", masked))
    deceased = row.get("is_deceased")
    if deceased is None and row.get("deceased_on") is not None:
        deceased = True
    if deceased is not None:
        found.append(Obs("is_deceased", _text(bool(deceased)), bool(deceased)))
    if row.get("disability_grade") is not None:
        found.append(Obs("disability_grade", _text(row["disability_grade"]), int(row["disability_grade"])))
    place = rooms.get((row.get("building_key") or "", row.get("unit") or "", row.get("room") or ""))
    if place is None and row.get("building_key") and row.get("room"):
        place = rooms.get((row["building_key"], "", row["room"]))
    if place is not None:
        found.append(Obs("residence", f"room:{place[0]}", place, masked=row.get("address_norm") or ""))
    return found


_HUKOU_VALUES = frozenset(HukouStatus.values)  # the enum's ``values`` is rebuilt on every access


def hukou_status(value: Any) -> str:
    """Departments' wording (户籍/本地/流动/暂住/外籍 …) → :class:`HukouStatus`, or ''."""
    text = str(value or "").strip()
    if not text:
        return ""
    if text in _HUKOU_VALUES:
        return text
    if any(w in text for w in ("境外", "外籍", "外国", "港澳台")):
        return HukouStatus.FOREIGN
    if any(w in text for w in ("流动", "外来", "暂住", "非本地", "外地")):
        return HukouStatus.MIGRANT
    if any(w in text for w in ("户籍", "本地", "常住", "本市", "本区")):
        return HukouStatus.LOCAL
    return ""


def room_index(grids: Sequence[int] | None = None) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """(building key, unit, room) → (room id, building id, grid id); also keyed without unit
    when the room number is unique in its building. ``grids``: only rooms in those grids."""
    index: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    no_unit: dict[tuple[str, str, str], int] = defaultdict(int)
    cache: dict[tuple[str, str], str] = {}
    rooms = Room.objects.all() if grids is None else Room.objects.filter(building__grid_id__in=list(grids))
    for pk, bid, grid, compound, bname, unit, number in rooms.values_list(
        "id", "building_id", "building__grid_id", "building__compound", "building__name", "unit__number", "number",
    ).iterator(chunk_size=20000):
        key = (compound or "", bname)
        if key not in cache:
            cache[key] = building_key(*key)
        bkey = cache[key]
        if not bkey:
            continue
        room = str(number).lstrip("0") or "0"
        index[(bkey, str(unit), room)] = (pk, bid, grid)
        no_unit[(bkey, "", room)] += 1
        index.setdefault((bkey, "", room), (pk, bid, grid))
    for loose, count in no_unit.items():
        if count > 1:
            index.pop(loose, None)
    return index


def _baseline(person: dict[str, Any], name: str) -> tuple[str, Any]:
    """The registry's own value of a field that no source has stated yet."""
    if name in _NO_BASELINE:
        return "", None
    if name == "id_number":
        return person["id_number_bidx"], None
    if name == "phone":
        return person["phone_bidx"], None
    if name == "residence":
        return (f"room:{person['room_id']}", None) if person["room_id"] else ("", None)
    if name == "is_deceased":
        return ("1", True) if person["is_deceased"] else ("", None)
    return _text(person[name]), person[name]


_PERSON_COLUMNS = (
    "id", "name", "id_number_bidx", "id_number_enc", "birth_date", "sex", "phone_bidx", "phone_enc", "hukou",
    "ethnicity", "room_id", "building_id", "grid_id", "is_deceased", "deceased_on", "updated_at",
    "id_number_masked", "phone_masked",
)


def _load_persons(ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), chunk_size()):
        for row in Person.objects.filter(among("pk", ordered[start:start + chunk_size()])).values(*_PERSON_COLUMNS):
            found[row["id"]] = row
    return found


def _load_winners(ids: set[int]) -> dict[tuple[int, str], Winner]:
    found: dict[tuple[int, str], Winner] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), chunk_size()):
        for pk, person_id, name, value, prec, observed, source_id, masked in FieldProvenance.objects.filter(
            among("person_id", ordered[start:start + chunk_size()]), won=True,
        ).values_list("id", "person_id", "field", "value", "precedence", "observed_at", "source_id", "value_masked"):
            found[(person_id, name)] = Winner(value, prec, observed, pk, source_id, pk, masked=masked)
    return found


def _person_values(person: dict[str, Any]) -> persist.PersonValues:
    return persist.PersonValues(
        name=person["name"],
        id_number=pii.decrypt(person["id_number_enc"], field=PII_ID_NUMBER) if person["id_number_enc"] else "",
        phone=pii.decrypt(person["phone_enc"], field=PII_PHONE) if person["phone_enc"] else "",
        birth_date=person["birth_date"], sex=person["sex"], hukou=person["hukou"], ethnicity=person["ethnicity"],
        room_id=person["room_id"], building_id=person["building_id"], grid_id=person["grid_id"],
        is_deceased=person["is_deceased"], deceased_on=person["deceased_on"],
    )


def apply_value(values: persist.PersonValues, obs_field: str, plain: Any) -> None:
    """Set one fused field on the registry columns of a person."""
    if obs_field == "residence":
        values.room_id, values.building_id, values.grid_id = plain
    elif obs_field == "disability_grade":
        return  # lives on the disabled tag (see persist_plan)
    elif obs_field == "is_deceased":
        values.is_deceased = bool(plain)
    elif hasattr(values, obs_field):
        setattr(values, obs_field, plain)


def grid_assignees() -> dict[int, int]:
    """Grid id → the responsible grid worker: the primary (A角), else a backup (B角)."""
    chosen: dict[int, tuple[bool, str, int]] = {}
    for area_id, user_id, kind, username in AreaAssignment.objects.filter(
        user__role=Role.GRID_WORKER, user__is_active=True,
        kind__in=[AssignmentKind.PRIMARY, AssignmentKind.BACKUP],
    ).values_list("area_id", "user_id", "kind", "user__username"):
        rank = (kind != AssignmentKind.PRIMARY, username, user_id)
        if area_id not in chosen or rank < chosen[area_id]:
            chosen[area_id] = rank
    return {area: rank[2] for area, rank in chosen.items()}


def _is_rejected(row: dict[str, Any]) -> str:
    """Why a whole row is refused ('' when it is fused): no name, or nothing to identify by."""
    if not row.get("name"):
        return "name"
    if not row.get("id_number") and row.get("birth_date") is None and not row.get("phone"):
        return "id_number"
    return ""


def build_plan(
    *,
    source: Source,
    definition: Any,
    norm: Normalised,
    decisions: Sequence[Decision | None] | None,
    indices: Sequence[int],
    observed_at: datetime,
    report: ImportReport,
    grids: Sequence[int] | None = None,
) -> Plan:
    """Decide every write: records, new persons, provenance, winners, reviews, tasks.
    ``grids``: the import's area (rooms outside it are not resolved)."""
    plan = Plan()
    authoritative: dict[str, int] = dict(getattr(definition, "authoritative", {}) or {})
    if "address" in authoritative and "residence" not in authoritative:
        authoritative["residence"] = authoritative["address"]
    rows = norm.frame.to_dicts()
    rooms = room_index(grids)
    existing_ids = {d.person_id for d in (decisions or []) if d is not None and d.person_id is not None
                    and d.outcome == MatchOutcome.SAME}
    persons = _load_persons(existing_ids)
    winners = _load_winners(existing_ids)
    assignees = grid_assignees()
    open_tasks = set(VerificationTask.objects.filter(among("person_id", sorted(existing_ids)), status=TaskStatus.OPEN)
                     .values_list("person_id", "field")) if existing_ids else set()
    tag_rules = list(getattr(definition, "tags", []) or [])
    pii_columns = _pii_columns(definition)
    sealer = persist.Sealer()
    source_id = source.pk
    unsure: list[tuple[int, Obs, Winner, int, int]] = []

    def conflict(person_id: int, obs: Obs, current: Winner, row_number: int) -> None:
        report.conflicts += 1
        key = (person_id, "residence" if obs.field == "residence" else obs.field)
        if key not in open_tasks:
            open_tasks.add(key)
            grid_id = persons[person_id]["grid_id"]
            plan.tasks.append({
                "person": person_id, "field": obs.field, "grid": grid_id,
                "assignee": assignees.get(grid_id) if grid_id else None,
                "evidence": _evidence(obs, current, source, row_number),
            })

    for position, index in enumerate(indices):
        row = rows[index]
        row_number = int(row.get("row_number") or 0)
        sheet = norm.sheets[index]
        raw = dict(norm.raw[index])
        for column, bound in pii_columns.items():
            if column in raw:
                raw[f"{column}_enc"] = sealer.seal(raw.pop(column), field=bound)
        errors = [(e["column"], reason_message(e["code"])) for e in (row.get("errors") or [])]
        record: dict[str, Any] = {
            "row_number": row_number, "sheet": sheet, "raw": raw, "raw_hash": norm.hashes[index],
            "person": None, "outcome": "", "how": "", "score": 0.0, "status": RecordStatus.ACCEPTED,
            "rejected_reasons": [{"column": c, "reason": r} for c, r in errors],
            "cluster": "", "stated": {},
        }
        plan.records.append(record)
        missing = _is_rejected(row)
        if missing:
            column = next((c for c, m in definition.columns.items() if m.field == missing), missing)
            reason = next((r for c, r in errors if c == column), _("缺少姓名") if missing == "name"
                          else _("身份证号、出生日期、电话均缺失,无法识别人员"))
            record["status"] = RecordStatus.REJECTED
            record["rejected_reasons"] = [{"column": column, "reason": reason}, *[
                {"column": c, "reason": r} for c, r in errors if c != column]]
            report.rejected += 1
            report.rejected_rows.append(RejectedRow(row_number, sheet, column, reason))
            continue
        for column, reason in errors:
            report.rejected_rows.append(RejectedRow(row_number, sheet, column, reason, rejected=False))
        decision = decisions[index] if decisions is not None else None
        if decision is None:
            continue
        record.update(outcome=decision.outcome, how=decision.how, score=decision.score)
        if decision.outcome == MatchOutcome.REVIEW:
            record["status"] = RecordStatus.REVIEW
            report.review += 1
            plan.reviews.append({"record_index": len(plan.records) - 1, "candidate": decision.person_id,
                                 "score": decision.score, "evidence": decision.evidence})
            continue
        observations = observations_of(row, rooms)
        if decision.outcome == MatchOutcome.NEW:
            record["cluster"] = decision.cluster
            values = plan.new_persons.get(decision.cluster)
            if values is None:
                values = persist.PersonValues(name=row["name"])
                plan.new_persons[decision.cluster] = values
                report.new_persons += 1
            for obs in observations:
                precedence = authoritative.get(obs.field, DEFAULT_PRECEDENCE)
                plan.provenance.append({"cluster": decision.cluster, "record_index": len(plan.records) - 1,
                                        "obs": obs, "precedence": precedence, "won": False, "reason": ""})
            _tags_for(plan, tag_rules, row, norm.raw[index], cluster=decision.cluster, person_id=None, source=source,
                      observed_at=observed_at)
            continue
        # same person
        person_id = decision.person_id
        if person_id is None or person_id not in persons:
            continue
        report.matched[decision.how] = report.matched.get(decision.how, 0) + 1
        record["person"] = person_id
        person = persons[person_id]
        for obs in observations:
            precedence = authoritative.get(obs.field, DEFAULT_PRECEDENCE)
            current = winners.get((person_id, obs.field))
            if current is None:
                base_value, base_plain = _baseline(person, obs.field)
                current = Winner(base_value, DEFAULT_PRECEDENCE, person["updated_at"], -1, None, None, base_plain,
                                 masked=_baseline_masked(person, obs.field))
                winners[(person_id, obs.field)] = current
            incoming = Observation(obs.value, precedence, observed_at, position)
            held = Observation(current.value, current.precedence, current.observed_at, current.order)
            if is_conflict(obs.field, current=current.value, incoming=obs.value,
                           same_source=current.source_id == source_id):
                if current.source_id is None:
                    # The registry's value: a conflict unless this source stated it before
                    # (then it is correcting itself) — settled after the loop, in one query.
                    unsure.append((person_id, obs, current, row_number, len(plan.records) - 1))
                else:
                    conflict(person_id, obs, current, row_number)
            if obs.value == current.value and precedence <= current.precedence:
                # Says what the registry holds, with no more authority: kept on the record
                # (``stated``), not as a provenance row of its own.
                record["stated"][obs.field] = stated_value(obs)
                continue
            entry = {"person": person_id, "record_index": len(plan.records) - 1, "obs": obs,
                     "precedence": precedence, "won": False, "reason": ""}
            takes_over = obs.value != current.value and (
                (precedence, observed_at, position) >= (current.precedence, current.observed_at, current.order))
            if obs.value == current.value:
                # The same value from a source with more authority: it becomes the recorded winner.
                entry["won"], entry["reason"] = True, WinReason.AGREED
                if current.provenance_id is not None:
                    plan.unwin[current.provenance_id] = WinReason.AGREED
                elif current.new_index is not None:
                    plan.provenance[current.new_index]["won"] = False
                    plan.provenance[current.new_index]["reason"] = WinReason.AGREED
                winners[(person_id, obs.field)] = Winner(obs.value, precedence, observed_at, position, source_id,
                                                         None, obs.plain, len(plan.provenance), obs.masked)
            elif takes_over:
                entry["won"] = True
                entry["reason"] = WinReason.AUTHORITATIVE if precedence > current.precedence else WinReason.RECENCY
                if current.provenance_id is not None:
                    plan.unwin[current.provenance_id] = loser_reason(incoming, held)
                elif current.new_index is not None:
                    plan.provenance[current.new_index]["won"] = False
                    plan.provenance[current.new_index]["reason"] = loser_reason(incoming, held)
                values = plan.person_updates.get(person_id) or _person_values(person)
                plan.person_updates[person_id] = values
                apply_value(values, obs.field, obs.plain)
                plan.changed_fields.setdefault(person_id, set()).add(obs.field)
                winners[(person_id, obs.field)] = Winner(obs.value, precedence, observed_at, position, source_id,
                                                         None, obs.plain, len(plan.provenance), obs.masked)
            else:
                entry["reason"] = loser_reason(held, incoming)
            plan.provenance.append(entry)
        _tags_for(plan, tag_rules, row, norm.raw[index], cluster="", person_id=person_id, source=source, observed_at=observed_at)
    earlier = _stated_before(source, {u[0] for u in unsure})
    in_file: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)  # earlier rows of this file
    for at, rec in enumerate(plan.records):
        if rec["person"] is not None and rec["stated"]:
            in_file[rec["person"]].append((at, rec["stated"]))
    for person_id, obs, current, row_number, at in unsure:
        said = _said_before(earlier.get(person_id), obs.field, current.value) or any(
            _said_before(stated, obs.field, current.value) for before, stated in in_file.get(person_id, ())
            if before < at)
        if not said:
            conflict(person_id, obs, current, row_number)
    _settle_new_persons(plan)
    _keep_ids_unique(plan, persons)
    _fold_agreeing(plan)
    report.updated_persons = len(plan.changed_fields)
    report.updated_fields = sum(len(v) for v in plan.changed_fields.values())
    report.tasks_created = len(plan.tasks)
    report.rejected_rows.sort(key=lambda r: (r.sheet, r.row_number, not r.rejected))
    return plan


def stated_value(obs: Obs) -> Any:
    """What a record keeps of a value it states (no provenance row): the comparison key
    (a blind-index prefix for PII), with the masked form where staff see that."""
    key = obs.value[:STATED_PII_KEY] if obs.field in PII_FIELDS else obs.value
    return [key, obs.masked] if obs.masked else key


def stated_key(stated: Any) -> str:
    return str(stated[0] if isinstance(stated, list) else stated)


def _said_before(stated: dict[str, Any] | None, field_name: str, value: str) -> bool:
    """Whether this source's earlier row stated ``value`` (kept compactly on its record)."""
    if not stated or field_name not in stated:
        return False
    key = value[:STATED_PII_KEY] if field_name in PII_FIELDS else value
    return stated_key(stated[field_name]) == key


def _stated_before(source: Source, person_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Per person, what this source's earlier rows stated without a provenance row — to
    tell a source correcting itself from a conflict between sources."""
    found: dict[int, dict[str, Any]] = {}
    if not person_ids or source.pk is None:
        return found
    ordered = sorted(person_ids)
    for start in range(0, len(ordered), chunk_size()):
        for person_id, stated in SourceRecord.objects.filter(
            among("person_id", ordered[start:start + chunk_size()]), source=source,
        ).exclude(stated={}).values_list("person_id", "stated"):
            found.setdefault(person_id, {}).update(stated or {})
    return found


def _fold_agreeing(plan: Plan) -> None:
    """New persons: where every row of a cluster agrees on a field and none carries
    authority (precedence 0), the value is the registry's own — kept on the records
    (``stated``) instead of one provenance row per row and field."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in plan.provenance:
        if entry.get("cluster"):
            groups[(entry["cluster"], entry["obs"].field)].append(entry)
    folded: set[int] = set()
    for entries in groups.values():
        first = entries[0]["obs"].value
        if all(e["obs"].value == first and e["precedence"] <= DEFAULT_PRECEDENCE and e["reason"] != WinReason.ID_TAKEN
               for e in entries):
            for e in entries:
                plan.records[e["record_index"]]["stated"][e["obs"].field] = stated_value(e["obs"])
                folded.add(id(e))
    if folded:
        plan.provenance = [e for e in plan.provenance if id(e) not in folded]


def _keep_ids_unique(plan: Plan, persons: dict[int, dict[str, Any]]) -> None:
    """An ID number already registered to someone else is never copied onto another person:
    the value stays in the provenance (not won) and the registry keeps its own."""
    winning = [e for e in plan.provenance if e["won"] and e["obs"].field == "id_number"]
    if not winning:
        return
    owners: dict[str, int] = {}
    wanted = sorted({e["obs"].value for e in winning})
    for start in range(0, len(wanted), chunk_size()):
        owners.update(Person.objects.filter(among("id_number_bidx", wanted[start:start + chunk_size()], sql_type="text"))
                      .values_list("id_number_bidx", "id"))
    for entry in winning:
        owner = owners.get(entry["obs"].value)
        person_id = entry.get("person")
        if owner is None or owner == person_id:
            continue
        entry["won"], entry["reason"] = False, WinReason.ID_TAKEN
        if person_id is None:
            plan.new_persons[entry["cluster"]].id_number = ""
        else:
            plan.person_updates[person_id].id_number = _person_values(persons[person_id]).id_number
            plan.changed_fields.get(person_id, set()).discard("id_number")
            if not plan.changed_fields.get(person_id):
                plan.changed_fields.pop(person_id, None)


def _evidence(obs: Obs, current: Winner, source: Source, row_number: int) -> dict[str, Any]:
    """What the task shows: the incoming value and what the registry holds — personal
    identifiers only masked (the blind index is never put in the evidence)."""
    def shown(value: str, masked: str) -> str:
        return masked if obs.field in PII_FIELDS or obs.field == "residence" else value

    return {
        "field": obs.field,
        "incoming": {"source": source.code, "department": source.department, "row": row_number,
                     "value": shown(obs.value, obs.masked)},
        "current": {"source_id": current.source_id, "value": "" if obs.field in PII_FIELDS else current.value,
                    "masked": shown(current.value, current.masked)},
    }


def _baseline_masked(person: dict[str, Any], name: str) -> str:
    """The registry's own value of a personal field, masked as the registry stores it."""
    if name == "id_number":
        return str(person.get("id_number_masked") or "")
    if name == "phone":
        return str(person.get("phone_masked") or "")
    return ""


def _settle_new_persons(plan: Plan) -> None:
    """Pick each new person's values among its rows (precedence, then the later row)."""
    best: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(plan.provenance):
        cluster = entry.get("cluster")
        if not cluster:
            continue
        key = (cluster, entry["obs"].field)
        held = best.get(key)
        if held is None or entry["precedence"] >= plan.provenance[held]["precedence"]:
            best[key] = i
    for (cluster, obs_field), i in best.items():
        entry = plan.provenance[i]
        entry["won"], entry["reason"] = True, WinReason.ONLY
        apply_value(plan.new_persons[cluster], obs_field, entry["obs"].plain)
    for entry in plan.provenance:
        if entry.get("cluster") and not entry["won"]:
            winner = plan.provenance[best[(entry["cluster"], entry["obs"].field)]]
            entry["reason"] = WinReason.AGREED if winner["obs"].value == entry["obs"].value else WinReason.OUTRANKED
            if entry["reason"] != WinReason.AGREED:
                winner["reason"] = WinReason.AUTHORITATIVE if winner["precedence"] > entry["precedence"] else WinReason.RECENCY
            elif winner["reason"] == WinReason.ONLY:
                winner["reason"] = WinReason.AGREED


def _tags_for(plan: Plan, rules: Sequence[Any], row: dict[str, Any], raw: dict[str, str], *, cluster: str,
              person_id: int | None, source: Source, observed_at: datetime) -> None:
    for rule in rules:
        value = (raw.get(rule.column) or "").strip()
        if not value or (rule.values and value not in rule.values):
            continue
        kind = str(rule.kind)
        if kind not in TagKind.values:
            continue
        valid_from = row.get("valid_from") or observed_at.date()
        note = ""
        if kind == TagKind.DISABLED and row.get("disability_grade") is not None:
            note = f"{int(row['disability_grade'])}级"
        plan.tags.append({"cluster": cluster, "person": person_id, "kind": kind, "source": source.department,
                          "valid_from": valid_from, "valid_to": row.get("valid_to"), "note": note})


# --- stage 5: persist ------------------------------------------------------------------


def persist_plan(
    *, plan: Plan, source: Source, job_id: int | None, observed_at: datetime,
    record_ids: Sequence[int] | None = None, record_status: str | None = None,
) -> dict[str, int]:
    """Apply the plan with bulk writes; runs inside the caller's transaction.

    With ``record_ids`` the plan's records exist already (review decisions, splits): they are
    re-pointed at their person instead of inserted. Returns new-person cluster → id.
    """
    cluster_ids = dict(zip(plan.new_persons, persist.persons_bulk_create(list(plan.new_persons.values()), now=observed_at),
                           strict=True))
    stamp = db_value(observed_at)

    def person_of(rec: dict[str, Any]) -> int | None:
        if rec["person"] is not None:
            return int(rec["person"])
        return cluster_ids.get(rec["cluster"]) if rec["cluster"] else None

    if record_ids is None:
        record_ids = reserve_ids(SourceRecord, len(plan.records))
        rows = [
            (pk, stamp, stamp, job_id, source.pk, rec["row_number"], rec["sheet"][:100], _json(rec["raw"]),
             rec["raw_hash"], person_of(rec), rec["outcome"], rec["how"], rec["score"], rec["status"],
             _json(rec["rejected_reasons"]), _json(rec.get("stated") or {}))
            for pk, rec in zip(record_ids, plan.records, strict=True)
        ]
        bulk_insert(SourceRecord, ("id", "created_at", "updated_at", "job", "source", "row_number", "sheet",
                                   "raw", "raw_hash", "person", "outcome", "how", "score", "status",
                                   "rejected_reasons", "stated"), rows)
    else:
        for pk, rec in zip(record_ids, plan.records, strict=True):
            SourceRecord.objects.filter(pk=pk).update(
                person_id=person_of(rec), status=record_status or rec["status"], updated_at=observed_at,
                stated=rec.get("stated") or {},
            )
    by_reason: dict[str, list[int]] = defaultdict(list)
    for pk, reason in plan.unwin.items():
        by_reason[reason].append(pk)
    for reason, pks in by_reason.items():
        for start in range(0, len(pks), chunk_size()):
            FieldProvenance.objects.filter(among("pk", pks[start:start + chunk_size()])).update(won=False, reason=reason)
    prov_rows = []
    sealer = persist.Sealer()
    bound = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
    for entry in plan.provenance:
        obs: Obs = entry["obs"]
        person = entry.get("person") or cluster_ids[entry["cluster"]]
        enc = obs.enc or (sealer.seal(str(obs.plain), field=bound[obs.field]) if obs.field in bound else "")
        prov_rows.append((person, obs.field, source.pk, record_ids[entry["record_index"]], obs.value[:300], enc,
                          obs.masked[:300], stamp, entry["precedence"], entry["won"], entry["reason"]))
    bulk_insert(FieldProvenance, ("person", "field", "source", "record", "value", "value_enc", "value_masked",
                                          "observed_at", "precedence", "won", "reason"), prov_rows)
    persist.persons_bulk_update(list(plan.person_updates.items()), now=observed_at)
    _persist_tags(plan, cluster_ids)
    MatchReview.objects.bulk_create([
        MatchReview(record_id=record_ids[r["record_index"]], candidate_id=r["candidate"], score=r["score"],
                    evidence=r["evidence"], status=ReviewStatus.OPEN)
        for r in plan.reviews
    ], batch_size=2000)
    VerificationTask.objects.bulk_create([
        VerificationTask(person_id=t["person"], field=t["field"], grid_id=t["grid"], assignee_id=t["assignee"],
                         job_id=job_id, evidence=t["evidence"])
        for t in plan.tasks
    ], batch_size=2000)
    return cluster_ids


def _persist_tags(plan: Plan, cluster_ids: dict[str, int]) -> None:
    if not plan.tags:
        return
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for tag in plan.tags:
        person = tag["person"] or cluster_ids[tag["cluster"]]
        wanted[(person, tag["kind"])] = tag
    persons = sorted({p for p, _k in wanted})
    have: dict[tuple[int, str], PersonTag] = {}
    for start in range(0, len(persons), chunk_size()):
        for tag_row in PersonTag.objects.filter(among("person_id", persons[start:start + chunk_size()])).filter(
            Q(valid_to__isnull=True),
        ):
            have[(tag_row.person_id, tag_row.kind)] = tag_row
    create = []
    update = []
    for (person, kind), tag in wanted.items():
        current = have.get((person, kind))
        if current is None:
            valid_to = tag["valid_to"] if tag["valid_to"] and tag["valid_to"] >= tag["valid_from"] else None
            create.append(PersonTag(person_id=person, kind=kind, source=tag["source"], valid_from=tag["valid_from"],
                                    valid_to=valid_to, note=tag["note"]))
        elif tag["note"] and current.note != tag["note"]:
            current.note = tag["note"]
            update.append(current)
    PersonTag.objects.bulk_create(create, batch_size=5000)
    PersonTag.objects.bulk_update(update, ["note"], batch_size=5000)


def _json(value: Any) -> Any:
    # psycopg's COPY takes JSON as text; SQLite stores text as well.
    return json.dumps(value, ensure_ascii=False)


# --- the rejected-rows file ------------------------------------------------------------


def write_rejected_file(report: ImportReport, raw_by_row: dict[tuple[str, int], dict[str, str]], path: Path) -> Path:
    """The rejected rows (and dropped values) as a CSV (UTF-8 with BOM, opens in Excel).

    It holds the rows' values as sent (ID numbers, phones): readable by the service's own
    user only (0600, folder 0700); staff get it through the audited download service.
    """
    import csv
    import os

    columns: list[str] = []
    for row in raw_by_row.values():
        for c in row:
            if c not in columns:
                columns.append(c)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT: set it anyway
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_("行号"), _("工作表"), _("处理"), _("列"), _("原因"), *columns])
        for item in report.rejected_rows:
            raw = raw_by_row.get((item.sheet, item.row_number), {})
            writer.writerow([item.row_number, item.sheet, _("整行拒收") if item.rejected else _("该值未采用"),
                             item.column, item.reason, *(neutralise_cell(raw.get(c, "")) for c in columns)])
    return path


def vendor() -> str:
    return connection.vendor


__all__ = ["FUSED_FIELDS", "ImportReport", "Plan", "RejectedRow"]
