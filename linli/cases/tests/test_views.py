"""Case pages: inbox, case page and its actions, report forms, statistics; all scoped."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import Users
from linli.accounts.models import User
from linli.cases.choices import CaseSource, CaseStatus
from linli.cases.models import Case
from linli.cases.tests.conftest import IN_A1, PNG, Cats

pytestmark = pytest.mark.django_db


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_inbox_lists_what_the_worker_must_do_with_supervision_colours(
    users: Users, cats: Cats, open_case: Any,
) -> None:
    # given a case dispatched to the grid worker whose stage is red-flagged
    case = open_case(cats.neighbours)
    Case.objects.filter(pk=case.pk).update(supervision_level=2)
    # when
    page = as_user(users.grid_worker_a1).get("/cases/")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert case.number in html
    assert 'data-supervision="2"' in html
    assert "红牌" in html


def test_inbox_of_another_grid_is_empty_and_the_case_page_is_404(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    case = open_case(cats.neighbours)
    other = as_user(users.grid_worker_b1)
    # when
    inbox = other.get("/cases/")
    page = other.get(f"/cases/{case.pk}/")
    listed = other.get("/cases/all/", {"q": case.number})
    # then
    assert case.number not in inbox.content.decode()
    assert page.status_code == 404
    assert f'data-number="{case.number}"' not in listed.content.decode()
    assert f'data-number="{case.number}"' in as_user(users.grid_worker_a1).get(
        "/cases/all/", {"q": case.number}).content.decode()


def test_the_list_pages_newest_first_and_counts_up_to_a_cap(
    users: Users, cats: Cats, open_case: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from linli.cases import views

    # given pages of 2 and a count that stops at 4, and three cases in the worker's grid
    monkeypatch.setattr(views, "LIST_PAGE", 2)
    monkeypatch.setattr(views, "LIST_COUNT_CAP", 4)
    client = as_user(users.grid_worker_a1)
    opened = [open_case(cats.neighbours) for _ in range(3)]
    Case.objects.filter(pk=opened[0].pk).update(created_at=opened[0].created_at.replace(year=2020))
    # when the first and the second page are opened
    first = client.get("/cases/all/").content.decode()
    second = client.get("/cases/all/", {"page": "2"}).content.decode()
    # then the newest two come first, the oldest on page 2, each page counted exactly
    assert f'data-number="{opened[2].number}"' in first
    assert f'data-number="{opened[1].number}"' in first
    assert f'data-number="{opened[0].number}"' not in first
    assert "第 1–2 件,共 3 件" in first
    assert 'data-testid="pager-next"' in first
    assert 'data-testid="pager-previous"' not in first
    assert f'data-number="{opened[0].number}"' in second
    assert "第 3–3 件,共 3 件" in second
    assert 'data-testid="pager-previous"' in second
    assert 'data-testid="pager-next"' not in second
    # and past the cap the count says "more than" and the pager stops at the cap
    for _ in range(2):
        open_case(cats.neighbours)
    capped = client.get("/cases/all/").content.decode()
    assert "超过 4 件" in capped
    last = client.get("/cases/all/", {"page": "99"}).content.decode()
    assert "第 2 页" in last
    assert 'data-testid="pager-next"' not in last


def test_a_bad_page_number_shows_the_first_page(users: Users, cats: Cats, open_case: Any) -> None:
    case = open_case(cats.neighbours)
    client = as_user(users.grid_worker_a1)
    for page in ("abc", "-1", "0", "²", "9" * 30):
        response = client.get("/cases/all/", {"page": page})
        assert response.status_code == 200
        assert f'data-number="{case.number}"' in response.content.decode()


def test_another_areas_worker_pages_through_nothing(users: Users, cats: Cats, open_case: Any) -> None:
    # given a case in grid A1 only
    case = open_case(cats.neighbours)
    # when the worker of grid B1 opens the list and its second page
    client = as_user(users.grid_worker_b1)
    pages = [client.get("/cases/all/", {"page": n}).content.decode() for n in ("1", "2")]
    # then the case is on neither and no count reveals it
    assert all(f'data-number="{case.number}"' not in page for page in pages)
    assert all("没有符合条件的事件" in page for page in pages)


def test_resident_cannot_open_the_workbench_pages(resident: User) -> None:
    assert as_user(resident).get("/cases/").status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(db: None) -> None:
    response = Client().get("/cases/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_grid_worker_reports_from_the_phone_form_with_a_photo(users: Users, cats: Cats, tree: Any) -> None:
    # given
    worker = as_user(users.grid_worker_a1)
    form = worker.get("/cases/new/").content.decode()
    assert 'capture="environment"' in form
    assert 'accept="image/*"' in form
    assert "<optgroup" in form
    # when
    response = worker.post("/cases/new/", {
        "category": cats.rubbish.code, "description": "东门口一堆垃圾", "lon": IN_A1[0], "lat": IN_A1[1],
        "photos": [SimpleUploadedFile("scene.png", PNG, content_type="image/png")],
    })
    # then
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.source == CaseSource.PATROL
    assert case.grid_id == tree.grid_a1.pk
    assert case.photos.count() == 1
    page = worker.get(f"/cases/{case.pk}/").content.decode()
    assert f"/cases/{case.pk}/photos/{case.photos.get().pk}/" in page
    photo = case.photos.get()
    shown = worker.get(f"/cases/{case.pk}/photos/{photo.pk}/")
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"] == f'inline; filename="case-{case.pk}-photo-{photo.pk}.png"'
    assert "sandbox" in shown["Content-Security-Policy"]
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in shown["Cache-Control"]
    # a row whose stored type is not an image we accept is only ever a download
    type(photo).objects.filter(pk=photo.pk).update(content_type="text/html")
    forged = worker.get(f"/cases/{case.pk}/photos/{photo.pk}/")
    assert forged["Content-Type"] == "application/octet-stream"
    assert forged["Content-Disposition"].startswith("attachment;")


def test_handled_on_the_spot_closes_the_case_at_once(users: Users, cats: Cats) -> None:
    # when
    as_user(users.grid_worker_a1).post("/cases/new/", {
        "category": cats.rubbish.code, "description": "随手捡走了", "lon": IN_A1[0], "lat": IN_A1[1],
        "handled_on_spot": "on",
    })
    # then
    case = Case.objects.get()
    assert case.handled_on_spot
    assert case.status == CaseStatus.CLOSED


def test_report_without_a_position_or_address_shows_the_error_and_writes_nothing(users: Users, cats: Cats) -> None:
    # when
    response = as_user(users.grid_worker_a1).post("/cases/new/", {"category": cats.rubbish.code,
                                                                  "description": "垃圾"})
    # then
    assert response.status_code == 400
    assert 'data-testid="error-address"' in response.content.decode()
    assert not Case.objects.exists()


def test_hotline_operator_records_caller_and_masked_callback_number(users: Users, cats: Cats) -> None:
    # given
    operator = as_user(users.street)
    fields = {"category": cats.rubbish.code, "description": "来电反映路边垃圾", "address": "望江路88号",
              "reporter_name": "李先生", "callback_phone": "13900001111", "hotline_number": "GD-1"}
    # when the same work order is entered twice
    operator.post("/cases/hotline/", fields)
    operator.post("/cases/hotline/", fields)
    # then
    case = Case.objects.get()
    assert case.source == CaseSource.HOTLINE
    assert case.reporter_name == "李先生"
    page = operator.get(f"/cases/{case.pk}/").content.decode()
    assert "139****1111" in page
    assert "13900001111" not in page


def test_grid_worker_may_not_take_hotline_calls(users: Users) -> None:
    assert as_user(users.grid_worker_a1).get("/cases/hotline/").status_code == 403


def test_action_button_moves_the_case_and_shows_on_the_timeline(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    case = open_case(cats.neighbours)
    worker = as_user(users.grid_worker_a1)
    page = worker.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="action-accept"' in page
    assert f'name="expected_version" value="{case.version}"' in page
    # when
    response = worker.post(f"/cases/{case.pk}/", {"action": "accept", "expected_version": case.version})
    # then
    case.refresh_from_db()
    assert response.status_code == 302
    assert case.status == CaseStatus.ACCEPTED
    assert 'data-action="accept"' in worker.get(f"/cases/{case.pk}/").content.decode()


def test_stale_form_shows_a_clear_conflict_message(users: Users, cats: Cats, open_case: Any) -> None:
    # given the case moved on since the page was loaded
    case = open_case(cats.neighbours)
    worker = as_user(users.grid_worker_a1)
    worker.post(f"/cases/{case.pk}/", {"action": "accept", "expected_version": case.version})
    # when the old page posts again
    response = worker.post(f"/cases/{case.pk}/", {"action": "reject_back", "expected_version": case.version,
                                                   "note": "不归我管"})
    # then
    case.refresh_from_db()
    assert response.status_code == 409
    assert "已被他人处理" in response.content.decode()
    assert case.status == CaseStatus.ACCEPTED


def test_reason_is_required_for_rejecting(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    case = open_case(cats.neighbours)
    # when
    response = as_user(users.grid_worker_a1).post(
        f"/cases/{case.pk}/", {"action": "reject_back", "expected_version": case.version})
    # then
    case.refresh_from_db()
    assert response.status_code == 409
    assert "原因" in response.content.decode()
    assert case.status == CaseStatus.DISPATCHED


def test_statistics_page_and_xlsx_download(users: Users, cats: Cats, open_case: Any) -> None:
    # given
    open_case(cats.neighbours)
    staff = as_user(users.community_a)
    # when
    page = staff.get("/cases/statistics/", {"group_by": "grid"})
    xlsx = staff.get("/cases/statistics.xlsx", {"group_by": "grid"})
    # then
    assert page.status_code == 200
    assert "上报数" in page.content.decode()
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"


def test_statistics_with_a_bad_period_say_so(users: Users) -> None:
    response = as_user(users.community_a).get("/cases/statistics/", {"start": "2026-05-01", "end": "2026-01-01"})
    assert response.status_code == 200
    assert "结束日期不能早于开始日期" in response.content.decode()
