"""Review decisions and splitting a wrong merge: no source record is ever lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Users
from linli.core.errors import NotFound
from linli.fusion.choices import RecordStatus, ReviewStatus
from linli.fusion.models import FieldProvenance, MatchReview, Source, SourceRecord
from linli.fusion.selectors import person_provenance, review_queue_for_user
from linli.fusion.services import import_run, person_split, review_accept, review_reject
from linli.fusion.tests.test_services import (
    ID_WANG,
    MINZHENG_HEADER,
    SYSTEM,
    ZONGZHI_HEADER,
    Street,
    minzheng_rows,
    street,  # noqa: F401 -- fixture
    write_csv,
)
from linli.registry.models import Person


@pytest.fixture(params=["bulk_create", "copy"])
def review(street: Street, tmp_path: Path, request: pytest.FixtureRequest,  # noqa: F811 -- uses the fixture
           monkeypatch: pytest.MonkeyPatch) -> MatchReview:
    # a district import writes its reviews by COPY; the review must work the same either way
    from linli.fusion import persist
    monkeypatch.setattr(persist, "_COPY_WORK_FROM", 0 if request.param == "copy" else 10**9)
    rows = [["赵强", ID_WANG, "", "1960-06-06", "13700001111", "", "", "", "", ""]]
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, rows))
    return MatchReview.objects.get()


def test_street_staff_sees_review_queue_and_grid_worker_does_not(review: MatchReview, users: Users) -> None:
    # when / then
    assert list(review_queue_for_user(user=users.street)) == [review]
    assert list(review_queue_for_user(user=users.grid_worker_a1)) == []
    assert list(review_queue_for_user(user=users.community_b)) == []


def test_accepting_a_review_links_the_record_and_records_provenance(review: MatchReview, users: Users,
                                                                     street: Street) -> None:  # noqa: F811
    # when
    person = review_accept(actor=users.street, review=review)
    # then
    assert person == street.wang
    record = SourceRecord.objects.get(pk=review.record_id)
    assert record.person == street.wang
    assert record.status == RecordStatus.ACCEPTED
    review.refresh_from_db()
    assert review.status == ReviewStatus.ACCEPTED
    assert review.decided_by == users.street
    assert FieldProvenance.objects.filter(record=record, person=street.wang, field="name").exists()


def test_rejecting_a_review_creates_a_new_person(review: MatchReview, users: Users, street: Street) -> None:  # noqa: F811
    # given
    before = Person.objects.count()
    # when
    person = review_reject(actor=users.street, review=review)
    # then
    assert Person.objects.count() == before + 1
    assert person.name == "赵强"
    assert person.id_number_bidx == ""  # Wang's ID stays with Wang
    assert SourceRecord.objects.get(pk=review.record_id).person == person
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED


def test_a_decided_review_cannot_be_decided_again(review: MatchReview, users: Users) -> None:
    from linli.core.errors import ApplicationError

    # given
    review_accept(actor=users.street, review=review)
    # when / then
    with pytest.raises(ApplicationError):
        review_reject(actor=users.street, review=review)


def test_other_area_user_cannot_decide_a_review(review: MatchReview, users: Users) -> None:
    # when / then
    with pytest.raises(NotFound):
        review_accept(actor=users.grid_worker_b1, review=review)


def test_split_moves_records_to_a_new_person_and_loses_none(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given: Wang fused from 民政 and 综治 (which put Wang in 502)
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()[:1]))
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="zongzhi"), dry_run=False,
               file_path=write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                                   [["王芳", ID_WANG, "男", "1980-01-01", "", "江城花园3幢1单元502室", "汉族"]]))
    records_before = SourceRecord.objects.count()
    zongzhi_record = SourceRecord.objects.get(source__code="zongzhi")
    street.wang.refresh_from_db()
    assert street.wang.room_id == street.room_a1_other.pk
    # when
    new_person = person_split(actor=users.street, person=street.wang, records=[zongzhi_record])
    # then
    assert SourceRecord.objects.count() == records_before
    zongzhi_record.refresh_from_db()
    assert zongzhi_record.person == new_person
    assert zongzhi_record.status == RecordStatus.SPLIT
    assert SourceRecord.objects.get(source__code="minzheng").person == street.wang
    street.wang.refresh_from_db()
    assert street.wang.room_id == street.room_a1.pk  # winner recomputed from 民政's remaining value
    assert new_person.room_id == street.room_a1_other.pk
    assert not FieldProvenance.objects.filter(person=street.wang, record=zongzhi_record).exists()


def test_split_refuses_taking_every_record(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    from linli.core.errors import ValidationFailed

    # given
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()[:1]))
    # when / then
    with pytest.raises(ValidationFailed):
        person_split(actor=users.street, person=street.wang, records=list(SourceRecord.objects.all()))


def test_provenance_tells_which_source_said_what_and_who_won(street: Street, users: Users, tmp_path: Path) -> None:  # noqa: F811
    # given
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="minzheng"), dry_run=False,
               file_path=write_csv(tmp_path / "mz.csv", MINZHENG_HEADER, minzheng_rows()[:1]))
    import_run(actor=SYSTEM, area=street.tree.street, source=Source.objects.get(code="zongzhi"), dry_run=False,
               file_path=write_csv(tmp_path / "zz.csv", ZONGZHI_HEADER,
                                   [["王芳", ID_WANG, "男", "1980-01-01", "", "江城花园3幢1单元502室", "汉族"]]))
    # when
    history = {h.field: h for h in person_provenance(user=users.community_a, person_id=street.wang.pk)}
    # then
    residence = history["residence"]
    assert [v.source for v in residence.values] == ["zongzhi", "minzheng"]
    assert residence.values[0].won
    assert residence.values[0].reason == "authoritative"
    assert not residence.values[1].won
    assert "****" in history["id_number"].current
    with pytest.raises(NotFound):
        person_provenance(user=users.community_b, person_id=street.wang.pk)
