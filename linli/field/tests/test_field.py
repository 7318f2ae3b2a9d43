"""The phone app's server side: today's list, pages, the sync endpoint's exactly-once and
conflict answers, scope, corrections and patrols."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import Tree, Users
from linli.accounts.choices import AssignmentKind
from linli.accounts.models import AreaAssignment, User
from linli.care.choices import ItemStatus, VisitReason
from linli.care.models import DueVisit, Visit
from linli.cases.models import Case, CasePhoto
from linli.cases.services import case_transition
from linli.core.errors import ApplicationError
from linli.devices.models import Alarm, Device
from linli.field import services
from linli.field.choices import CorrectionStatus, Outcome
from linli.field.models import Correction, Patrol, Submission
from linli.field.tests.conftest import elder_at_home
from linli.fusion.models import VerificationTask
from linli.registry.models import Building, Person, Room

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
IN_A1 = (120.205, 30.205)


def _place(tree: Tree) -> tuple[Building, Room, Person]:
    return elder_at_home(tree)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _sync(client: Client, key: str, kind: str, payload: dict[str, Any], photos: int = 0) -> Any:
    files = [("photos", (f"p{i}.jpg", JPEG, "image/jpeg")) for i in range(photos)]
    data: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "payload": json.dumps(payload, ensure_ascii=False),
    }
    if files:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data["photos"] = [
            SimpleUploadedFile(name, blob, content_type=ctype) for _f, (name, blob, ctype) in files
        ]
    return client.post("/field/sync/", data)


def test_today_lists_each_kind_of_work_of_the_worker_most_urgent_first(
    tree: Tree, users: Users, open_case: Any
) -> None:
    # given a case dispatched to the a1 worker, a due visit, a verification task and an alarm in grid a1
    building, room, person = _place(tree)
    case = open_case()
    DueVisit.objects.create(
        person=person,
        grid=tree.grid_a1,
        reason_kind=VisitReason.PLAN,
        reason="每月走访",
        due_on=timezone.localdate(),
        status=ItemStatus.OPEN,
    )
    VerificationTask.objects.create(person=person, field="phone", grid=tree.grid_a1)
    device = Device.objects.create(
        kind="smoke",
        external_id="SD-1",
        grid=tree.grid_a1,
        building=building,
        room=room,
        person=person,
    )
    now = timezone.now()
    Alarm.objects.create(
        device=device,
        grid=tree.grid_a1,
        kind="smoke",
        level=1,
        summary="烟感报警",
        raised_at=now,
        last_at=now,
    )

    # when the worker opens the app
    response = _client(users.grid_worker_a1).get("/field/")

    # then every kind is there, the alarm first, with the way there; the pages are kept for offline use
    assert response.status_code == 200
    kinds = [item.kind for item in response.context["today"].items]
    assert kinds[0] == "alarm"
    assert set(kinds) == {"alarm", "case", "visit", "verify"}
    body = response.content.decode()
    assert "近江路5幢 2单元 301室" in body
    assert f"/field/cases/{case.pk}/" in response.context["precache"]
    assert f"/field/persons/{person.pk}/" in response.context["precache"]


def test_another_grids_worker_gets_nothing(tree: Tree, users: Users, open_case: Any) -> None:
    # given a1's case, person and verification task
    _building, _room, person = _place(tree)
    case = open_case()
    task = VerificationTask.objects.create(person=person, field="phone", grid=tree.grid_a1)
    other = _client(users.grid_worker_b1)

    # then the b1 worker's list is empty and a1's pages are 404
    assert other.get("/field/").context["today"].items == []
    for url in (
        f"/field/cases/{case.pk}/",
        f"/field/persons/{person.pk}/",
        f"/field/verify/{task.pk}/",
        f"/field/persons/{person.pk}/visit/",
        f"/field/correct/person/{person.pk}/",
    ):
        assert other.get(url).status_code == 404, url


def test_person_page_is_masked_with_household_and_the_way_there(tree: Tree, users: Users) -> None:
    _building, _room, person = _place(tree)
    body = _client(users.grid_worker_a1).get(f"/field/persons/{person.pk}/").content.decode()
    assert "138****5678" in body
    assert "3301**********1234" in body
    assert "近江路5幢 2单元 301室" in body


def test_staff_of_other_roles_do_not_get_the_worker_app(users: Users) -> None:
    assert _client(users.community_a).get("/field/").status_code == 403


def test_a_report_sent_twice_is_applied_once(tree: Tree, users: Users, cats: Any, key: str) -> None:
    # given a report made offline with two photos and no address
    _place(tree)
    client = _client(users.grid_worker_a1)
    payload = {
        "category": cats.rubbish.pk,
        "description": "路边有垃圾",
        "lon": IN_A1[0],
        "lat": IN_A1[1],
    }

    # when the phone sends it, loses the answer and sends it again
    first = _sync(client, key, "report", payload, photos=2).json()
    second = _sync(client, key, "report", payload, photos=2).json()

    # then one case with its two photos and the nearest building's address; the same answer twice
    assert first["outcome"] == "applied"
    assert second == {**first, "replayed": True}
    case = Case.objects.get(pk=first["result"]["case"])
    assert Case.objects.filter(source="patrol", description="路边有垃圾").count() == 1
    assert CasePhoto.objects.filter(case=case).count() == 2
    assert case.address == "近江路5幢"
    assert Submission.objects.filter(key=key).count() == 1


def test_a_visit_with_photos_is_recorded_once_through_care(
    tree: Tree, users: Users, key: str
) -> None:
    _b, _r, person = _place(tree)
    client = _client(users.grid_worker_a1)
    payload = {"person": person.pk, "notes": "老人独自在家", "findings": {"health": "poor"}}
    assert _sync(client, key, "visit", payload, photos=1).json()["outcome"] == "applied"
    assert _sync(client, key, "visit", payload, photos=1).json()["replayed"] is True
    visit = Visit.objects.get(person=person)
    assert visit.findings == {"health": "poor"}
    assert visit.photos.count() == 1


def test_a_status_change_on_a_case_reassigned_meanwhile_is_a_conflict_in_words(
    users: Users, open_case: Any, key: str
) -> None:
    # given a case dispatched to the a1 worker, whose phone saw version v
    case = open_case()
    seen_version = case.version
    # and the community reassigns it to a department while the worker is offline
    case_transition(
        case=case,
        action="reassign",
        actor=users.community_a,
        data={"department": "huanwei"},
        note="转环卫",
    )

    # when the phone sends the worker's "accept"
    answer = _sync(
        _client(users.grid_worker_a1),
        key,
        "case_action",
        {"case": case.pk, "version": seen_version, "action": "accept", "number": case.number},
    ).json()

    # then nothing changed and the worker reads why; the answer is kept for the key
    assert answer["outcome"] == Outcome.CONFLICT
    assert case.number in answer["message"]
    assert "改派或办结" in answer["message"]
    case.refresh_from_db()
    assert case.status == "dispatched"
    assert Submission.objects.get(key=key).outcome == Outcome.CONFLICT


def test_a_status_change_applies_once(users: Users, open_case: Any, key: str) -> None:
    case = open_case()
    client = _client(users.grid_worker_a1)
    payload = {"case": case.pk, "version": case.version, "action": "accept"}
    assert _sync(client, key, "case_action", payload).json()["outcome"] == "applied"
    assert _sync(client, key, "case_action", payload).json()["replayed"] is True
    case.refresh_from_db()
    assert case.status == "accepted"
    assert case.events.filter(action="accept").count() == 1


def test_sync_refuses_writes_outside_the_workers_grids_in_words(
    tree: Tree, users: Users, key: str
) -> None:
    _b, _r, person = _place(tree)
    answer = _sync(
        _client(users.grid_worker_b1), key, "visit", {"person": person.pk, "notes": "x"}
    ).json()
    assert answer["outcome"] == Outcome.CONFLICT
    assert "不在您的网格" in answer["message"]
    assert not Visit.objects.exists()


def test_a_key_is_the_phones_own(tree: Tree, users: Users, key: str) -> None:
    _b, _r, person = _place(tree)
    _sync(_client(users.grid_worker_a1), key, "visit", {"person": person.pk, "notes": "x"})
    response = _sync(
        _client(users.grid_worker_b1), key, "visit", {"person": person.pk, "notes": "y"}
    )
    assert response.status_code == 400
    assert Visit.objects.count() == 1


def test_sync_without_a_session_asks_to_log_in_again(users: Users, key: str) -> None:
    response = _sync(Client(), key, "visit", {"person": 1})
    assert response.status_code == 401
    assert not Submission.objects.exists()


def test_a_correction_goes_to_the_clerk_not_into_the_registry(
    tree: Tree, users: Users, key: str
) -> None:
    # given the worker asks to correct a phone number
    _b, _r, person = _place(tree)
    answer = _sync(
        _client(users.grid_worker_a1),
        key,
        "correction",
        {"target": "person", "target_id": person.pk, "field": "phone", "proposed": "13900001111"},
    ).json()
    assert answer["outcome"] == "applied"
    person.refresh_from_db()
    assert person.phone_masked == "138****5678"
    # then the community clerk lists it and decides; the other community's clerk sees nothing
    assert "13900001111" in _client(users.community_a).get("/field/corrections/").content.decode()
    assert (
        "13900001111" not in _client(users.community_b).get("/field/corrections/").content.decode()
    )
    row = Correction.objects.get()
    _client(users.community_a).post(f"/field/corrections/{row.pk}/decide/", {"decision": "accept"})
    row.refresh_from_db()
    assert row.status == CorrectionStatus.ACCEPTED


def test_a_patrol_is_stored_with_its_track_and_counted(tree: Tree, users: Users, key: str) -> None:
    start = timezone.now() - timedelta(minutes=30)
    t0 = int(start.timestamp())
    payload = {
        "started_at": start.isoformat(),
        "ended_at": timezone.now().isoformat(),
        "track": [[120.205, 30.205, t0 + 10], [120.205, 30.206, t0 + 60]],
    }
    client = _client(users.grid_worker_a1)
    assert _sync(client, key, "patrol", payload).json()["outcome"] == "applied"
    patrol = Patrol.objects.get()
    assert 100 < patrol.distance_m < 120
    assert 1790 <= patrol.seconds <= 1810
    assert client.get(f"/field/patrols/{patrol.pk}/").status_code == 200
    assert _client(users.grid_worker_b1).get(f"/field/patrols/{patrol.pk}/").status_code == 404
    stats = _client(users.community_a).get("/field/patrols/statistics/")
    assert "gw_a1" in stats.content.decode()
    assert (
        "gw_a1" not in _client(users.community_b).get("/field/patrols/statistics/").content.decode()
    )


@pytest.fixture
def midday() -> Any:
    """Noon in Shanghai today: "today's tracks" start at local midnight, so a walk an hour
    ago is yesterday's when the suite runs between 00:00 and 01:00 (16:00–17:00 UTC)."""
    noon = datetime.combine(timezone.localdate(), time(12), tzinfo=timezone.get_current_timezone())
    with time_machine.travel(noon, tick=True):
        yield noon


