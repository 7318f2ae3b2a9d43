"""Cockpit drill-down (a clicked grid's figures) and live alarms: scoped, counts only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.cockpit import selectors
from linli.cockpit.tests.conftest import Emergency
from linli.core.errors import NotFound
from linli.devices.models import Alarm, Device

pytestmark = pytest.mark.django_db


def as_user(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def smoke_alarm(
    em: Emergency, *, building_id: int, grid_id: int, external_id: str = "SMK-1"
) -> Alarm:
    device = Device.objects.create(
        kind="smoke", external_id=external_id, grid_id=grid_id, building_id=building_id
    )
    now = timezone.now()
    return Alarm.objects.create(
        device=device,
        grid_id=grid_id,
        kind="smoke",
        level=1,
        summary="厨房烟雾",
        raised_at=now,
        last_at=now,
    )


def test_grid_drill_counts_residents_vulnerable_cases_and_alarms(em: Emergency) -> None:
    # given an open smoke alarm in grid a1
    smoke_alarm(em, building_id=em.b12.pk, grid_id=em.tree.grid_a1.pk)
    # when the street operator drills into grid a1
    drill = selectors.grid_drill_for_user(user=em.users.street, grid_id=em.tree.grid_a1.pk)
    # then its figures are counts: 7 residents in 4 households, 2 vulnerable, 1 alarm, its worker
    assert drill.residents == 7
    assert drill.households == 4
    assert drill.vulnerable_total == 2
    assert dict(drill.vulnerable) == {"独居老人": 1, "残疾人": 1}
    assert drill.open_alarms == 1
    assert drill.workers == ["gw_a1"]
    assert drill.parent_name == "近江社区"


def test_another_streets_operator_cannot_drill_into_our_grid(em: Emergency) -> None:
    with pytest.raises(NotFound):
        selectors.grid_drill_for_user(user=em.other_operator, grid_id=em.tree.grid_a1.pk)
    assert (
        as_user(em.other_operator)
        .get(reverse("cockpit:grid", args=[em.tree.grid_a1.pk]))
        .status_code
        == 404
    )


def test_drill_fragment_links_to_the_scoped_lists_and_names_nobody(em: Emergency) -> None:
    page = (
        as_user(em.users.street)
        .get(reverse("cockpit:grid", args=[em.tree.grid_a1.pk]))
        .content.decode()
    )
    assert 'data-testid="grid-drill"' in page
    assert f"/persons/?grid={em.tree.grid_a1.pk}" in page
    assert f"/grids/{em.tree.grid_a1.pk}/" in page
    for name in ("王秀英", "赵明", "李强"):
        assert name not in page


def test_live_alarms_are_scoped_and_carry_no_names(em: Emergency) -> None:
    # given an alarm in our street and one in the other street
    smoke_alarm(em, building_id=em.b12.pk, grid_id=em.tree.grid_a1.pk)
    smoke_alarm(
        em, building_id=em.other_building.pk, grid_id=em.other_building.grid_id, external_id="SMK-2"
    )
    # when each operator looks
    ours = selectors.live_alarms_for_user(user=em.users.street)
    theirs = selectors.live_alarms_for_user(user=em.other_operator)
    # then each sees their own, placed at the building
    assert [a.grid for a in ours] == ["近江社区第1网格"]
    assert (ours[0].lon, ours[0].lat) == (em.b12.lon, em.b12.lat)
    assert [a.grid for a in theirs] == ["清波社区第1网格"]
    page = as_user(em.users.street).get(reverse("cockpit:alarms")).content.decode()
    assert 'data-total="1"' in page
    assert "烟雾报警" in page
    assert "厨房烟雾" not in page  # the summary may name a room or a person: not on the wall screen
    assert "cockpit-alarm-data" in page
