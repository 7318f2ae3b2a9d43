"""Care pages: the grid worker's day, visits with photos, lists and exports, the rule editor;
every one scoped (another area's user gets nothing)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.models import User
from linli.care.choices import BenefitSource
from linli.care.models import Benefit, Policy, PolicyVersion, Recommendation, Visit, WorkOrder
from linli.care.services.sweep import sweep_run
from linli.care.tests.conftest import make_person
from linli.care.workflow import shift_years
from linli.cases.taxonomy import taxonomy_load
from linli.core.models import AuditEntry
from linli.registry.models import Building, Person, PersonTag

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def swept(tree: Tree, seeded: None) -> Person:
    """A red elder of grid a1 with a benefit about to end, after today's sweep."""
    today = timezone.localdate()
    building = Building.objects.create(grid=tree.grid_a1, name="3幢", address="近江路3幢", lon=120.205, lat=30.205)
    elder = make_person(tree.grid_a1.pk, "周阿婆", birth=shift_years(today, 92), hukou="local", building=building)
    PersonTag.objects.create(person=elder, kind="living_alone_elder", source="t", valid_from=date(2020, 1, 1))
    Benefit.objects.create(person=elder, policy=Policy.objects.get(code="gaoling_90"), starts_on=date(2025, 1, 1),
                           ends_on=today + timedelta(days=10), source=BenefitSource.MINZHENG_IMPORT)
    make_person(tree.grid_b1.pk, "吴大爷", birth=shift_years(today, 85), hukou="local")
    sweep_run(on=today)
    return elder


def test_grid_worker_today_lists_due_visit_work_order_and_red_list(users: Users, swept: Person) -> None:
    html = as_user(users.grid_worker_a1).get("/care/").content.decode()
    assert 'data-testid="due-visit"' in html
    assert "周阿婆" in html
    assert "将于" in html  # the work order's reason
    assert "90岁以上独居" in html  # the red list's reason


def test_other_grid_worker_gets_nothing_of_grid_a1(users: Users, swept: Person) -> None:
    client = as_user(users.grid_worker_b1)
    html = client.get("/care/").content.decode()
    assert "周阿婆" not in html
    assert 'data-testid="work-order"' not in html
    assert client.get(f"/care/persons/{swept.pk}/visit/").status_code == 404
    assert "周阿婆" not in client.get("/care/recommendations/").content.decode()
    assert "周阿婆" not in client.get("/care/expiring/").content.decode()
    order = WorkOrder.objects.get(person=swept)
    assert client.post(f"/care/work-orders/{order.pk}/done/").status_code == 404


def test_record_a_visit_with_a_photo_closes_the_due_visit_and_opens_a_case(users: Users, swept: Person) -> None:
    taxonomy_load_if_missing()
    client = as_user(users.grid_worker_a1)
    response = client.post(f"/care/persons/{swept.pk}/visit/", {
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "met": "本人", "notes": "身体尚可",
        "needs": "楼道灯坏了，晚上看不见", "finding_health": "fair", "finding_living": "attention",
        "finding_safety": "fall", "finding_mood": "good",
        "photos": SimpleUploadedFile("a.jpg", JPEG, content_type="image/jpeg"),
    })
    assert response.status_code == 302
    visit = Visit.objects.get(person=swept)
    assert visit.findings["safety"] == "fall"
    assert visit.photos.count() == 1
    assert not swept.care_due_visits.filter(status="open").exists()
    page = client.get(f"/care/visits/{visit.pk}/").content.decode()
    assert 'data-testid="visit-photos-shown"' in page
    # the other grid's worker cannot open the visit or its photo
    other = as_user(users.grid_worker_b1)
    assert other.get(f"/care/visits/{visit.pk}/").status_code == 404
    # one click: a case from the needs
    opened = client.post(f"/care/visits/{visit.pk}/case/", {"category": "1101"})
    assert opened.status_code == 302
    visit.refresh_from_db()
    assert visit.case_id is not None