def _walk(worker: User, *, start: Any = None, points: list[tuple[float, float]]) -> Patrol:
    """A finished patrol of ``worker`` over ``points`` (lon, lat), a minute apart."""
    start = start or timezone.now() - timedelta(hours=1)
    t0 = int(start.timestamp())
    return services.patrol_record(
        actor=worker,
        started_at=start,
        ended_at=start + timedelta(minutes=len(points)),
        track=[[lon, lat, t0 + 60 * i] for i, (lon, lat) in enumerate(points)],
    )


A1_WALK = [(120.205, 30.205), (120.205, 30.206), (120.206, 30.206)]
B1_WALK = [(120.205, 30.215), (120.206, 30.215)]


def test_a_patrol_belongs_to_the_workers_own_grid_before_one_he_backs_up(
    tree: Tree, users: Users
) -> None:
    # given a1's worker also backs up grid a2 (whatever the order of their ids)
    AreaAssignment.objects.create(
        user=users.grid_worker_a1, area=tree.grid_a2, kind=AssignmentKind.BACKUP
    )
    # when he patrols, then the patrol is grid a1's
    assert _walk(users.grid_worker_a1, points=A1_WALK).grid_id == tree.grid_a1.pk
    # and with the roles swapped it is a2's (so the test does not pass by id order alone)
    AreaAssignment.objects.filter(user=users.grid_worker_a1).update(kind=AssignmentKind.MEMBER)
    AreaAssignment.objects.filter(user=users.grid_worker_a1, area=tree.grid_a2).update(
        kind=AssignmentKind.PRIMARY
    )
    assert _walk(users.grid_worker_a1, points=A1_WALK).grid_id == tree.grid_a2.pk


