"""Emergency mode end to end through the pages: roster, start, marks, board, close, exports."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linli.cockpit import selectors, services
from linli.cockpit.choices import CheckState
from linli.cockpit.models import Incident, IncidentHousehold, IncidentTask
from linli.cockpit.tests.cap_check import cap_errors
from linli.cockpit.tests.conftest import SHAPE, Emergency
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def roster_json(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("cockpit:roster-json"), json.dumps(body), content_type="application/json")


def test_polygon_lists_every_household_inside_vulnerable_first(em: Emergency) -> None:
    roster = selectors.area_roster_for_user(user=em.users.street, shape=SHAPE)
    ids = {h.household_id for h in roster.households}
    assert ids == {em.elder.pk, em.family.pk, em.couple.pk, em.disabled.pk, em.wujiang.pk}
    # the other street's household on the same ground and the one outside are not listed
    assert em.other_household.pk not in ids
    assert em.outside.pk not in ids
    assert [h.household_id for h in roster.vulnerable] == [em.disabled.pk, em.elder.pk, em.family.pk]
    assert roster.vulnerable[2].kinds == ["child"]
    assert roster.residents == 8
    by_address = {b.address: b for b in roster.buildings}
    assert by_address["望江路12号"].worker == em.users.grid_worker_a1
    assert by_address["婺江路8号"].worker == em.users.grid_worker_b1
    assert [h.room_number for u in by_address["望江路12号"].units for h in u.households] == ["101", "102", "201"]


def test_circle_and_building_picks(em: Emergency) -> None:
    circle = {"type": "Circle", "center": [120.203, 30.203], "radius_m": 100}
    roster = selectors.area_roster_for_user(user=em.users.street, shape=circle)
    assert {h.household_id for h in roster.households} == {em.elder.pk, em.family.pk, em.couple.pk}
    picked = selectors.area_roster_for_user(user=em.users.street, building_ids=[em.b14.pk, em.other_building.pk])
    assert [h.household_id for h in picked.households] == [em.disabled.pk]  # the other street's is not ours


def test_another_streets_operator_gets_only_their_own(em: Emergency) -> None:
    response = roster_json(logged_in(em.other_operator), {"shape": SHAPE})
    assert response.status_code == 200
    body = response.json()
    assert [b["address"] for b in body["buildings"]] == ["清波路1号"]
    assert body["households"] == 1


def test_community_operator_sees_only_their_community(em: Emergency) -> None:
    roster = selectors.area_roster_for_user(user=em.users.community_b, shape=SHAPE)
    assert [h.household_id for h in roster.households] == [em.wujiang.pk]


def test_bad_shape_is_refused_with_the_field(em: Emergency) -> None:
    response = roster_json(logged_in(em.users.street), {"shape": {"type": "Polygon", "coordinates": [[[1, 2]]]}})
    assert response.status_code == 400
    assert response.json()["field"] == "shape.coordinates"


def test_grid_workers_may_not_run_emergency_mode(em: Emergency) -> None:
    client = logged_in(em.users.grid_worker_a1)
    assert client.get(reverse("cockpit:emergency")).status_code == 403
    assert roster_json(client, {"shape": SHAPE}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.incident_start(actor=em.users.grid_worker_a1, title="x", shape=SHAPE)


def test_roster_page_masks_phones_and_reveal_is_audited(em: Emergency) -> None:
    client = logged_in(em.users.street)
    page = client.get(reverse("cockpit:emergency"))
    assert page.status_code == 200
    assert "望江路12号" in page.content.decode()
    html = client.post(reverse("cockpit:roster"), json.dumps({"shape": SHAPE}), content_type="application/json")
    text = html.content.decode()
    elder = em.elder.head
    assert elder is not None
    assert elder.phone_masked in text
    assert "独居老人" in text
    assert text.index("赵明") < text.index("王秀英")  # disabled first
    refused = client.post(reverse("cockpit:reveal"), {"person": elder.pk, "reason": "x"})
    assert refused.status_code == 400
    revealed = client.post(reverse("cockpit:reveal"), {"person": elder.pk, "reason": "火情紧急联系"})
    assert revealed.status_code == 200
    assert elder.phone_masked not in revealed.content.decode()
    assert "13800" in revealed.content.decode()
    entry = AuditEntry.objects.filter(action="person.reveal", target_id=str(elder.pk)).get()
    assert entry.reason == "火情紧急联系"
    # the other street's operator cannot reveal our resident
    other = logged_in(em.other_operator).post(reverse("cockpit:reveal"), {"person": elder.pk, "reason": "火情紧急联系"})
    assert other.status_code == 404


def start(em: Emergency) -> Incident:
    client = logged_in(em.users.street)
    response = client.post(reverse("cockpit:start"), {"title": "望江路12号火情", "shape": json.dumps(SHAPE)})
    assert response.status_code == 302
    return Incident.objects.get()


def test_start_creates_a_task_per_responsible_worker_and_is_audited(em: Emergency) -> None:
    incident = start(em)
    assert incident.area == em.tree.street  # grids of two communities: the street holds them
    assert IncidentHousehold.objects.filter(incident=incident).count() == 5
    tasks = {t.worker: t.households for t in IncidentTask.objects.filter(incident=incident)}
    assert tasks == {em.users.grid_worker_a1: 4, em.users.grid_worker_b1: 1}
    assert AuditEntry.objects.filter(action="incident.start", target_id=str(incident.pk)).exists()
    worker_tasks = logged_in(em.users.grid_worker_a1).get(reverse("cockpit:tasks")).content.decode()
    assert "望江路12号火情" in worker_tasks


def test_start_with_nothing_inside_is_refused(em: Emergency) -> None:
    empty = {"type": "Circle", "center": [120.30, 30.30], "radius_m": 50}
    with pytest.raises(ValidationFailed) as error:
        services.incident_start(actor=em.users.street, title="空", shape=empty)
    assert error.value.field == "shape"
    assert not Incident.objects.exists()


def test_worker_marks_households_and_the_board_counts_them(em: Emergency) -> None:
    incident = start(em)
    worker = logged_in(em.users.grid_worker_a1)
    page = worker.get(reverse("cockpit:check", args=[incident.pk])).content.decode()
    assert page.count('data-testid="check-item"') == 4
    rows = selectors.incident_households_for_worker(incident=incident, user=em.users.grid_worker_a1)
    assert rows[0].household_id == em.disabled.pk  # the most urgent first
    for row, state in zip(rows[:3], [CheckState.SAFE, CheckState.NEEDS_HELP, CheckState.EVACUATED], strict=True):
        response = worker.post(reverse("cockpit:mark", args=[incident.pk, row.pk]), {"state": state})
        assert response.status_code == 302
    board = logged_in(em.users.street).get(reverse("cockpit:board", args=[incident.pk])).content.decode()
    assert 'data-testid="board-checked">3<' in board
    assert 'hx-trigger="every 2s"' in board
    assert AuditEntry.objects.filter(action="incident.mark").count() == 3
    # the B1 worker cannot mark an A1 household; the other street sees no incident at all
    b1 = logged_in(em.users.grid_worker_b1)
    assert b1.post(reverse("cockpit:mark", args=[incident.pk, rows[3].pk]), {"state": "safe"}).status_code == 404
    other = logged_in(em.other_operator)
    assert other.get(reverse("cockpit:incident", args=[incident.pk])).status_code == 404
    assert other.get(reverse("cockpit:board", args=[incident.pk])).status_code == 404
    assert other.get(reverse("cockpit:cap", args=[incident.pk])).status_code == 404
    with pytest.raises(NotFound):
        selectors.incident_get_for_user(user=em.other_worker, incident_id=incident.pk)
    # a bad state names the field and changes nothing
    with pytest.raises(ValidationFailed) as error:
        services.incident_household_mark(actor=em.users.grid_worker_a1, item=rows[3], state="pending")
    assert error.value.field == "state"


def test_close_writes_the_report_and_freezes_the_marks(em: Emergency) -> None:
    incident = start(em)
    item = IncidentHousehold.objects.filter(incident=incident, household=em.elder).get()
    services.incident_household_mark(actor=em.users.grid_worker_a1, item=item, state=CheckState.SAFE)
    client = logged_in(em.users.street)
    response = client.post(reverse("cockpit:close", args=[incident.pk]), {"summary": "火已扑灭"})
    assert response.status_code == 302
    assert response["Location"].endswith("/report/")
    report = client.get(response["Location"]).content.decode()
    assert "已核查 1 / 5 户" in report
    assert "火已扑灭" in report
    xlsx = client.get(reverse("cockpit:report-xlsx", args=[incident.pk]))
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert em.elder.number in strings
    assert "独居老人" in strings
    assert "安全" in strings
    assert "1380000" not in strings  # no phone numbers in the report
    with pytest.raises(ValidationFailed):
        services.incident_household_mark(actor=em.users.grid_worker_a1, item=item, state=CheckState.NOT_HOME)
    actions = set(AuditEntry.objects.filter(target_id=str(incident.pk), target_type="cockpit.incident")
                  .values_list("action", flat=True))
    assert actions >= {"incident.start", "incident.close", "incident.export_report", "incident.export_xlsx"}


def test_cap_export_of_the_area_conforms(em: Emergency) -> None:
    incident = start(em)
    response = logged_in(em.users.street).get(reverse("cockpit:cap", args=[incident.pk]))
    assert response.status_code == 200
    assert cap_errors(response.content) == []
    assert b"30.201000,120.201000" in response.content  # lat,lon
    assert "王秀英".encode() not in response.content


def test_json_pages_the_same_households_vulnerable_first(em: Emergency) -> None:
    client = logged_in(em.users.street)
    full = selectors.area_roster_for_user(user=em.users.street, shape=SHAPE)
    first = client.post(reverse("cockpit:roster-json") + "?limit=2", json.dumps({"shape": SHAPE}),
                        content_type="application/json").json()
    assert (first["households"], first["residents"], first["vulnerable"]) == (5, 8, 3)
    assert first["next_offset"] == 2
    rows = first["rows"]
    second = client.post(reverse("cockpit:roster-json") + "?offset=2&limit=10", json.dumps({"shape": SHAPE}),
                         content_type="application/json").json()
    assert second["next_offset"] is None
    rows += second["rows"]
    column = first["columns"].index
    ids = [r[column("id")] for r in rows]
    assert ids[:3] == [em.disabled.pk, em.elder.pk, em.family.pk]
    assert sorted(ids) == sorted(h.household_id for h in full.households)
    members = {r[column("id")]: r[column("members")] for r in rows}
    elder = em.elder.head
    assert elder is not None
    assert [elder.pk, elder.name, elder.phone_masked, ["living_alone_elder"]] in members[em.elder.pk]
    assert sum(len(m) for m in members.values()) == full.residents
    assert "13800" not in json.dumps(first) + json.dumps(second)  # masked phones only
    bad = client.post(reverse("cockpit:roster-json") + "?limit=0", json.dumps({"shape": SHAPE}),
                      content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["field"] == "limit"


def test_start_notifies_each_responsible_worker_once_in_the_same_transaction(
        em: Emergency, monkeypatch: pytest.MonkeyPatch) -> None:
    from linli.notify.models import Notification

    incident = start(em)
    sent = Notification.objects.filter(event_type="cockpit.incident_task").order_by("recipient__username")
    assert {n.recipient for n in sent} == {em.users.grid_worker_a1, em.users.grid_worker_b1}
    assert sent.count() == 2
    a1 = sent.get(recipient=em.users.grid_worker_a1)
    assert a1.level == "emergency"
    assert a1.link == reverse("cockpit:check", args=[incident.pk])
    assert "望江路12号火情" in a1.body
    assert "4户" in a1.body
    assert not IncidentTask.objects.filter(incident=incident, notified_at__isnull=True).exists()

    # a failure after the enqueue (here the audit write) leaves neither incident nor message
    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        services.incident_start(actor=em.users.street, title="第二次", shape=SHAPE)
    assert Incident.objects.count() == 1
    assert Notification.objects.filter(event_type="cockpit.incident_task").count() == 2
