"""Members of a household who live in another area are counted, never described.

Issue 15 (1): the household was checked against the viewer's scope, its members were not.
A grid worker of grid a1 opens household H-A101, one of whose members (赵秀英, 社区矫正对象,
独居老人) is registered in grid b1 of another community: on the HTML page, the API, the room
detail, the building chart and the export, no name, birth date, identifier, phone or tag of
hers appears, only "另有 1 位成员在其他区域". Sensitive tags that are shown are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.core.models import AuditEntry
from linli.registry import services
from linli.registry.choices import HukouStatus, TagKind
from linli.registry.models import Household, Person
from linli.registry.tests.conftest import ACTOR, Registry, id_number

pytestmark = pytest.mark.django_db
API = "/api/v1"
OUTSIDER_ID = id_number("33010219450817004")


@dataclass
class Outsiders:
    zhao: Person        # member of H-A101, registered in grid b1 (room b101)
    lodger: Person      # lives in building a (room a102) but registered in grid b1
    household_b: Household  # grid b1's household whose room is in building a


def _secrets(person: Person) -> list[str]:
    """What must never appear about an out-of-scope person."""
    values = [person.name, person.id_number_masked, person.phone_masked]
    if person.birth_date:
        values.append(person.birth_date.isoformat())
    return [v for v in values if v]


@pytest.fixture
def outsiders(registry: Registry, tree) -> Outsiders:
    zhao = services.person_create(
        actor=ACTOR, name="赵秀英", id_number=OUTSIDER_ID, phone="13955556666",
        hukou=HukouStatus.LOCAL, room=registry.room_b101, household=registry.household_a101,
        relation="parent",
    )
    for kind in (TagKind.COMMUNITY_CORRECTION, TagKind.LIVING_ALONE_ELDER):
        services.person_tag_add(actor=ACTOR, person=zhao, kind=kind, source="司法所",
                                valid_from=date(2020, 1, 1))
    lodger = services.person_create(
        actor=ACTOR, name="钱多多", id_number=id_number("33010219800101003"), phone="13766667777",
        hukou=HukouStatus.MIGRANT, room=registry.room_a102,
    )
    services.person_tag_add(actor=ACTOR, person=lodger, kind=TagKind.SEVERE_MENTAL, source="卫健",
                            valid_from=date(2020, 1, 1))
    household_b = services.household_create(actor=ACTOR, number="H-B-A102", room=registry.room_a102)
    # As a department import leaves them: registered in grid b1, living in grid a1's building.
    Person.objects.filter(pk=lodger.pk).update(grid=tree.grid_b1, household=household_b)
    Household.objects.filter(pk=household_b.pk).update(grid=tree.grid_b1, head=lodger)
    lodger.refresh_from_db()
    return Outsiders(zhao, lodger, household_b)


def _assert_nothing_of(body: str, *persons: Person) -> None:
    for person in persons:
        for secret in _secrets(person):
            assert secret not in body, f"{secret!r} of an out-of-scope person leaked"


def test_household_page_shows_other_area_member_only_as_a_count(client, registry, users, outsiders):
    # given a grid worker of grid a1
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get(f"/households/{registry.household_a101.pk}/")
    body = response.content.decode()
    # then the two members of grid a1 are listed, 赵秀英 only as a count
    assert response.status_code == 200
    assert "王小明" in body
    assert "王晓红" in body
    assert "另有 1 位成员在其他区域" in body
    _assert_nothing_of(body, outsiders.zhao)
    assert "社区矫正对象" not in body
    assert "独居老人" not in body
    assert body.count('data-testid="household-member"') == 2


def test_household_page_in_english_says_another_area(client, registry, users, outsiders):
    client.force_login(users.grid_worker_a1)
    client.cookies["django_language"] = "en"
    body = client.get(f"/households/{registry.household_a101.pk}/").content.decode()
    assert "1 other member lives in another area" in body
    _assert_nothing_of(body, outsiders.zhao)


def test_household_api_lists_in_scope_members_and_counts_the_others(client, registry, users, outsiders):
    client.force_login(users.grid_worker_a1)
    response = client.get(f"{API}/households/{registry.household_a101.pk}")
    body = response.json()
    assert [p["name"] for p in body["members"]] == ["王小明", "王晓红"]
    assert body["other_members"] == 1
    _assert_nothing_of(response.content.decode(), outsiders.zhao)
    # and community b's staff see 赵秀英 in her own grid, the household not at all
    client.force_login(users.community_b)
    assert client.get(f"{API}/persons/{outsiders.zhao.pk}").status_code == 200
    assert client.get(f"{API}/households/{registry.household_a101.pk}").status_code == 404


def test_head_in_another_area_is_not_named(client, registry, users, outsiders, tree):
    # given household H-A101's head moved to grid b1's records
    Person.objects.filter(pk=registry.wang.pk).update(grid=tree.grid_b1)
    client.force_login(users.grid_worker_a1)
    # when
    api = client.get(f"{API}/households/{registry.household_a101.pk}").json()
    page = client.get(f"/households/{registry.household_a101.pk}/").content.decode()
    # then
    assert api["head_id"] is None
    assert api["other_members"] == 2
    assert "王小明" not in page
    assert "另有 2 位成员在其他区域" in page


def test_room_detail_and_building_chart_leave_out_other_area_residents(client, registry, users, outsiders):
    client.force_login(users.grid_worker_a1)
    # when
    room = client.get(f"{API}/rooms/{registry.room_a102.pk}")
    chart_api = client.get(f"{API}/buildings/{registry.building_a.pk}/chart")
    chart_page = client.get(f"/buildings/{registry.building_a.pk}/")
    # then the lodger of a102 is counted, not described, and her tag is not on the chart
    assert room.json()["residents"] == []
    assert room.json()["other_residents"] == 1
    cells = [c for u in chart_api.json()["units"] for f in u["floors"] for c in f["cells"]]
    a102 = next(c for c in cells if c["room_id"] == registry.room_a102.pk)
    assert (a102["residents"], a102["other_residents"]) == (0, 1)
    assert TagKind.SEVERE_MENTAL not in a102["tag_kinds"]
    assert outsiders.household_b.pk not in a102["household_ids"]
    page = chart_page.content.decode()
    assert "严重精神障碍患者" not in page
    assert "另有 1 人在其他区域" in page
    assert f"/households/{outsiders.household_b.pk}/" not in page
    for body in (room.content.decode(), chart_api.content.decode(), page):
        _assert_nothing_of(body, outsiders.lodger)


def test_export_of_the_grid_holds_no_other_area_member(registry, tree, outsiders):
    # given street-level staff of community a, who may export
    exporter = make_user("street_a", Role.STREET_STAFF, (tree.community_a, AssignmentKind.MEMBER))
    # when
    export = services.person_export(actor=exporter, grid_id=tree.grid_a1.pk)
    # then
    flat = "\n".join("|".join(row) for row in export.rows)
    assert sorted(row[0] for row in export.rows) == ["李强", "王小明", "王晓红"]
    _assert_nothing_of(flat, outsiders.zhao, outsiders.lodger)


def test_sensitive_tags_shown_on_household_chart_and_search_are_audited(client, registry, users, outsiders):
    # given 王晓红 (grid a1, H-A101) under community correction; 李强 (grid a1) is disabled
    services.person_tag_add(actor=ACTOR, person=registry.wang_wife, kind=TagKind.COMMUNITY_CORRECTION,
                            source="司法所", valid_from=date(2020, 1, 1))
    client.force_login(users.grid_worker_a1)
    before = set(AuditEntry.objects.filter(action="person.view_sensitive").values_list("pk", flat=True))
    # when
    household = client.get(f"/households/{registry.household_a101.pk}/")
    client.get(f"/buildings/{registry.building_a.pk}/")
    client.get("/search/", {"q": "李强"})
    # then each showing is logged against the person shown, never against the outsider
    assert "社区矫正对象" in household.content.decode()
    entries = AuditEntry.objects.filter(action="person.view_sensitive").exclude(pk__in=before)
    logged = {(e.target_id, e.reason, e.actor_id) for e in entries}
    worker = users.grid_worker_a1.pk
    assert (str(registry.wang_wife.pk), f"household:{registry.household_a101.pk}", worker) in logged
    assert (str(registry.li.pk), f"building:{registry.building_a.pk}", worker) in logged
    assert (str(registry.wang_wife.pk), f"building:{registry.building_a.pk}", worker) in logged
    assert (str(registry.li.pk), "search", worker) in logged
    assert not any(t in {str(outsiders.zhao.pk), str(outsiders.lodger.pk)} for t, _r, _a in logged)
    assert all(e.fields == ["tags"] for e in entries)


def test_household_without_sensitive_tags_writes_no_audit_entry(client, registry, users):
    client.force_login(users.grid_worker_a1)
    before = AuditEntry.objects.filter(action="person.view_sensitive").count()
    client.get(f"/households/{registry.household_a101.pk}/")
    assert AuditEntry.objects.filter(action="person.view_sensitive").count() == before


def test_enumerating_every_household_as_one_grid_worker_finds_no_out_of_scope_person(
    client, registry, users, outsiders, tree,
):
    # given a second cross-area household: grid b1's household with a member in grid a1
    fang_household = services.household_create(actor=ACTOR, number="H-B101", room=registry.room_b101)
    Person.objects.filter(pk=registry.fang.pk).update(household=fang_household, relation="head")
    Person.objects.filter(pk=registry.li.pk).update(household=fang_household, relation="sibling")
    client.force_login(users.grid_worker_a1)
    scope_grid = tree.grid_a1.pk
    outside = list(Person.objects.exclude(grid_id=scope_grid))
    assert len(outside) >= 3
    last = Household.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    seen = 0
    # when every household id (and some beyond) is asked for on the page and the API
    for pk in range(1, last + 5):
        for url in (f"/households/{pk}/", f"{API}/households/{pk}"):
            response = client.get(url)
            assert response.status_code in (200, 404), url
            if response.status_code == 200:
                seen += 1
                # then nobody outside grid a1 appears
                _assert_nothing_of(response.content.decode(), *outside)
    assert seen == 2  # H-A101 on the page and the API; the others are grid b1's
