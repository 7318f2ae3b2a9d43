"""Catalogue pages: who may open them, the window flow, pre-review and decision, files,
appointments and statistics."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Tree
from linli.catalogue.choices import ApplicationStatus, AppointmentStatus
from linli.catalogue.models import Application, ApplicationFile, Appointment, ServiceWindow
from linli.catalogue.seed_items import catalogue_seed
from linli.catalogue.services import application_submit, application_transition, window_create
from linli.catalogue.tests.conftest import (
    ELDER_RULE,
    SEED,
    CatalogueUsers,
    ItemFactory,
    PersonFactory,
    valid_data,
)
from linli.core.calendar import SHANGHAI, is_working_day
from linli.registry.models import Person

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def png(name: str = "id.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def filed(cat_users: CatalogueUsers, publish: ItemFactory, person: Person | None = None, **kwargs: Any) -> Application:
    """A promised application filed at community A's window, with one upload."""
    version = publish(**kwargs)
    app, _created = application_submit(
        actor=cat_users.base.community_a, version=version, applicant=person, data=valid_data(),
        files={"photo": [png()]}, community=None if person else cat_users.base.community_a.assignments.get().area,
    )
    return app


# --- access -----------------------------------------------------------------------------------


def test_catalogue_pages_render_for_staff_and_list_items_by_department(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    version = publish(name="高龄津贴", department="民政")
    client.force_login(cat_users.base.community_a)
    # when
    listing = client.get(reverse("catalogue:items"))
    detail = client.get(reverse("catalogue:item", args=[version.item_id]))
    # then
    assert listing.status_code == 200
    assert "高龄津贴" in listing.content.decode()
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "居民身份证" in body  # the materials list
    assert 'data-testid="item-start"' in body
    assert 'data-testid="item-edit"' not in body  # only district admins edit


def test_one_sentence_search_shows_materials_and_a_start_button(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    publish(name="高龄津贴")
    publish(name="失业登记", department="人社")
    client.force_login(cat_users.base.community_a)
    # when
    response = client.get(reverse("catalogue:items"), {"q": "老人高龄津贴怎么申请"})
    # then
    hits = [item.name for item in response.context["hits"]]
    assert hits[0] == "高龄津贴"
    body = response.content.decode()
    assert 'data-testid="item-materials"' in body
    assert reverse("catalogue:apply", args=[response.context["hits"][0].pk]) in body


def test_a_question_no_item_answers_offers_the_hotline_and_the_window_instead_of_items(
    client: Client, cat_users: CatalogueUsers,
) -> None:
    # given the whole seed catalogue (the no-match decision is calibrated on a real-sized one)
    catalogue_seed(actor=SEED)
    client.force_login(cat_users.base.community_a)
    # when
    nothing = client.get(reverse("catalogue:items"), {"q": "信用卡逾期了怎么办"})
    something = client.get(reverse("catalogue:items"), {"q": "残疾证丢了怎么补"})
    # then
    assert nothing.context["hits"] == []
    body = nothing.content.decode()
    assert 'data-testid="search-empty"' in body
    assert "12345" in body
    assert reverse("catalogue:windows") in body
    assert [item.code for item in something.context["hits"]][:1] == ["CL004"]


def test_auditor_is_refused_and_anonymous_is_sent_to_login(client: Client, cat_users: CatalogueUsers) -> None:
    # when
    anonymous = client.get(reverse("catalogue:items"))
    client.force_login(cat_users.base.auditor)
    auditor = client.get(reverse("catalogue:items"))
    # then
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert auditor.status_code == 403


def test_grid_worker_cannot_open_the_window(client: Client, cat_users: CatalogueUsers) -> None:
    # given
    client.force_login(cat_users.base.grid_worker_a1)
    # when
    response = client.get(reverse("catalogue:window"))
    # then
    assert response.status_code == 403


# --- catalogue editing --------------------------------------------------------------------------


def edit_post(version: Any, **changes: Any) -> dict[str, Any]:
    item = version.item
    data = {
        "name": item.name, "department": item.department_id, "level": item.level, "kind": item.kind,
        "active": "on", "search_keywords": "", "time_limit_days": version.time_limit_days,
        "promised_days": version.promised_days, "conditions": version.conditions, "fees": version.fees,
        "legal_basis": version.legal_basis, "steps": "\n".join(version.steps),
        "materials": json.dumps(version.materials, ensure_ascii=False),
        "form": json.dumps(version.form, ensure_ascii=False), "rules": "",
    }
    data.update(changes)
    return data


def test_district_admin_publishes_a_new_version_and_old_applications_keep_theirs(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given an application filed under version 1
    app = filed(cat_users, publish)
    version = app.item_version
    client.force_login(cat_users.base.district_admin)
    # when the admin lengthens the time limit
    response = client.post(reverse("catalogue:item_edit", args=[version.item_id]),
                           edit_post(version, time_limit_days=20, promised_days=15))
    # then a version 2 is current and the application still points at version 1
    assert response.status_code == 302
    version.item.refresh_from_db()
    current = version.item.current_version
    assert current is not None
    assert (current.version, current.time_limit_days) == (2, 20)
    app.refresh_from_db()
    assert app.item_version_id == version.pk


@pytest.mark.parametrize(("field", "value", "message"), [
    ("form", "{not json", "JSON 格式错误"),
    ("form", '{"steps": []}', "steps"),
    ("rules", '{"fact": "person.age", "op": "between", "value": 1}', "between"),
    ("materials", '[{"code": "a"}]', "材料名称"),
    ("promised_days", "99", "承诺时限"),
])
def test_catalogue_editor_names_the_field_of_a_bad_definition_and_writes_nothing(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, field: str, value: str, message: str,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.district_admin)
    # when
    response = client.post(reverse("catalogue:item_edit", args=[version.item_id]),
                           edit_post(version, **{field: value}))
    # then
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert version.item.versions.count() == 1


def test_community_staff_cannot_edit_the_catalogue(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.community_a)
    # when
    response = client.post(reverse("catalogue:item_edit", args=[version.item_id]), edit_post(version))
    # then
    assert response.status_code == 403
    assert version.item.versions.count() == 1


# --- the window --------------------------------------------------------------------------------


def test_window_finds_the_resident_and_the_item_by_one_sentence(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given
    person = make_person(name="王秀英")
    publish(name="高龄津贴")
    client.force_login(cat_users.base.community_a)
    # when
    found = client.get(reverse("catalogue:window"), {"q": "王秀英"})
    chosen = client.get(reverse("catalogue:window"), {"person": str(person.pk), "iq": "高龄津贴"})
    # then
    assert [p.pk for p in found.context["persons"]] == [person.pk]
    assert chosen.context["person"] == person
    assert [item.name for item in chosen.context["hits"]][:1] == ["高龄津贴"]


def test_guided_form_is_prefilled_masked_and_files_a_promised_application_with_an_upload(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given
    person = make_person(name="王秀英")
    version = publish()
    client.force_login(cat_users.base.community_a)
    start = reverse("catalogue:apply", args=[version.item_id])
    # when the clerk opens the first step
    first = client.get(start, {"person": person.pk})
    # then the registry values are there, the ID number masked
    body = first.content.decode()
    assert person.id_number_masked in body
    assert 'value="王秀英"' in body
    # when the clerk goes on without changing the masked values
    step1 = client.post(start, {"person": person.pk, "step": "applicant", "go": "next", "name": "王秀英",
                                "id_number": person.id_number_masked, "phone": person.phone_masked})
    draft = Application.objects.get()
    assert step1.status_code == 302
    assert draft.status == ApplicationStatus.DRAFT
    assert "step=details" in step1["Location"]
    # and submits the second step with an upload
    step2 = client.post(reverse("catalogue:application_fill", args=[draft.pk]), {
        "step": "details", "go": "submit", "reason": "申请津贴", "photo": png(), "idempotency_key": "k1",
    })
    # then the application is filed with the registry's full numbers sealed and the file attached
    draft.refresh_from_db()
    assert step2.status_code == 302
    assert step2["Location"] == reverse("catalogue:application", args=[draft.pk])
    assert draft.status == ApplicationStatus.SUBMITTED
    assert draft.data["id_number"] == person.id_number_masked
    assert draft.data["id_number_enc"]
    assert ApplicationFile.objects.filter(application=draft, material_code="id_card").count() == 1


def test_guided_form_refuses_to_move_on_without_a_required_field(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    version = publish()
    client.force_login(cat_users.base.community_a)
    # when
    response = client.post(reverse("catalogue:apply", args=[version.item_id]),
                           {"step": "applicant", "go": "next", "name": "李桂兰", "id_number": "", "phone": ""})
    # then
    assert response.status_code == 422
    assert "请填写“身份证号”" in response.content.decode()
    assert not Application.objects.exists()


def test_instant_item_shows_the_decision_with_its_explanation_at_once(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given an 85-year-old local resident and an instant elder allowance
    person = make_person(birth=date(1940, 3, 1))
    version = publish(kind="instant", rules=ELDER_RULE)
    client.force_login(cat_users.base.community_a)
    start = reverse("catalogue:apply", args=[version.item_id])
    client.post(start, {"person": person.pk, "step": "applicant", "go": "next", "name": person.name,
                        "id_number": person.id_number_masked, "phone": person.phone_masked})
    draft = Application.objects.get()
    # when
    client.post(reverse("catalogue:application_fill", args=[draft.pk]), {"step": "details", "go": "submit"})
    page = client.get(reverse("catalogue:application", args=[draft.pk]))
    # then
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.APPROVED
    body = page.content.decode()
    assert 'data-decision="approved"' in body
    assert "申请人须年满80周岁" in body
    assert 'data-passed="true"' in body


# --- pre-review and decision --------------------------------------------------------------------


def act(client: Client, app: Application, action: str, **extra: Any) -> Any:
    app.refresh_from_db()
    return client.post(reverse("catalogue:application_act", args=[app.pk]),
                       {"action": action, "version": app.version, **extra})


def test_pre_review_returns_with_the_exact_missing_list_then_forwards_and_the_department_approves(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    client.force_login(cat_users.base.community_a)
    # when the community returns it for correction
    act(client, app, "start_pre_review")
    act(client, app, "return_for_correction", missing=["居民身份证"], missing_other="户口簿首页;收入证明")
    app.refresh_from_db()
    # then the exact list is on the timeline and the clock is paused
    assert app.status == ApplicationStatus.RETURNED
    assert app.paused_at is not None
    assert app.events.get(action="return_for_correction").missing == ["居民身份证", "户口簿首页", "收入证明"]
    page = client.get(reverse("catalogue:application", args=[app.pk])).content.decode()
    assert "居民身份证、户口簿首页、收入证明" in page
    # when the resident corrects, the community forwards and the department approves
    application_transition(application=app, action="resubmit", actor=cat_users.base.community_a)
    act(client, app, "forward", note="材料齐全")
    client.force_login(cat_users.dept_civil)
    inbox = client.get(reverse("catalogue:inbox"))
    assert [row.pk for row, _overdue in inbox.context["rows"]] == [app.pk]
    act(client, app, "approve", note="符合条件")
    # then
    app.refresh_from_db()
    assert (app.status, app.decision) == (ApplicationStatus.APPROVED, "approved")


def test_return_for_correction_without_a_list_is_refused_with_the_field(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    client.force_login(cat_users.base.community_a)
    act(client, app, "start_pre_review")
    # when
    response = act(client, app, "return_for_correction")
    # then
    assert response.status_code == 422
    assert "missing" in response.context["form"].errors
    app.refresh_from_db()
    assert app.status == ApplicationStatus.PRE_REVIEW


def test_a_stale_page_does_not_overwrite_another_clerks_step(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    stale_version = app.version
    client.force_login(cat_users.base.community_a)
    act(client, app, "start_pre_review")
    # when a second tab still shows the old version
    response = client.post(reverse("catalogue:application_act", args=[app.pk]),
                           {"action": "start_pre_review", "version": stale_version}, follow=True)
    # then
    assert "请刷新后重试" in response.content.decode()
    assert app.events.filter(action="start_pre_review").count() == 1


def test_department_cannot_see_an_application_before_it_is_forwarded(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    client.force_login(cat_users.dept_civil)
    # when
    response = client.get(reverse("catalogue:application", args=[app.pk]))
    # then
    assert response.status_code == 404


def test_another_community_gets_404_for_the_application_and_its_file(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    stored = app.files.get()
    client.force_login(cat_users.base.community_b)
    # when
    page = client.get(reverse("catalogue:application", args=[app.pk]))
    download = client.get(reverse("catalogue:file", args=[stored.pk]))
    inbox = client.get(reverse("catalogue:inbox"), {"status": "all"})
    # then
    assert page.status_code == 404
    assert download.status_code == 404
    assert list(inbox.context["rows"]) == []


def test_the_file_is_served_to_its_community_with_sniffed_type_and_no_cache(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given
    app = filed(cat_users, publish)
    stored = app.files.get()
    client.force_login(cat_users.base.community_a)
    # when
    response = client.get(reverse("catalogue:file", args=[stored.pk]))
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    # a download, never rendered in our origin (issue 15)
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PNG  # type: ignore[attr-defined]


def test_inbox_highlights_overdue_applications(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory,
) -> None:
    # given one application past its due date
    late = filed(cat_users, publish)
    Application.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=1))
    on_time = filed(cat_users, publish)
    client.force_login(cat_users.base.community_a)
    # when
    response = client.get(reverse("catalogue:inbox"))
    # then
    flags = {app.pk: overdue for app, overdue in response.context["rows"]}
    assert flags == {late.pk: True, on_time.pk: False}
    assert response.context["overdue_count"] == 1
    assert 'data-testid="inbox-overdue"' in response.content.decode()


# --- appointments and statistics ----------------------------------------------------------------


def next_working_day() -> date:
    day = timezone.localdate() + timedelta(days=3)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


@pytest.fixture
def window(tree: Tree) -> ServiceWindow:
    hours = {str(d): [["08:30", "11:30"], ["13:30", "17:00"]] for d in range(1, 6)}
    return window_create(actor=SEED, code="W1", name="近江社区综合窗口", community=tree.community_a,
                         opening_hours=hours, slot_minutes=30, capacity_per_slot=1)


def test_clerk_books_a_slot_for_a_resident_and_the_slot_is_then_full(
    client: Client, cat_users: CatalogueUsers, window: ServiceWindow,
) -> None:
    # given
    day = next_working_day()
    client.force_login(cat_users.base.community_a)
    url = reverse("catalogue:window_day", args=[window.pk])
    slot = f"{day:%Y-%m-%d}T09:00:00+08:00"
    # when two bookings ask for the last seat
    first = client.post(f"{url}?day={day}", {"slot_start": slot, "name": "王秀英", "phone": "13812345678"})
    second = client.post(f"{url}?day={day}", {"slot_start": slot, "name": "李桂兰", "phone": "13900001111"})
    # then the first one holds it and the second is told the slot is full
    assert first.status_code == 302
    assert second.status_code == 422
    assert "该时段已约满" in second.content.decode()
    page = client.get(url, {"day": day.isoformat()})
    by_start = {s.start.astimezone(SHANGHAI).strftime("%H:%M"): s.available for s in page.context["slots"]}
    assert by_start["09:00"] == 0
    assert by_start["09:30"] == 1


def test_daily_queue_checks_in_and_serves(
    client: Client, cat_users: CatalogueUsers, window: ServiceWindow,
) -> None:
    # given a booking for a working day
    day = next_working_day()
    client.force_login(cat_users.base.community_a)
    client.post(f"{reverse('catalogue:window_day', args=[window.pk])}?day={day}",
                {"slot_start": f"{day:%Y-%m-%d}T10:00:00+08:00", "name": "王秀英", "phone": "13812345678"})
    appointment = Appointment.objects.get()
    # when the resident arrives and is served
    client.post(reverse("catalogue:appointment_act", args=[appointment.pk, "check-in"]))
    queue = client.get(reverse("catalogue:window_queue", args=[window.pk]), {"day": day.isoformat()})
    client.post(reverse("catalogue:appointment_act", args=[appointment.pk, "serve"]))
    # then
    assert "A001" in queue.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.DONE


def test_another_community_cannot_open_the_window_or_its_queue(
    client: Client, cat_users: CatalogueUsers, window: ServiceWindow,
) -> None:
    # given
    client.force_login(cat_users.base.community_b)
    # when
    day_page = client.get(reverse("catalogue:window_day", args=[window.pk]))
    queue = client.get(reverse("catalogue:window_queue", args=[window.pk]))
    # then
    assert (day_page.status_code, queue.status_code) == (404, 404)


def test_hall_statistics_page_shows_figures_of_the_scope(
    client: Client, cat_users: CatalogueUsers, publish: ItemFactory, make_person: PersonFactory,
) -> None:
    # given one instant approval in community A
    person = make_person()
    version = publish(kind="instant", rules=ELDER_RULE)
    application_submit(actor=cat_users.base.community_a, version=version, applicant=person, data=valid_data())
    # when
    client.force_login(cat_users.base.community_a)
    mine = client.get(reverse("catalogue:statistics"))
    client.force_login(cat_users.base.community_b)
    other = client.get(reverse("catalogue:statistics"))
    # then
    assert mine.status_code == 200
    assert mine.context["stats"].total == 1
    assert mine.context["instant_rate"] == 100.0
    assert 'id="stats-data"' in mine.content.decode()
    assert other.context["stats"].total == 0
