# ruff: noqa: F811 -- the street fixture is imported and used as a parameter
"""Issue 17, order independence: a row without a usable ID number that an earlier import
made a person of is matched again against the persons a later import creates or changes
(the re-link pass), so A then B links as B then A does; a doubtful case goes to review; a
second run changes nothing; a wrong merge is undone by the split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from linli.core.models import AuditEntry
from linli.fusion.choices import ReviewStatus
from linli.fusion.models import FieldProvenance, MatchReview, Source, SourceRecord
from linli.fusion.services import (
    import_run,
    person_split,
    relink_after_import,
    review_accept,
    review_reject,
    source_save,
)
from linli.fusion.tests.test_address_evidence import ADDRESS_ONLY, ID_QIAN, ID_QIAN2, ID_ZHAO
from linli.fusion.tests.test_services import (
    MINZHENG_HEADER,
    SYSTEM,
    Street,
    make_id,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.fusion.workflow import relink_verdict
from linli.registry.choices import HukouStatus
from linli.registry.models import Person
from linli.registry.services import person_create


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _row(name: str, id_number: str, sex: str, address: str, birth: str = "") -> list[str]:
    return [name, id_number, sex, birth, "", address, "", "", "", ""]


def _with_id(street: Street, tmp_path: Path, rows: list[list[str]], name: str = "mz.csv") -> Any:
    return import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"),
                      dry_run=False, file_path=write_csv(tmp_path / name, MINZHENG_HEADER, rows))


def _address_only(street: Street, tmp_path: Path, rows: list[list[str]], name: str = "xc.csv") -> Any:
    source = source_save(actor=SYSTEM, definition=ADDRESS_ONLY)
    return import_run(actor=SYSTEM, area=street.tree.street, source=source, dry_run=False,
                      file_path=write_csv(tmp_path / name, ["姓名", "性别", "住址"], rows))


# The ID list states no address; the later one does (and a changed phone): the address-only
# row can only meet its person through the second.
ID_ROWS = [_row("赵无处", ID_ZHAO, "男", "", "1970-07-07"),
           _row("孙丽", make_id("33010219660606008"), "女", "", "1966-06-06")]
ID_ROWS_LATER = [_row("赵无处", ID_ZHAO, "男", "清禾路12号3栋2单元502室", "1970-07-07"),
                 _row("孙丽", make_id("33010219660606008"), "女", "清禾路12号3栋2单元601室", "1966-06-06")]
LOOSE_ROWS = [["赵无处", "男", "清禾路12-3-2-502"], ["孙丽", "女", "清禾路12号3幢2单元601"],
              ["周末", "男", "清禾路12-3-2-301"]]


def _register(name: str, id_number: str, street: Street) -> Person:
    return person_create(actor=SYSTEM, name=name, id_number=id_number, phone=None, hukou=HukouStatus.LOCAL,
                         grid=street.tree.grid_a1)


def _links() -> set[frozenset[tuple[str, int]]]:
    """Which rows share a person, whatever the person's id."""
    groups: dict[int, set[tuple[str, int]]] = {}
    for code, file_name, row, person in SourceRecord.objects.values_list(
            "source__code", "job__file_name", "row_number", "person_id"):
        groups.setdefault(person, set()).add((f"{code}/{file_name}", row))
    return {frozenset(g) for g in groups.values()}


EXPECTED = {frozenset({("minzheng/mz.csv", 2), ("minzheng/mz2.csv", 2), ("anquan_xuncha/xc.csv", 2)}),
            frozenset({("minzheng/mz.csv", 3), ("minzheng/mz2.csv", 3), ("anquan_xuncha/xc.csv", 3)}),
            frozenset({("anquan_xuncha/xc.csv", 4)})}


@pytest.mark.parametrize("order", ["address_list_first", "address_list_last"])
def test_either_import_order_gives_the_same_links(street: Street, tmp_path: Path, order: str) -> None:
    # given a list with only name, sex and address, and two lists with IDs about the same people
    persons = Person.objects.count()
    # when the address list comes first or last
    if order == "address_list_first":
        _address_only(street, tmp_path, LOOSE_ROWS)
    _with_id(street, tmp_path, ID_ROWS)
    _with_id(street, tmp_path, ID_ROWS_LATER, "mz2.csv")
    if order == "address_list_last":
        _address_only(street, tmp_path, LOOSE_ROWS)
    # then the same rows share a person, and three persons were added, not five
    assert _links() == EXPECTED
    assert Person.objects.count() == persons + 3