def _tracks(user: User, query: str = "") -> Any:
    return _client(user).get(f"/field/patrols/tracks.json{query}")


def test_tracks_are_lines_of_the_patrols_in_scope_and_another_area_gets_nothing(
    tree: Tree, users: Users, midday: Any
) -> None:
    # given a patrol in grid a1 today, one in grid b1 today and one in a1 ten days ago
    today_a1 = _walk(users.grid_worker_a1, points=A1_WALK)
    _walk(users.grid_worker_b1, points=B1_WALK)
    _walk(users.grid_worker_a1, start=timezone.now() - timedelta(days=10), points=A1_WALK)
    # when community a asks for today's tracks
    answer = _tracks(users.community_a, "?days=1")
    # then it gets a1's patrol as a GeoJSON line with the worker, times and distance
    assert answer.status_code == 200
    data = answer.json()
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 1
    feature = data["features"][0]
    assert feature["geometry"] == {
        "type": "LineString",
        "coordinates": [list(p) for p in A1_WALK],
    }
    props = feature["properties"]
    assert props["id"] == today_a1.pk
    assert props["worker"] == "gw_a1"
    assert props["grid"] == tree.grid_a1.name
    assert props["minutes"] == 3
    assert 150 < props["distance_m"] < 250
    assert props["url"] == f"/field/patrols/{today_a1.pk}/"
    # and a fortnight takes the older one too
    assert len(_tracks(users.community_a, "?days=14").json()["features"]) == 2
    # and community b sees only b1's, and a1's grid by name is not found for it
    assert [f["properties"]["worker"] for f in _tracks(users.community_b).json()["features"]] == [
        "gw_b1"
    ]
    assert _tracks(users.community_b, f"?area={tree.grid_a1.pk}").status_code == 404
    # and the street sees both, or one grid when it names it
    assert len(_tracks(users.street).json()["features"]) == 2
    only_b1 = _tracks(users.street, f"?area={tree.grid_b1.pk}").json()["features"]
    assert [f["properties"]["worker"] for f in only_b1] == ["gw_b1"]