def taxonomy_load_if_missing() -> None:
    from linli.accounts.models import Department
    from linli.cases.models import Category, DispatchRule

    if not Category.objects.filter(code="1101").exists():
        taxonomy_load(Department, Category, DispatchRule)


def test_a_bad_photo_is_refused_by_name_and_nothing_is_saved(users: Users, swept: Person) -> None:
    response = as_user(users.grid_worker_a1).post(f"/care/persons/{swept.pk}/visit/", {
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "finding_health": "good",
        "finding_living": "normal", "finding_safety": "none", "finding_mood": "good",
        "photos": SimpleUploadedFile("a.jpg", b"not an image", content_type="image/jpeg"),
    })
    assert response.status_code == 200
    assert "JPEG" in response.content.decode()
    assert not Visit.objects.exists()


def test_person_page_shows_colour_benefits_and_logs_access(users: Users, swept: Person) -> None:
    html = as_user(users.grid_worker_a1).get(f"/persons/{swept.pk}/").content.decode()
    assert 'data-testid="person-care"' in html
    assert 'data-testid="person-colour"' in html
    assert "高龄津贴（90-99周岁）" in html
    assert AuditEntry.objects.filter(action="care.person.access", target_id=str(swept.pk)).exists()


def test_recommendations_export_needs_the_export_permission(users: Users, swept: Person) -> None:
    assert Recommendation.objects.exists()
    assert as_user(users.community_a).get("/care/recommendations/?format=xlsx").status_code == 403
    response = as_user(users.street).get("/care/recommendations/?format=xlsx")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"
    assert AuditEntry.objects.filter(action="care.export.recommendations").exists()
    # the community of grid b sees only its own people
    html = as_user(users.community_b).get("/care/recommendations/").content.decode()
    assert "吴大爷" in html
    assert "周阿婆" not in html


def test_admin_sees_live_count_and_saves_a_new_policy(users: Users, swept: Person) -> None:
    client = as_user(users.district_admin)
    rule = {"all": [{"field": "age", "op": "gte", "value": 90}, {"field": "hukou", "op": "eq", "value": "local"}]}
    counted = client.post("/care/rules/count/", {"rule": json.dumps(rule)}).content.decode()
    assert 'data-testid="rule-count-value">1<' in counted
    bad = client.post("/care/rules/count/", {"rule": json.dumps({"field": "salary", "op": "gt", "value": 1})})
    assert "未知字段" in bad.content.decode()
    everyone = {"field": "is_deceased", "op": "eq", "value": False}
    refused = client.post("/care/rules/new/", {"code": "all_people", "name": "人人有份", "rule": json.dumps(everyone),
                                               "effective_from": timezone.localdate().isoformat()})
    assert "匹配全部" in refused.content.decode()
    saved = client.post("/care/rules/new/", {"code": "gaoling_90_extra", "name": "九十岁慰问金", "rule": json.dumps(rule),
                                             "effective_from": timezone.localdate().isoformat(), "amount": "100"})
    assert saved.status_code == 302
    assert PolicyVersion.objects.get(policy__code="gaoling_90_extra").number == 1
    # a grid worker may not edit rules
    assert as_user(users.grid_worker_a1).post("/care/rules/count/", {"rule": json.dumps(rule)}).status_code == 403


def test_statistics_count_visits_per_grid(users: Users, swept: Person) -> None:
    html = as_user(users.street).get("/care/statistics/").content.decode()
    assert 'data-testid="grid-coverage"' in html
    assert 'data-testid="stat-elders">2<' in html
    assert 'data-testid="stat-elders">1<' in as_user(users.community_b).get("/care/statistics/").content.decode()