def test_a_row_without_id_is_linked_when_its_person_arrives_later(street: Street, tmp_path: Path) -> None:
    # given a person made of a name + sex + address row, and the same person registered
    # later by a clerk with the ID number but no address (nothing to tell they are one)
    _address_only(street, tmp_path, [["赵无处", "男", "清禾路12-3-2-502"]])
    loose = Person.objects.get(name="赵无处")
    record = SourceRecord.objects.get(person=loose)
    _register("赵无处", ID_ZHAO, street)
    # when a later list gives that person (found by ID) the address
    report = _with_id(street, tmp_path, [ID_ROWS_LATER[0]], "mz2.csv")
    # then the two are one person (the one with the ID), with the row's provenance, audited
    assert report.relinked == 1
    assert not Person.objects.filter(pk=loose.pk).exists()
    zhao = Person.objects.get(name="赵无处")
    assert zhao.id_number_bidx
    record.refresh_from_db()
    assert (record.person_id, record.outcome) == (zhao.pk, "same")
    # (its address agreed with the winner: kept as stated on the record, or as provenance)
    assert "address" in record.stated or FieldProvenance.objects.filter(
        person=zhao, record=record, field="address").exists()
    assert AuditEntry.objects.filter(action="fusion.relink", target_id=str(zhao.pk)).count() == 1
    # and the split undoes it: the row is a person of its own again
    split = person_split(actor=SYSTEM, person=zhao, records=[record])
    assert SourceRecord.objects.get(pk=record.pk).person_id == split.pk
    assert Person.objects.filter(name="赵无处").count() == 2
    # and a later import does not merge back what a person split
    _with_id(street, tmp_path, [_row("赵无处", ID_ZHAO, "男", "清禾路12号3栋2单元502室", "1970-07-08")], "mz3.csv")
    assert SourceRecord.objects.get(pk=record.pk).person_id == split.pk


def test_a_doubtful_relink_goes_to_review_and_is_not_asked_twice(street: Street, tmp_path: Path) -> None:
    # given a person made of a name + sex + address row
    _address_only(street, tmp_path, [["钱进", "男", "清禾苑5-1-301"]])
    loose = Person.objects.get(name="钱进")
    # when two men of that name (father and son, registered by a clerk) are put at that
    # address by a list
    _register("钱进", ID_QIAN, street)
    _register("钱进", ID_QIAN2, street)
    report = _with_id(street, tmp_path, [_row("钱进", ID_QIAN, "男", "清禾苑5幢1单元301室"),
                                         _row("钱进", ID_QIAN2, "男", "清禾苑5幢1单元301室")], "mz2.csv")
    # then nothing is merged by guess: one review of the loose person's row
    assert report.relinked == 0
    assert report.review == 1
    review = MatchReview.objects.get(status=ReviewStatus.OPEN)
    assert review.record.person_id == loose.pk
    assert review.candidate_id in set(Person.objects.filter(name="钱进").exclude(pk=loose.pk).values_list(
        "pk", flat=True))
    # when the pass runs again (another import, or directly) nothing new is created
    persons, reviews = Person.objects.count(), MatchReview.objects.count()
    again = relink_after_import(actor=SYSTEM, job_id=review.record.job_id, grids=None, now=review.created_at)
    assert (again.merged, again.reviews) == ([], 0)
    _with_id(street, tmp_path, [_row("钱进", ID_QIAN, "男", "清禾苑5幢1单元301室", "1972-03-03")], "mz3.csv")
    assert (Person.objects.count(), MatchReview.objects.count()) == (persons, reviews)


def test_a_relink_review_accepted_merges_rejected_keeps_both(street: Street, tmp_path: Path) -> None:
    _address_only(street, tmp_path, [["钱进", "男", "清禾苑5-1-301"]])
    loose = Person.objects.get(name="钱进")
    _register("钱进", ID_QIAN, street)
    _register("钱进", ID_QIAN2, street)
    _with_id(street, tmp_path, [_row("钱进", ID_QIAN, "男", "清禾苑5幢1单元301室"),
                                _row("钱进", ID_QIAN2, "男", "清禾苑5幢1单元301室")], "mz2.csv")
    review = MatchReview.objects.get(status=ReviewStatus.OPEN)
    # a rejection keeps the loose person as they are
    kept = review_reject(actor=SYSTEM, review=review)
    assert kept.pk == loose.pk
    assert Person.objects.filter(name="钱进").count() == 3
    # an accepted one merges the loose person into the candidate
    review.status = ReviewStatus.OPEN
    MatchReview.objects.filter(pk=review.pk).update(status=ReviewStatus.OPEN)
    merged = review_accept(actor=SYSTEM, review=review)
    assert merged.pk == review.candidate_id
    assert not Person.objects.filter(pk=loose.pk).exists()
    assert SourceRecord.objects.get(pk=review.record_id).person_id == merged.pk


def test_the_verdict_merges_only_one_sure_person() -> None:
    assert relink_verdict([("same", 7, 20.0), ("new", None, 0.0)]).action == "merge"
    assert relink_verdict([("same", 7, 20.0), ("same", 8, 25.0)]).action == "review"
    assert relink_verdict([("same", 7, 20.0), ("review", 8, 9.0)]).action == "review"
    assert relink_verdict([("review", 8, 9.0)]).person_id == 8
    assert relink_verdict([("new", None, 0.0)]).action == ""