def test_a_worker_sees_only_his_own_tracks_and_an_auditor_none(
    tree: Tree, users: Users, midday: Any
) -> None:
    _walk(users.grid_worker_a1, points=A1_WALK)
    _walk(users.grid_worker_b1, points=B1_WALK)
    mine = _tracks(users.grid_worker_a1, f"?area={tree.grid_a1.pk}").json()["features"]
    assert [f["properties"]["worker"] for f in mine] == ["gw_a1"]
    assert [
        f["properties"]["worker"] for f in _tracks(users.grid_worker_b1).json()["features"]
    ] == ["gw_b1"]
    assert _tracks(users.grid_worker_b1, f"?area={tree.grid_a1.pk}").status_code == 404
    # auditors read the audit trail, not workers' whereabouts; signed out is sent to log in
    assert _tracks(users.auditor).json()["features"] == []
    assert Client().get("/field/patrols/tracks.json").status_code == 302


def test_tracks_refuse_a_window_that_is_not_one(users: Users) -> None:
    for query in ("?days=0", "?days=32", "?days=x", "?area=y"):
        answer = _tracks(users.street, query)
        assert answer.status_code == 400, query
        assert answer.json()["code"] == "validation"


def test_statistics_show_the_share_of_the_workers_buildings_his_tracks_passed(
    tree: Tree, users: Users, midday: Any
) -> None:
    # given four buildings in grid a1: two beside the walk, two far from it
    for name, lon, lat in [
        ("1幢", 120.2052, 30.2052),
        ("2幢", 120.2062, 30.2058),
        ("3幢", 120.2010, 30.2010),
        ("4幢", 120.2090, 30.2090),
    ]:
        Building.objects.create(
            grid=tree.grid_a1, name=name, address=f"近江路{name}", lon=lon, lat=lat
        )
    # and a building in b1 beside b1's walk, which is not a1's business
    Building.objects.create(
        grid=tree.grid_b1, name="9幢", address="婺江路9幢", lon=120.205, lat=30.2151
    )
    _walk(users.grid_worker_a1, points=A1_WALK)
    _walk(users.grid_worker_b1, points=B1_WALK)
    # when community a reads the statistics
    page = _client(users.community_a).get("/field/patrols/statistics/").content.decode()
    # then a1's worker covered 2 of 4 buildings, and b1's worker is not there
    assert "50% (2/4)" in page
    assert "gw_b1" not in page
    # and the worker sees his own share on the patrol page
    assert "50%" in _client(users.grid_worker_a1).get("/field/patrol/").content.decode()
    # and b1's worker covered his only building
    b1 = _client(users.community_b).get("/field/patrols/statistics/").content.decode()
    assert "100% (1/1)" in b1


