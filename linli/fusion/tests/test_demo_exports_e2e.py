"""End to end: the six departmental exports of the demo street, imported with the source
definitions under version control, against the generator's truth.

The demo street is seeded and its exports drawn from the same seed and size, so the
generator's ``person_id`` of each export row is the registry id of the person it describes.
Runs in about half a minute on SQLite (1,500 residents, ~5,000 export rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from linli.core.actors import SystemActor
from linli.demo.exports import generate_exports
from linli.demo.services import demo_seed
from linli.fusion.choices import RecordStatus
from linli.fusion.models import FieldProvenance, MatchReview, Source, SourceRecord, VerificationTask
from linli.fusion.services import import_run, sources_sync
from linli.registry.models import Person, PersonTag

SEED = 2026
RESIDENTS = 1500
# Import order: the lists closest to the household register first.
ORDER = ("jisheng", "zongzhi", "liudong", "minzheng", "canlian", "chengguan")

pytestmark = pytest.mark.django_db


def _append_bad_rows(path: Path) -> int:
    """Two rows a department really sends: one without a name, one with nothing but a name.
    Returns the data-row number (truth numbering) of the first."""
    text = path.read_text("utf-8")
    rows = text.count("\n") - 1
    header = text.split("\n", 1)[0].split(",")
    nameless = ["9001" if h == "序号" else "330102199001011237" if h == "公民身份号码" else "" for h in header]
    name_only = ["9002" if h == "序号" else "无证人" if h == "姓名" else "" for h in header]
    path.write_text(text + ",".join(nameless) + "\n" + ",".join(name_only) + "\n", "utf-8")
    return rows + 1


def _import_all(out: Path, sources: dict[str, Source], actor: SystemActor) -> dict[str, Any]:
    reports = {}
    for code in ORDER:
        source = sources[code]
        path = out / f"{code}.{source.definition['format']}"
        reports[code] = import_run(actor=actor, source=source, file_path=path, dry_run=False)
    return reports


def _linked_rows() -> pl.DataFrame:
    """Source records keyed like the truth: the reader numbers rows as the spreadsheet shows
    them (the header is row 1), the truth numbers data rows from 1."""
    rows = list(SourceRecord.objects.values_list("source__code", "sheet", "row_number", "person_id", "status"))
    frame = pl.DataFrame(rows, schema={"source": pl.String, "sheet": pl.String, "row_number": pl.Int64,
                                       "linked": pl.Int64, "status": pl.String}, orient="row")
    return frame.with_columns(pl.col("row_number") - 1)


def test_the_demo_exports_fuse_into_the_seeded_registry(tmp_path):
    # given the seeded demo street, its six exports and the definitions under version control
    actor = SystemActor("test")
    demo_seed(actor=actor, residents=RESIDENTS, seed=SEED)
    seeded = set(Person.objects.values_list("id", flat=True))
    exports = generate_exports(seed=SEED, residents=RESIDENTS, out_dir=tmp_path)
    sources = {s.code: s for s in sources_sync(actor=actor)}
    truth = exports.truth.with_columns(pl.col("sheet").fill_null(""))
    bad_from = _append_bad_rows(tmp_path / "liudong.csv")

    # when every export is imported
    reports = _import_all(tmp_path, sources, actor)

    # then the two bad rows are rejected, each with its column and reason
    records = _linked_rows()
    bad = records.filter((pl.col("source") == "liudong") & (pl.col("row_number") >= bad_from))
    assert bad["status"].to_list() == [RecordStatus.REJECTED, RecordStatus.REJECTED]
    assert bad["linked"].null_count() == 2
    rejected = list(SourceRecord.objects.filter(status=RecordStatus.REJECTED).values_list("rejected_reasons", flat=True))
    assert all(reasons and all(r.get("column") and r.get("reason") for r in reasons) for reasons in rejected)
    assert sum(r.rejected for r in reports.values()) == len(rejected) >= 2
    assert {r.column for r in reports["liudong"].rejected_rows if r.rejected} >= {"姓名", "公民身份号码"}

    # and every other row is accounted for: one source record per distinct row
    records = records.filter(~((pl.col("source") == "liudong") & (pl.col("row_number") >= bad_from)))
    assert records.height >= truth.height * 0.99
    joined = truth.join(records, on=["source", "sheet", "row_number"], how="inner")
    assert joined.height == records.height

    # and the rows of registered people are linked to the very person the export describes
    known = joined.filter(pl.col("person_id").is_not_null() & (pl.col("status") != RecordStatus.REJECTED))
    right = known.filter(pl.col("linked") == pl.col("person_id")).height
    assert right / known.height >= 0.98, f"{right}/{known.height} rows linked to their true person"
    wrong = known.filter(pl.col("linked").is_not_null() & (pl.col("linked") != pl.col("person_id"))).height
    assert wrong / known.height < 0.005

    # and people who are not in the registry (living elsewhere, migrants who left) become new
    # persons, one per true entity mostly, never one of the seeded residents
    outsiders = joined.filter(pl.col("person_id").is_null() & pl.col("linked").is_not_null())
    assert outsiders.height > 0
    assert not set(outsiders["linked"].to_list()) & seeded
    created = Person.objects.exclude(id__in=seeded).count()
    entities = outsiders["entity"].n_unique()
    assert entities * 0.9 <= created <= entities * 1.2

    # and few rows wait for a human
    assert MatchReview.objects.count() < 0.01 * records.height

    # and a deliberate conflict of the exports became a verification task for its person
    conflicts = exports.conflicts.with_columns(
        pl.col("field").replace({"address": "residence"}))
    wanted = set(zip(conflicts["person_id"].to_list(), conflicts["field"].to_list(), strict=True))
    tasks = set(VerificationTask.objects.values_list("person_id", "field"))
    assert tasks & wanted


def test_importing_the_same_exports_again_changes_nothing(tmp_path):
    # given the demo street with its exports imported once
    actor = SystemActor("test")
    demo_seed(actor=actor, residents=RESIDENTS, seed=SEED)
    generate_exports(seed=SEED, residents=RESIDENTS, out_dir=tmp_path)
    sources = {s.code: s for s in sources_sync(actor=actor)}
    _import_all(tmp_path, sources, actor)
    before = (Person.objects.count(), FieldProvenance.objects.count(), SourceRecord.objects.count(),
              MatchReview.objects.count(), VerificationTask.objects.count())

    # when the same six files are imported again
    reports = _import_all(tmp_path, sources, actor)

    # then no person, provenance, record, review or task is added, and every row is unchanged
    after = (Person.objects.count(), FieldProvenance.objects.count(), SourceRecord.objects.count(),
             MatchReview.objects.count(), VerificationTask.objects.count())
    assert after == before
    assert all(r.new_persons == 0 and r.updated_fields == 0 for r in reports.values())
    assert sum(r.unchanged for r in reports.values()) == sum(r.rows_read for r in reports.values())


def _registry_state() -> dict[str, Any]:
    """What an import leaves behind, without the ids a second run would draw differently:
    persons by their seeded id or (new ones) by name, birth date and blind indexes."""
    seeded_key = {pk: ("seeded", pk) for pk in Person.objects.filter(source_records__isnull=True).values_list(
        "id", flat=True)}
    keys = {pk: seeded_key.get(pk, ("new", name, str(birth), idx, phone)) for pk, name, birth, idx, phone in
            Person.objects.values_list("id", "name", "birth_date", "id_number_bidx", "phone_bidx")}
    persons = sorted((keys[row[0]], *row[1:]) for row in Person.objects.values_list(
        "id", "name", "id_number_bidx", "phone_bidx", "birth_date", "sex", "hukou", "room_id", "is_deceased",
        "deceased_on"))
    records = sorted((s, sheet, n, keys.get(p) if p else None, status, outcome, how, json_text(stated))
                     for s, sheet, n, p, status, outcome, how, stated in SourceRecord.objects.values_list(
                         "source__code", "sheet", "row_number", "person_id", "status", "outcome", "how", "stated"))
    provenance = sorted((keys[p], f, s, sheet, n, v, won, reason) for p, f, s, sheet, n, v, won, reason in
                        FieldProvenance.objects.values_list("person_id", "field", "record__source__code",
                                                            "record__sheet", "record__row_number", "value", "won",
                                                            "reason"))
    tasks = sorted((keys[p], f, g, a, status, json_text(evidence), created is not None)
                   for p, f, g, a, status, evidence, created in VerificationTask.objects.values_list(
                       "person_id", "field", "grid_id", "assignee_id", "status", "evidence", "created_at"))
    reviews = sorted((s, n, keys.get(c) if c else None, score, status, json_text(evidence))
                     for s, n, c, score, status, evidence in MatchReview.objects.values_list(
                         "record__source__code", "record__row_number", "candidate_id", "score", "status",
                         "evidence"))
    tags = sorted((keys[p], kind, note) for p, kind, note in PersonTag.objects.values_list("person_id", "kind", "note"))
    return {"persons": persons, "records": records, "provenance": provenance, "tasks": tasks, "reviews": reviews,
            "tags": tags}


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def test_an_import_planned_in_slices_writes_what_a_whole_plan_writes(tmp_path, monkeypatch):
    # given a small street, its exports, and a fixed observation time for both runs
    from datetime import UTC, datetime

    from django.db import transaction

    from linli.fusion import persist as persist_module
    from linli.fusion import plan as plan_module

    actor = SystemActor("test")
    demo_seed(actor=actor, residents=400, seed=SEED)
    generate_exports(seed=SEED, residents=400, out_dir=tmp_path)
    sources = {s.code: s for s in sources_sync(actor=actor)}
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def run(slice_rows: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        monkeypatch.setattr(plan_module, "PLAN_SLICE_ROWS", slice_rows)
        # the sliced run also writes its reviews and tasks by COPY, the whole one by bulk_create
        monkeypatch.setattr(persist_module, "_COPY_WORK_FROM", 0 if slice_rows < 1000 else 10**9)
        state: dict[str, Any] = {}
        counts: list[dict[str, Any]] = []

        with transaction.atomic():
            for code in ("jisheng", "zongzhi", "liudong", "minzheng"):
                source = sources[code]
                report = import_run(actor=actor, source=source, dry_run=False, observed_at=at,
                                    file_path=tmp_path / f"{code}.{source.definition['format']}")
                counts.append({k: v for k, v in report.counts().items() if k != "rejected_rows"})
            state.update(_registry_state())
            transaction.set_rollback(True)  # undone, so that the next run starts from the same registry
        return state, counts

    # when the same files are imported planned whole, then (undone, again) in slices of 97 rows
    whole, whole_counts = run(10**9)
    sliced, sliced_counts = run(97)

    # then the registry, its provenance, records, tasks, reviews and tags are the same, as are the reports
    assert whole["records"], "the imports wrote nothing"
    assert whole["tasks"], "the imports opened no work to compare"
    assert sum(1 for p in whole["persons"] if p[0][0] == "new") > 0
    for part in whole:
        assert sliced[part] == whole[part], part
    assert sliced_counts == whole_counts