def test_statistics_chart_has_months_and_colours_scoped_to_the_caller(users: Users, swept: Person,
                                                                     tree: Tree) -> None:
    from linli.care.models import ElderLevel

    # given the a1 elder visited this month and twice last month (counted once)
    now = timezone.now()
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=10)
    at_last_month = timezone.make_aware(datetime.combine(last_month, datetime.min.time()))
    for at in (now, at_last_month, at_last_month + timedelta(hours=2)):
        Visit.objects.create(person=swept, grid_id=tree.grid_a1.pk, visitor=users.grid_worker_a1, visited_at=at)
    response = as_user(users.street).get("/care/statistics/")
    chart = response.context["chart"]
    assert len(chart["months"]["labels"]) == 6
    assert chart["months"]["labels"][-1] == f"{timezone.localdate():%Y-%m}"
    assert chart["months"]["visited"][-2:] == [1, 1]
    assert chart["months"]["rates"][-1] == 50.0  # one of the street's two elders
    colours = {c["key"]: c["value"] for c in chart["colours"]}
    assert colours == {"red": ElderLevel.objects.filter(colour="red").count(),
                       "yellow": ElderLevel.objects.filter(colour="yellow").count(), "green": 0}
    html = response.content.decode()
    assert 'id="care-stats-data"' in html
    assert "vendor/echarts/echarts.min.js" in html
    # community b sees only its own elder and no visits
    other = as_user(users.community_b).get("/care/statistics/").context["chart"]
    assert other["months"]["visited"] == [0] * 6
    assert sum(c["value"] for c in other["colours"]) == 1


def test_a_visit_starts_an_application_of_a_recommended_item_for_window_staff_only(
    users: Users, tree: Tree, seeded: None,
) -> None:
    from linli.care.tests.test_benefit_sources import _item
    from linli.catalogue.models import Application

    # given an 85-year-old of grid a1 recommended 高龄津贴 (linked to the catalogue's MZ006)
    today = timezone.localdate()
    elder = make_person(tree.grid_a1.pk, "郑阿公", birth=shift_years(today, 85), hukou="local")
    sweep_run(on=today)
    assert Recommendation.objects.filter(person=elder, policy__code="gaoling_80").exists()
    _item("MZ006", "高龄津贴发放", kind="promised")
    visit = Visit.objects.create(person=elder, grid_id=tree.grid_a1.pk, visitor=users.grid_worker_a1,
                                 visited_at=timezone.now(), needs="想申请高龄津贴")
    # the grid worker sees the item but is sent to the window; the catalogue refuses them
    worker = as_user(users.grid_worker_a1)
    html = worker.get(f"/care/visits/{visit.pk}/").content.decode()
    assert 'data-testid="visit-apply-hint"' in html
    assert "高龄津贴发放" in html
    worker.post(f"/care/visits/{visit.pk}/apply/", {"item": "MZ006"})
    assert not Application.objects.exists()
    # another grid's worker cannot even open the visit
    assert as_user(users.grid_worker_b1).post(f"/care/visits/{visit.pk}/apply/", {"item": "MZ006"}).status_code == 404
    # the community's window staff start it with one click, prefilled, and land in the guided form
    staff = as_user(users.community_a)
    assert 'data-testid="visit-start-application"' in staff.get(f"/care/visits/{visit.pk}/").content.decode()
    response = staff.post(f"/care/visits/{visit.pk}/apply/", {"item": "MZ006"})
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/services/applications/{application.pk}/fill/"
    assert (application.applicant_id, application.status, application.item_version.item.code) == (
        elder.pk, "draft", "MZ006")
    assert AuditEntry.objects.filter(action="care.visit.application", target_id=str(visit.pk),
                                     reason=application.number).exists()
    # a second click opens the same draft
    staff.post(f"/care/visits/{visit.pk}/apply/", {"item": "MZ006"})
    assert Application.objects.count() == 1
    # an item no recommendation names is not offered
    assert "MZ001" not in staff.get(f"/care/visits/{visit.pk}/").content.decode()