def test_manifest_and_service_worker_make_it_installable(users: Users) -> None:
    client = Client()
    manifest = client.get("/field/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["name"] == "邻里网格员"
    assert data["start_url"] == data["scope"] == "/field/"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    worker = client.get("/field/sw.js")
    assert worker["Content-Type"].startswith("application/javascript")
    assert worker["Service-Worker-Allowed"] == "/field/"
    assert "field-pages" in worker.content.decode()


def test_nearest_building_fills_the_address(tree: Tree, users: Users) -> None:
    _place(tree)
    client = _client(users.grid_worker_a1)
    assert (
        client.get("/field/nearest/", {"lon": "120.2051", "lat": "30.2051"}).json()["address"]
        == "近江路5幢"
    )
    assert (
        _client(users.grid_worker_b1)
        .get("/field/nearest/", {"lon": "120.2051", "lat": "30.2051"})
        .json()["address"]
        == ""
    )


def test_unknown_kind_or_bad_key_is_refused(users: Users) -> None:
    client = _client(users.grid_worker_a1)
    assert _sync(client, "bad key", "visit", {}).status_code == 400
    assert _sync(client, uuid.uuid4().hex, "launch", {}).status_code == 400
    assert services.refusal_words("report", {}, ApplicationError("invalid", "x")).endswith(
        "（x）。"
    )


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_same_key_racing_from_four_requests_records_one_visit(tree: Tree, users: Users) -> None:
    # given a visit the phone sends four times at once (a retry storm on a flaky network)
    import threading

    _b, _r, person = _place(tree)
    key = uuid.uuid4().hex
    barrier = threading.Barrier(4, timeout=30)
    answers: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            applied = services.submission_apply(
                actor=users.grid_worker_a1,
                key=key,
                kind="visit",
                payload={"person": person.pk, "notes": "x"},
            )
            answers.append((applied.submission.outcome, applied.replayed))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then one visit, one key row; every request got the applied answer, three as replays
    assert not errors
    assert sorted(answers) == [("applied", False)] + [("applied", True)] * 3
    assert Visit.objects.filter(person=person).count() == 1
    assert Submission.objects.count() == 1


def test_the_phone_scripts_are_plain_es5_for_old_webviews() -> None:
    # WeChat's browser and old Android WebViews: no modules, arrows, let/const, classes, async, templates.
    import re
    from pathlib import Path

    folder = Path(services.__file__).parent
    scripts = [
        *sorted((folder / "static" / "field").glob("*.js")),
        folder / "templates" / "field" / "sw.js",
        # the Web Push handler the field worker includes, and the subscribe button's script
        folder.parent / "notify" / "templates" / "notify" / "sw-push.js",
        folder.parent / "notify" / "static" / "notify" / "push.js",
    ]
    modern = re.compile(
        r"=>|\blet\s|\bconst\s|\bclass\s|\basync\s|\bawait\s|`|^\s*(import|export)\s", re.M
    )
    for script in scripts:
        found = modern.search(script.read_text(encoding="utf-8"))
        assert found is None, f"{script.name}: {found.group(0) if found else ''}"


def test_api_today_is_the_workers_list_and_empty_for_another_grid(
    users: Users, open_case: Any
) -> None:
    case = open_case()
    mine = _client(users.grid_worker_a1).get("/api/v1/field/today").json()
    assert [(item["kind"], item["id"]) for item in mine["items"]] == [("case", case.pk)]
    assert _client(users.grid_worker_b1).get("/api/v1/field/today").json() == {
        "count": 0,
        "items": [],
    }
    assert Client().get("/api/v1/field/today").status_code == 401


def test_junk_in_a_payload_is_refused_not_a_server_error(users: Users, key: str) -> None:
    client = _client(users.grid_worker_a1)
    answer = _sync(
        client, key, "patrol", {"track": [1, "x", [1e400, 2, 3]], "started_at": "yesterday"}
    ).json()
    assert answer["outcome"] == "applied"  # junk points dropped, times defaulted
    answer = _sync(client, uuid.uuid4().hex, "visit", {"person": 1e308}).json()
    assert answer["outcome"] in {"refused", "conflict"}
