"""Filing applications, instant decisions, the workflow with deadlines, scoping, sweeps."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import Tree
from linli.accounts.services import department_named
from linli.catalogue.choices import ApplicationAction as A
from linli.catalogue.choices import ApplicationStatus as S
from linli.catalogue.choices import CatalogueErrorCode
from linli.catalogue.models import Application, ApplicationFile
from linli.catalogue.selectors import (
    application_get_for_user,
    application_list_for_user,
    application_timeline,
    hall_statistics_for_user,
)
from linli.catalogue.services import (
    application_correct,
    application_overdue_sweep,
    application_prefill,
    application_save_draft,
    application_submit,
    application_transition,
    item_create,
    item_publish_version,
)
from linli.catalogue.tests.conftest import (
    ELDER_RULE,
    FORM,
    MATERIALS,
    CatalogueUsers,
    ItemFactory,
    PersonFactory,
    valid_data,
)
from linli.core import pii
from linli.core.calendar import SHANGHAI
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.notify.models import PII_ADDRESS, Delivery, Notification

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def jpeg(name: str = "id.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def stored_files(root: Path) -> list[Path]:
    return [p for p in (root / "files" / "applications").rglob("*") if p.is_file()]


# --- instant items --------------------------------------------------------------------------


def test_clerk_files_for_an_eligible_elder_and_it_is_approved_at_once(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given an instant item with the 80+ rule and an 86-year-old local resident
    version = publish(kind="instant", rules=ELDER_RULE)
    elder = make_person(birth=date(1940, 3, 1))
    clerk = cat_users.base.community_a
    prefill = application_prefill(user=clerk, version=version, person=elder)
    # when the window clerk submits the prefilled form
    app, created = application_submit(
        actor=clerk, version=version, applicant=elder, data=prefill, files={}, channel="window",
        idempotency_key="k1",
    )
    # then it is approved by the rule, with the explanation kept
    assert created
    assert app.status == S.APPROVED
    assert app.decision == "approved"
    assert app.rule_result is not None
    assert app.rule_result["passed"] is True
    assert [r["passed"] for r in app.rule_result["results"]] == [True, True, True]
    assert [e.action for e in application_timeline(application=app)] == [A.SUBMIT, A.INSTANT_DECIDE]


def test_prefill_masks_and_submission_restores_the_real_values_encrypted(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    version = publish()
    person = make_person()
    clerk = cat_users.base.community_a
    # when
    prefill = application_prefill(user=clerk, version=version, person=person)
    app, _ = application_submit(actor=clerk, version=version, applicant=person, data=prefill, channel="window")
    # then the form showed masks, and the stored data keeps the mask plus the ciphertext
    assert prefill["id_number"] == person.id_number_masked
    assert prefill["phone"] == "138****5678"
    assert app.data["id_number"] == person.id_number_masked
    real = pii.decrypt(person.id_number_enc, field="person.id_number")
    assert pii.decrypt(app.data["id_number_enc"], field="application.id_number") == real
    assert app.applicant_id_masked == person.id_number_masked


def test_prefill_of_a_person_outside_the_clerks_community_is_not_found(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory, tree: Tree,
) -> None:
    version = publish()
    stranger = make_person(grid=tree.grid_b1)
    with pytest.raises(NotFound):
        application_prefill(user=cat_users.base.community_a, version=version, person=stranger)


@pytest.mark.parametrize(("birth", "hukou", "expected", "reason"), [
    (date(1950, 1, 1), "local", S.REJECTED, "申请人须年满80周岁"),
    (date(1940, 1, 1), "migrant", S.REJECTED, "申请人须为本区户籍"),
])
def test_ineligible_applicant_is_rejected_with_the_reason(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
    birth: date, hukou: str, expected: str, reason: str,
) -> None:
    version = publish(kind="instant", rules=ELDER_RULE)
    person = make_person(birth=birth, hukou=hukou)
    app, _ = application_submit(actor=cat_users.base.community_a, version=version, applicant=person,
                                data=application_prefill(user=cat_users.base.community_a, version=version,
                                                         person=person), channel="window")
    assert app.status == expected
    assert reason in app.decision_reason


def test_an_unknown_applicant_goes_to_pre_review_instead_of_being_refused(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given a resident applying online: the registry cannot tell their age
    version = publish(kind="instant", rules=ELDER_RULE)
    app, _ = application_submit(actor=cat_users.resident, version=version, applicant=None, data=valid_data(),
                                channel="online", community=tree.community_a)
    assert app.status == S.PRE_REVIEW
    assert app.rule_result is not None
    assert app.rule_result["passed"] is None
    decided = application_timeline(application=app)[-1]
    assert (decided.action, decided.to_status) == (A.INSTANT_DECIDE, S.PRE_REVIEW)
    assert "转人工" in decided.note
    assert "申请人须年满80周岁" in decided.note


# --- submission reliability -----------------------------------------------------------------


def test_a_repeated_submit_with_the_same_key_returns_the_same_application(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    version = publish()
    kwargs: dict[str, Any] = {"actor": cat_users.resident, "version": version, "applicant": None,
                              "data": valid_data(), "channel": "online", "community": tree.community_a,
                              "idempotency_key": "double-click"}
    first, created_first = application_submit(**kwargs)
    second, created_second = application_submit(**kwargs)
    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert Application.objects.count() == 1


def test_submission_stores_uploads_outside_the_web_root(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree, settings: Any,
) -> None:
    version = publish()
    app, _ = application_submit(actor=cat_users.resident, version=version, applicant=None, data=valid_data(),
                                files={"photo": [jpeg()]}, channel="online", community=tree.community_a)
    row = ApplicationFile.objects.get(application=app)
    assert row.content_type == "image/jpeg"
    assert row.material_code == "id_card"
    assert [p.name for p in stored_files(settings.DATA_DIR)] == [f"{row.sha256}.jpg"]
    assert not str(settings.DATA_DIR / "files").startswith(str(settings.STATIC_ROOT))


def test_a_failed_submission_leaves_no_application_and_no_file(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the database step fails after the file has been written
    version = publish()

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("linli.catalogue.services.applications._attach_files", boom)
    # when
    with pytest.raises(RuntimeError):
        application_submit(actor=cat_users.resident, version=version, applicant=None, data=valid_data(),
                           files={"photo": [jpeg()]}, channel="online", community=tree.community_a)
    # then nothing is half written
    assert Application.objects.count() == 0
    assert stored_files(settings.DATA_DIR) == []


def test_a_bad_upload_refuses_the_whole_submission(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree, settings: Any,
) -> None:
    version = publish()
    exe = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" * 10, content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as refused:
        application_submit(actor=cat_users.resident, version=version, applicant=None, data=valid_data(),
                           files={"photo": [jpeg(), exe]}, channel="online", community=tree.community_a)
    assert refused.value.field == "photo"
    assert Application.objects.count() == 0
    assert stored_files(settings.DATA_DIR) == []


def test_bad_form_data_names_the_field(cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree) -> None:
    version = publish()
    with pytest.raises(ValidationFailed) as refused:
        application_submit(actor=cat_users.resident, version=version, applicant=None,
                           data={**valid_data(), "phone": "123"}, channel="online", community=tree.community_a)
    assert refused.value.field == "phone"


def test_a_resident_cannot_claim_a_registry_person(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory, tree: Tree,
) -> None:
    with pytest.raises(PermissionDenied):
        application_submit(actor=cat_users.resident, version=publish(), applicant=make_person(),
                           data=valid_data(), channel="online", community=tree.community_a)


def test_draft_then_submit_keeps_the_number(cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree) -> None:
    version = publish()
    draft = application_save_draft(actor=cat_users.resident, version=version, data={"name": "李桂兰"},
                                   channel="online", community=tree.community_a)
    assert draft.status == S.DRAFT
    app, created = application_submit(actor=cat_users.resident, version=version, applicant=None,
                                      data=valid_data(), channel="online", draft=draft)
    assert created
    assert (app.pk, app.number, app.status) == (draft.pk, draft.number, S.SUBMITTED)


# --- workflow, deadlines, notices -----------------------------------------------------------


def _submit(cat_users: CatalogueUsers, version: Any, tree: Tree) -> Application:
    app, _ = application_submit(actor=cat_users.resident, version=version, applicant=None, data=valid_data(),
                                channel="online", community=tree.community_a)
    return app


def test_deadline_counts_working_days_across_national_day(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    # given a 3-working-day item submitted on the eve of the 2025 National Day holiday
    version = publish(time_limit_days=3)
    with time_machine.travel(datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI), tick=False):
        app = _submit(cat_users, version, tree)
    # then 1–8 October are skipped and the make-up Saturday 11 October counts
    assert app.due_at is not None
    assert app.due_at.astimezone(SHANGHAI) == datetime(2025, 10, 11, 17, 30, tzinfo=SHANGHAI)


def test_correction_pauses_the_clock_and_moves_the_deadline(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    version = publish(time_limit_days=10)
    clerk = cat_users.base.community_a
    with time_machine.travel(datetime(2025, 11, 3, 9, 0, tzinfo=SHANGHAI), tick=False):  # Monday
        app = _submit(cat_users, version, tree)
        app = application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
        app = application_transition(application=app, action=A.RETURN_FOR_CORRECTION, actor=clerk,
                                     missing=["户口簿复印件", "近期照片"])
        due_before = app.due_at
    assert app.status == S.RETURNED
    assert app.paused_at is not None
    # when the resident corrects it on Thursday (3 working days later)
    with time_machine.travel(datetime(2025, 11, 6, 15, 0, tzinfo=SHANGHAI), tick=False):
        app = application_correct(actor=cat_users.resident, application=app, data=valid_data(),
                                  files={"photo": [jpeg()]})
    # then the clock resumes and the deadline moves by those 3 working days
    assert app.status == S.RESUBMITTED
    assert app.paused_at is None
    assert app.paused_working_days == 3
    assert due_before is not None
    assert app.due_at is not None
    assert due_before.astimezone(SHANGHAI).date() == date(2025, 11, 17)
    assert app.due_at.astimezone(SHANGHAI).date() == date(2025, 11, 20)
    returned = [e for e in application_timeline(application=app) if e.action == A.RETURN_FOR_CORRECTION]
    assert returned[0].missing == ["户口簿复印件", "近期照片"]


def test_full_flow_with_every_step_recorded_audited_and_notified(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree, django_capture_on_commit_callbacks: Any,
) -> None:
    version = publish(department="民政")
    clerk, dept = cat_users.base.community_a, cat_users.dept_civil
    with django_capture_on_commit_callbacks(execute=True):
        app = _submit(cat_users, version, tree)
        app = application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
        app = application_transition(application=app, action=A.FORWARD, actor=clerk, note="材料齐全")
        app = application_transition(application=app, action=A.APPROVE, actor=dept,
                                     expected_version=app.version)
    assert app.status == S.APPROVED
    assert app.decided_at is not None
    timeline = application_timeline(application=app)
    assert [(e.action, e.actor_label) for e in timeline] == [
        (A.SUBMIT, "res1"), (A.START_PRE_REVIEW, "cs_a"), (A.FORWARD, "cs_a"), (A.APPROVE, "dept_mz"),
    ]
    audited = AuditEntry.objects.filter(target_type="catalogue.application", target_id=str(app.pk))
    assert audited.count() == 4
    # every step told the applicant by SMS (to the phone in the form), through the outbox
    sms = list(Delivery.objects.filter(notification__object_id=str(app.pk), channel="sms")
               .select_related("notification").order_by("pk"))
    assert [pii.decrypt(d.address_enc, field=PII_ADDRESS) for d in sms] == ["13900001111"] * 4
    assert "已办结(准予)" in sms[-1].notification.body
    # and the staff who had to act next found it in their inbox
    assert Notification.objects.filter(recipient=clerk, event_type="application.pre_review",
                                       object_id=str(app.pk)).exists()
    assert Notification.objects.filter(recipient=dept, event_type="application.forwarded",
                                       object_id=str(app.pk)).exists()


def test_a_stale_version_is_a_conflict_with_the_current_state(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(), tree)
    stale = app.version
    clerk = cat_users.base.community_a
    application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk, expected_version=stale)
    with pytest.raises(ApplicationError) as refused:
        application_transition(application=app, action=A.FORWARD, actor=clerk, expected_version=stale)
    assert refused.value.code == CatalogueErrorCode.CONFLICT
    assert refused.value.status == 409
    assert refused.value.extra["status"] == S.PRE_REVIEW
    assert A.FORWARD in refused.value.extra["allowed_actions"]


def test_an_illegal_step_is_refused_and_changes_nothing(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(), tree)
    with pytest.raises(ApplicationError) as refused:
        application_transition(application=app, action=A.APPROVE, actor=cat_users.dept_civil)
    # department staff cannot even see an application that was never forwarded
    assert refused.value.code == "not_found"
    with pytest.raises(ApplicationError) as refused:
        application_transition(application=app, action=A.RESUBMIT, actor=cat_users.base.community_a)
    assert refused.value.code == CatalogueErrorCode.ILLEGAL_TRANSITION
    app.refresh_from_db()
    assert app.status == S.SUBMITTED


def test_rejection_needs_a_reason(cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree) -> None:
    app = _submit(cat_users, publish(level="community"), tree)
    clerk = cat_users.base.community_a
    application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    with pytest.raises(ValidationFailed) as refused:
        application_transition(application=app, action=A.REJECT, actor=clerk, note=" ")
    assert refused.value.field == "note"


def test_community_staff_cannot_decide_a_street_level_item(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(level="street"), tree)
    clerk = cat_users.base.community_a
    application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    with pytest.raises(PermissionDenied):
        application_transition(application=app, action=A.APPROVE, actor=clerk)


def test_a_resident_can_withdraw_their_own_application_only(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(), tree)
    with pytest.raises(NotFound):
        application_transition(application=app, action=A.WITHDRAW, actor=cat_users.resident_other)
    app = application_transition(application=app, action=A.WITHDRAW, actor=cat_users.resident)
    assert app.status == S.WITHDRAWN


# --- scoping --------------------------------------------------------------------------------


def test_a_community_sees_only_its_applications(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(), tree)
    mine = application_list_for_user(user=cat_users.base.community_a, filters={})
    theirs = application_list_for_user(user=cat_users.base.community_b, filters={})
    assert [a.pk for a in mine] == [app.pk]
    assert list(theirs) == []
    with pytest.raises(NotFound):
        application_get_for_user(user=cat_users.base.community_b, application_id=app.pk)


@pytest.mark.parametrize("who", ["grid_worker_a1", "auditor"])
def test_grid_workers_and_auditors_see_no_applications(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree, who: str,
) -> None:
    _submit(cat_users, publish(), tree)
    assert list(application_list_for_user(user=getattr(cat_users.base, who), filters={})) == []


def test_department_staff_see_forwarded_applications_of_their_department_only(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(department="民政"), tree)
    clerk = cat_users.base.community_a
    assert list(application_list_for_user(user=cat_users.dept_civil, filters={})) == []
    application_transition(application=app, action=A.START_PRE_REVIEW, actor=clerk)
    application_transition(application=app, action=A.FORWARD, actor=clerk)
    assert [a.pk for a in application_list_for_user(user=cat_users.dept_civil, filters={})] == [app.pk]
    assert list(application_list_for_user(user=cat_users.dept_other, filters={})) == []


def test_a_resident_sees_only_what_they_submitted(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    app = _submit(cat_users, publish(), tree)
    assert [a.pk for a in application_list_for_user(user=cat_users.resident, filters={})] == [app.pk]
    assert list(application_list_for_user(user=cat_users.resident_other, filters={})) == []


# --- overdue --------------------------------------------------------------------------------


def test_overdue_sweep_marks_once_and_skips_paused_clocks(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    version = publish(time_limit_days=1)
    clerk = cat_users.base.community_a
    with time_machine.travel(datetime(2025, 11, 3, 9, 0, tzinfo=SHANGHAI), tick=False):
        late = _submit(cat_users, version, tree)
        paused = _submit(cat_users, version, tree)
        application_transition(application=paused, action=A.START_PRE_REVIEW, actor=clerk)
        application_transition(application=paused, action=A.RETURN_FOR_CORRECTION, actor=clerk, missing=["照片"])
    later = datetime(2025, 11, 10, 9, 0, tzinfo=SHANGHAI)
    # when the sweep runs twice
    first = application_overdue_sweep(now=later)
    second = application_overdue_sweep(now=later)
    # then only the running clock is overdue, marked once and audited once
    assert (first, second) == (1, 0)
    late.refresh_from_db()
    assert late.overdue_at == later
    assert AuditEntry.objects.filter(action="catalogue.application.overdue").count() == 1
    with time_machine.travel(later, tick=False):
        overdue = application_list_for_user(user=clerk, filters={"overdue": True})
        assert [a.pk for a in overdue] == [late.pk]


# --- catalogue versions ---------------------------------------------------------------------


def test_only_district_admins_publish_and_applications_keep_their_version(
    cat_users: CatalogueUsers, publish: ItemFactory, tree: Tree,
) -> None:
    v1 = publish()
    app = _submit(cat_users, v1, tree)
    admin = cat_users.base.district_admin
    with pytest.raises(PermissionDenied):
        item_publish_version(actor=cat_users.base.community_a, item=v1.item, time_limit_days=5,
                             materials=MATERIALS, steps=[], form=FORM)
    v2 = item_publish_version(actor=admin, item=v1.item, time_limit_days=5, materials=MATERIALS, steps=[],
                              form=FORM)
    app.refresh_from_db()
    v1.item.refresh_from_db()
    assert (v2.version, v1.item.current_version_id) == (2, v2.pk)
    assert app.item_version_id == v1.pk
    # the old version no longer takes new applications
    with pytest.raises(ApplicationError) as refused:
        _submit(cat_users, v1, tree)
    assert refused.value.code == CatalogueErrorCode.NO_VERSION


def test_publishing_refuses_a_rule_on_an_unknown_form_field(cat_users: CatalogueUsers) -> None:
    admin = cat_users.base.district_admin
    item = item_create(actor=admin, code="X1", name="测试", department=department_named(actor=admin, text="民政"),
                       level="street", kind="instant")
    with pytest.raises(ValidationFailed) as refused:
        item_publish_version(actor=admin, item=item, time_limit_days=5, materials=MATERIALS, steps=[], form=FORM,
                             rules={"fact": "application.income", "op": "lt", "value": 1000})
    assert refused.value.field == "rules"


# --- statistics -----------------------------------------------------------------------------


def test_hall_statistics_count_scoped_applications(
    cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory, tree: Tree,
) -> None:
    instant = publish(kind="instant", rules=ELDER_RULE, name="高龄津贴")
    clerk = cat_users.base.community_a
    with time_machine.travel(datetime(2025, 11, 4, 10, 15, tzinfo=SHANGHAI), tick=False):  # Tuesday
        for birth in (date(1940, 1, 1), date(1960, 1, 1)):
            person = make_person(birth=birth)
            application_submit(actor=clerk, version=instant, applicant=person, channel="window",
                               data=application_prefill(user=clerk, version=instant, person=person))
    stats = hall_statistics_for_user(user=clerk, start=date(2025, 11, 1), end=date(2025, 11, 30))
    other = hall_statistics_for_user(user=cat_users.base.community_b, start=date(2025, 11, 1), end=date(2025, 11, 30))
    assert stats.total == 2
    assert stats.by_item == [("高龄津贴", 2)]
    assert stats.instant_approval_rate == 0.5
    assert stats.peak_hour == 10
    assert stats.peak_weekday == 2
    assert stats.average_processing_days == 0
    assert other.total == 0


def test_sweep_command_runs_and_reports_a_count(db):
    # given no open applications
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    # when the sweep command runs
    call_command("linli_catalogue_sweep", stdout=out)
    # then it reports what it marked
    assert out.getvalue().strip() == "overdue applications marked: 0"
