"""Opening cases from every channel: grid location, registration, dispatch, idempotency."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from conftest import Tree, Users
from linli.accounts.models import Department, User
from linli.cases.choices import CaseStatus
from linli.cases.models import Case, CaseEvent, CasePhoto, DispatchRule
from linli.cases.selectors import case_inbox_for_user
from linli.cases.services import SYSTEM_AUTO, CaseInput, case_open, case_open_many
from linli.cases.tests.conftest import IN_A1, IN_A2, IN_B1, JPEG, OUTSIDE, PNG, Cats
from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError, ValidationFailed
from linli.core.models import AuditEntry
from linli.core.pii import decrypt
from linli.core.selectors import audit_chain_verify
from linli.notify.models import Notification
from linli.registry.models import Building

IOT = SystemActor("apikey:iot-gw")


def test_community_report_is_located_registered_and_dispatched_to_the_grid_worker(
    users: Users, cats: Cats, tree: Tree,
) -> None:
    # given / when community staff report a dispute in grid a1 (rule: the grid's worker)
    case, created = case_open(actor=users.community_a, source="staff", category=cats.neighbours,
                              description="邻居因漏水争吵", lon=IN_A1[0], lat=IN_A1[1])
    # then
    assert created
    case.refresh_from_db()
    assert case.grid_id == tree.grid_a1.pk
    assert case.status == CaseStatus.DISPATCHED
    assert case.assignee_id == users.grid_worker_a1.pk
    assert case.registered_at is not None
    assert case.dispatched_at is not None
    assert case.due_at is not None
    assert case.stage == "handle"
    assert case.stage_due_at == case.due_at
    assert re.fullmatch(r"[A-Z]+-\d{8}-\d{4}", case.number)
    assert list(case.events.values_list("action", flat=True)) == ["open", "register", "dispatch"]
    assert AuditEntry.objects.filter(action="case.open", target_id=str(case.pk)).count() == 1


def test_grid_workers_own_report_is_not_dispatched_back_to_him_but_waits_for_the_street(
    users: Users, cats: Cats, tree: Tree, settings: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    # given the rule for disputes names the grid's worker, who is the one reporting
    # when
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = case_open(actor=users.grid_worker_a1, source="patrol", category=cats.neighbours,
                            description="邻居因漏水争吵", lon=IN_A1[0], lat=IN_A1[1])
    # then it is registered, assigned to nobody, in the street's dispatch queue
    case.refresh_from_db()
    assert case.status == CaseStatus.REGISTERED
    assert case.assignee_id is None
    assert case_inbox_for_user(user=users.street) == [case]
    assert case not in case_inbox_for_user(user=users.grid_worker_a1)
    notified = set(Notification.objects.filter(object_type="cases.Case", object_id=str(case.pk))
                   .values_list("recipient_id", "event_type"))
    assert notified == {(users.street.pk, "case.unruled")}


def test_case_without_a_dispatch_rule_goes_to_the_streets_dispatch_queue(
    users: Users, cats: Cats, settings: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    # given no rule for any category
    DispatchRule.objects.all().delete()
    # when a grid worker reports a city matter
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = case_open(actor=users.grid_worker_a1, source="patrol", category=cats.rubbish,
                            description="路边暴露垃圾", lon=IN_A1[0], lat=IN_A1[1])
    # then it waits for the street, not for the reporter
    case.refresh_from_db()
    assert (case.status, case.assignee_id, case.department_id) == (CaseStatus.REGISTERED, None, None)
    assert case in case_inbox_for_user(user=users.street)
    assert case not in case_inbox_for_user(user=users.grid_worker_a1)
    assert list(Notification.objects.filter(object_type="cases.Case", object_id=str(case.pk))
                .values_list("recipient_id", "event_type")) == [(users.street.pk, "case.unruled")]


def test_city_case_is_dispatched_to_the_responsible_department(users: Users, cats: Cats) -> None:
    # when
    case, _ = case_open(actor=users.grid_worker_a1, source="patrol", category=cats.rubbish,
                        description="路边暴露垃圾", lon=IN_A2[0], lat=IN_A2[1])
    # then
    assert case.status == CaseStatus.DISPATCHED
    assert case.department == Department.objects.get(code="huanwei")
    assert case.assignee_id is None


def test_hotline_case_by_address_finds_the_grid_through_the_registry_building(
    users: Users, cats: Cats, tree: Tree,
) -> None:
    # given a building of grid b1
    Building.objects.create(grid=tree.grid_b1, name="3幢", address="望江路12号", lon=IN_B1[0], lat=IN_B1[1])
    # when the caller gives the flat's address
    case, _ = case_open(actor=users.street, source="hotline", category=cats.rubbish,
                        description="楼下垃圾没人清", address="望江路12号3单元501",
                        reporter_name="王先生", callback_phone="138 1234 5678")
    # then
    assert case.grid_id == tree.grid_b1.pk
    assert case.callback_phone_masked == "138****5678"
    assert decrypt(case.callback_phone_enc, field="case.callback_phone") == "13812345678"
    entry = AuditEntry.objects.get(action="case.open", target_id=str(case.pk))
    assert "13812345678" not in str(entry.fields) + entry.reason


def test_resident_report_waits_for_a_dispatcher_to_register_it(resident: User, cats: Cats) -> None:
    # when
    case, _ = case_open(actor=resident, source="resident", category=cats.rubbish,
                        description="小区门口垃圾", lon=IN_A1[0], lat=IN_A1[1])
    # then
    assert case.status == CaseStatus.REPORTED
    assert case.stage == "register"
    assert case.stage_due_at is not None


def test_case_outside_every_grid_is_kept_for_manual_dispatch(users: Users, cats: Cats) -> None:
    # when
    case, _ = case_open(actor=users.street, source="staff", category=cats.neighbours,
                        description="辖区外来电", lon=OUTSIDE[0], lat=OUTSIDE[1])
    # then
    assert case.grid_id is None
    assert case.status == CaseStatus.REGISTERED


def test_same_source_key_returns_the_same_case(tree: Tree, cats: Cats) -> None:
    # given
    kwargs: dict[str, Any] = {"actor": IOT, "source": "iot", "category": cats.manhole,
                              "description": "井盖位移传感器报警", "lon": IN_A1[0], "lat": IN_A1[1],
                              "source_key": "sensor-17:2026-11-23T08:00"}
    first, created_first = case_open(**kwargs)
    # when
    again, created_again = case_open(**kwargs)
    # then
    assert created_first
    assert not created_again
    assert again.pk == first.pk
    assert Case.objects.filter(source="iot").count() == 1


def test_same_key_from_another_source_is_another_case(tree: Tree, cats: Cats) -> None:
    common: dict[str, Any] = {"actor": IOT, "category": cats.manhole, "description": "报警",
                              "lon": IN_A1[0], "lat": IN_A1[1], "source_key": "k-1"}
    a, _ = case_open(source="iot", **common)
    b, _ = case_open(source="camera", **common)
    assert a.pk != b.pk


def test_patrol_case_handled_on_the_spot_is_closed_at_once(users: Users, cats: Cats) -> None:
    # when
    case, _ = case_open(actor=users.grid_worker_a1, source="patrol", category=cats.rubbish,
                        description="已清理暴露垃圾", lon=IN_A1[0], lat=IN_A1[1],
                        handled_on_spot=True, photos=[JPEG])
    # then
    assert case.status == CaseStatus.CLOSED
    assert case.handled_on_spot
    assert case.handled_at
    assert case.closed_at
    assert case.dispatched_at is None
    assert case.assignee_id == users.grid_worker_a1.pk
    assert list(case.events.values_list("action", flat=True)) == [
        "open", "handle_on_spot", "verify_pass", "close"]
    assert case.photos.count() == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"source": "fax"}, "source"),
    ({"category": "nope"}, "category"),
    ({"category": "01"}, "category"),  # a 大类, not a 小类
    ({"description": "   "}, "description"),
    ({"description": "长" * 2001}, "description"),
    ({"lon": None, "lat": 30.2}, "lon"),
    ({"lon": 120.2, "lat": None}, "lat"),
    ({"lon": 200.0}, "lon"),
    ({"lat": float("nan")}, "lat"),
    ({"lon": None, "lat": None, "address": ""}, "lon"),
    ({"level": 0}, "level"),
    ({"level": 6}, "level"),
    ({"callback_phone": "call me"}, "callback_phone"),
    ({"reporter_name": "名" * 51}, "reporter_name"),
    ({"source_key": "k" * 101}, "source_key"),
    ({"source": "staff", "handled_on_spot": True}, "handled_on_spot"),
    ({"photos": [b"%PDF-1.7 not an image"]}, "photos"),
    ({"photos": [PNG] * 10}, "photos"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    users: Users, cats: Cats, change: dict[str, Any], field: str,
) -> None:
    # given
    kwargs: dict[str, Any] = {"actor": users.community_a, "source": "staff", "category": cats.rubbish,
                              "description": "描述", "lon": IN_A1[0], "lat": IN_A1[1]}
    kwargs.update(change)
    if kwargs["source"] == "patrol":
        kwargs["actor"] = users.grid_worker_a1
    # when
    with pytest.raises(ApplicationError) as refused:
        case_open(**kwargs)
    # then
    assert refused.value.field == field
    assert Case.objects.count() == 0
    assert AuditEntry.objects.filter(action="case.open").count() == 0


def test_a_role_cannot_report_through_a_channel_that_is_not_its_own(resident: User, cats: Cats) -> None:
    with pytest.raises(ApplicationError) as refused:
        case_open(actor=resident, source="patrol", category=cats.rubbish, description="x",
                  lon=IN_A1[0], lat=IN_A1[1])
    assert refused.value.field == "source"
    assert refused.value.code == "permission_denied"


def test_photo_larger_than_ten_megabytes_is_refused(users: Users, cats: Cats) -> None:
    big = PNG + b"\x00" * (10 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as refused:
        case_open(actor=users.community_a, source="staff", category=cats.rubbish, description="x",
                  lon=IN_A1[0], lat=IN_A1[1], photos=[big])
    assert refused.value.field == "photos"


def test_photos_are_stored_under_the_data_folder_by_content_hash(users: Users, cats: Cats) -> None:
    # when
    case, _ = case_open(actor=users.community_a, source="staff", category=cats.rubbish,
                        description="有照片", lon=IN_A1[0], lat=IN_A1[1], photos=[PNG, JPEG])
    # then
    photos = list(CasePhoto.objects.filter(case=case))
    assert {p.content_type for p in photos} == {"image/png", "image/jpeg"}
    for photo in photos:
        path = Path(photo.file.path)
        assert path.is_file()
        assert path.is_relative_to(Path(settings.DATA_DIR) / "files" / "cases")
        assert photo.sha256 in path.name


def test_batch_intake_keeps_order_dedups_and_audits_every_case(tree: Tree, cats: Cats) -> None:
    # given an existing case and a batch repeating its key and one key twice
    existing, _ = case_open(actor=IOT, source="iot", category=cats.manhole, description="旧",
                            lon=IN_A1[0], lat=IN_A1[1], source_key="old")
    items = [
        CaseInput(source="iot", category=cats.manhole.pk, description="a", lon=IN_A2[0], lat=IN_A2[1], source_key="n1"),
        CaseInput(source="iot", category=cats.manhole.code, description="b", lon=IN_B1[0], lat=IN_B1[1], source_key="old"),
        CaseInput(source="iot", category=cats.manhole, description="c", lon=IN_A1[0], lat=IN_A1[1], source_key="n1"),
        CaseInput(source="iot", category=cats.manhole, description="d", lon=OUTSIDE[0], lat=OUTSIDE[1]),
    ]
    # when
    result = case_open_many(actor=IOT, items=items)
    # then
    assert [created for _c, created in result] == [True, False, False, True]
    assert result[1][0].pk == existing.pk
    assert result[2][0].pk == result[0][0].pk
    assert result[0][0].grid_id == tree.grid_a2.pk
    assert result[3][0].grid_id is None
    assert Case.objects.count() == 3
    new_ids = {str(result[0][0].pk), str(result[3][0].pk)}
    assert set(AuditEntry.objects.filter(action="case.open").values_list("target_id", flat=True)) >= new_ids
    assert audit_chain_verify().ok
    assert CaseEvent.objects.filter(case=result[0][0], action="dispatch").exists()


def test_batch_of_known_keys_only_returns_their_cases_and_writes_nothing(tree: Tree, cats: Cats) -> None:
    # given
    existing, _ = case_open(actor=IOT, source="iot", category=cats.manhole, description="旧",
                            lon=IN_A1[0], lat=IN_A1[1], source_key="old")
    entries = AuditEntry.objects.count()
    # when
    result = case_open_many(actor=IOT, items=[
        CaseInput(source="iot", category=cats.manhole, description="又", lon=IN_A1[0], lat=IN_A1[1], source_key="old"),
    ])
    # then
    assert [(c.pk, created) for c, created in result] == [(existing.pk, False)]
    assert Case.objects.count() == 1
    assert AuditEntry.objects.count() == entries


def test_batch_with_one_bad_item_is_refused_whole_with_its_index(tree: Tree, cats: Cats) -> None:
    items = [CaseInput(source="iot", category=cats.manhole, description="ok", lon=IN_A1[0], lat=IN_A1[1]),
             CaseInput(source="iot", category=cats.manhole, description="", lon=IN_A1[0], lat=IN_A1[1])]
    with pytest.raises(ValidationFailed) as refused:
        case_open_many(actor=IOT, items=items)
    assert refused.value.field == "description"
    assert refused.value.extra["index"] == 1
    assert Case.objects.count() == 0


def test_numbers_are_unique_and_consecutive_within_a_day(tree: Tree, cats: Cats) -> None:
    items = [CaseInput(source="iot", category=cats.manhole, description=str(i), lon=IN_A1[0], lat=IN_A1[1])
             for i in range(5)]
    numbers = [c.number for c, _ in case_open_many(actor=IOT, items=items)]
    single, _ = case_open(actor=IOT, source="iot", category=cats.manhole, description="x", lon=IN_A1[0], lat=IN_A1[1])
    tails = [int(n.rsplit("-", 1)[1]) for n in [*numbers, single.number]]
    assert tails == list(range(tails[0], tails[0] + 6))


def test_dispatch_notifies_the_assignee_after_commit(
    users: Users, cats: Cats, settings: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    # when
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = case_open(actor=users.community_a, source="staff", category=cats.neighbours,
                            description="纠纷", lon=IN_A1[0], lat=IN_A1[1])
    # then
    notice = Notification.objects.get(object_id=str(case.pk), recipient=users.grid_worker_a1,
                                      event_type="case.dispatched")
    assert notice.body == f"事件{case.number}已派遣给您,请及时处置"
    assert notice.link == f"/cases/{case.pk}/"


needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_get_one_case(tree: Tree, cats: Cats) -> None:
    # given
    barrier = threading.Barrier(4)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait()
            case, created = case_open(actor=IOT, source="iot", category=cats.manhole.pk, description="race",
                                      lon=IN_A1[0], lat=IN_A1[1], source_key="same-key")
            results.append((case.pk, created))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert not errors
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Case.objects.filter(source_key="same-key").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_racing_on_shared_keys_open_each_key_once_without_the_one_by_one_path(
    tree: Tree, cats: Cats, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: both batches read the table before either inserts, so one loses the race
    from linli.cases import services

    read_both = threading.Barrier(2, timeout=10)
    first_read: set[int] = set()
    known_and_fresh = services._known_and_fresh

    def read_then_wait(valid: Any) -> Any:
        found = known_and_fresh(valid)
        if threading.get_ident() not in first_read:
            first_read.add(threading.get_ident())
            read_both.wait()
        return found

    one_by_one: list[Any] = []
    open_one = services._open_one

    def counted(*args: Any, **kwargs: Any) -> Any:
        one_by_one.append(args)
        return open_one(*args, **kwargs)

    monkeypatch.setattr(services, "_known_and_fresh", read_then_wait)
    monkeypatch.setattr(services, "_open_one", counted)
    results: dict[str, list[tuple[Case, bool]]] = {}
    errors: list[BaseException] = []

    def batch(name: str, keys: list[str]) -> None:
        try:
            results[name] = case_open_many(actor=IOT, items=[
                CaseInput(source="iot", category=cats.manhole, description=key, lon=IN_A1[0], lat=IN_A1[1],
                          source_key=key) for key in keys])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=batch, args=("a", ["s1", "s2", "a1"])),
               threading.Thread(target=batch, args=("b", ["s1", "s2", "b1"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert not errors
    assert not one_by_one
    assert sorted(Case.objects.filter(source="iot").values_list("source_key", flat=True)) == ["a1", "b1", "s1", "s2"]
    for n in (0, 1):  # the shared keys: one case each, created by exactly one batch
        assert results["a"][n][0].pk == results["b"][n][0].pk
        assert results["a"][n][1] != results["b"][n][1]
    assert results["a"][2][1]
    assert results["b"][2][1]
    assert AuditEntry.objects.filter(action="case.open").count() == 4


def test_system_actor_opens_integration_cases_and_registers_them(tree: Tree, cats: Cats) -> None:
    case, _ = case_open(actor=SYSTEM_AUTO, source="camera", category=cats.rubbish, description="AI识别",
                        lon=IN_A1[0], lat=IN_A1[1])
    assert case.status == CaseStatus.DISPATCHED
    assert case.reporter_id is None


def test_new_case_comes_back_with_what_the_reply_shows_without_another_query(
    users: Users, cats: Cats, tree: Tree, django_assert_num_queries: Any,
) -> None:
    # given a case dispatched to a department
    case, created = case_open(actor=users.grid_worker_a1, source="patrol", category=cats.rubbish,
                              description="路边暴露垃圾", lon=IN_A2[0], lat=IN_A2[1])
    assert created
    # when the API projects it for the reply
    from linli.cases.api import case_out

    with django_assert_num_queries(0):
        out = case_out(case)
    # then grid, department and major category come from the process caches, and match the rows
    assert out["grid_name"] == tree.grid_a2.name
    assert out["department"] == Department.objects.get(code="huanwei").name
    assert out["major"] == cats.major_city.name


def test_intake_follows_a_grid_moved_by_a_bulk_update_once_the_locator_is_reset(
    users: Users, cats: Cats, tree: Tree,
) -> None:
    from conftest import square
    from linli.geo.models import Area
    from linli.geo.selectors import grid_locator_reset

    # given a first case that warmed the intake caches (locator included)
    first, _ = case_open(actor=IOT, source="iot", category=cats.rubbish, description="满溢", lon=IN_A1[0], lat=IN_A1[1])
    assert first.grid_id == tree.grid_a1.pk
    # when grid a1 is moved away by a bulk update (no updated_at) and the locator is reset
    Area.objects.filter(pk=tree.grid_a1.pk).update(boundary=square(110.0, 20.0))
    grid_locator_reset()
    second, _ = case_open(actor=IOT, source="iot", category=cats.rubbish, description="满溢", lon=IN_A1[0], lat=IN_A1[1])
    # then the new boundary applies: the point is in no grid now
    assert second.grid_id is None


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_keep_numbers_gapless_the_audit_chain_whole_and_rollups_exact(
    tree: Tree, cats: Cats,
) -> None:
    # given six writers at once, each opening cases one by one (the HTTP path), in a small
    # batch (group commit) and in a large one (the COPY path): both write paths side by side
    from linli.cases.rollups import rollup_rebuild
    from linli.cases.services import _TOGETHER_MAX
    from linli.cases.tests.test_stats import snapshot

    start = threading.Barrier(6, timeout=10)
    errors: list[BaseException] = []
    large = _TOGETHER_MAX + 5
    per_writer = 4 + 3 + large

    def writer(n: int) -> None:
        def item(k: str) -> CaseInput:
            return CaseInput(source="iot", category=cats.manhole, description=k, lon=IN_A1[0] if n % 2 else IN_B1[0],
                             lat=IN_A1[1] if n % 2 else IN_B1[1], source_key=f"w{n}-{k}")
        try:
            start.wait()
            for k in range(4):
                case_open(actor=IOT, source="iot", category=cats.manhole.pk, description="one", lon=IN_A2[0],
                          lat=IN_A2[1], source_key=f"w{n}-one{k}")
            case_open_many(actor=IOT, items=[item(f"small{k}") for k in range(3)])
            case_open_many(actor=IOT, items=[item(f"large{k}") for k in range(large)])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert not errors
    by_day: dict[str, list[int]] = {}  # the counter restarts each day (the run may cross midnight)
    for number in Case.objects.values_list("number", flat=True):
        day, tail = number.rsplit("-", 1)
        by_day.setdefault(day, []).append(int(tail))
    assert sum(map(len, by_day.values())) == 6 * per_writer
    assert all(sorted(tails) == list(range(1, len(tails) + 1)) for tails in by_day.values())  # no gap, no duplicate
    assert audit_chain_verify().ok
    assert AuditEntry.objects.filter(action="case.open").count() == 6 * per_writer
    assert CaseEvent.objects.filter(action="open").count() == 6 * per_writer
    incremental = snapshot()
    rollup_rebuild()
    assert snapshot() == incremental
