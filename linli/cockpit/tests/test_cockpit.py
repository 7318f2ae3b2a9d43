"""The cockpit page: KPIs and map layers of the caller's area only, no resident names on it."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from linli.cockpit import selectors
from linli.cockpit.tests.conftest import Emergency

pytestmark = pytest.mark.django_db


def figures(data: selectors.CockpitData) -> dict[str, object]:
    return {testid: value for _label, value, testid in data.figures}


def test_kpis_and_layers_are_scoped_to_the_street(em: Emergency) -> None:
    ours = selectors.cockpit_for_user(user=em.users.street)
    theirs = selectors.cockpit_for_user(user=em.other_operator)
    assert figures(ours)["kpi-persons"] == 9  # eight inside the square and 周杰 in 望江路30号
    assert figures(ours)["kpi-households"] == 6
    assert figures(theirs)["kpi-persons"] == 1
    assert {b["address"] for b in theirs.layers["buildings"]} == {"清波路1号"}
    assert "清波路1号" not in {b["address"] for b in ours.layers["buildings"]}
    assert {g["name"] for g in ours.layers["grids"]} == {"近江社区第1网格", "近江社区第2网格", "婺江社区第1网格"}
    # key households as density: counts at building positions, nothing else
    assert sorted(int(str(d["n"])) for d in ours.layers["density"]) == [1, 1, 1]
    assert all(set(d) == {"lon", "lat", "n"} for d in ours.layers["density"])


def test_cockpit_page_renders_without_names(em: Emergency) -> None:
    client = Client()
    client.force_login(em.users.street)
    response = client.get(reverse("cockpit:cockpit"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="kpi-persons"' in text
    assert "王秀英" not in text
    assert "赵明" not in text
    layers = json.loads(text.split('id="cockpit-map-data" type="application/json">')[1].split("</script>")[0])
    assert set(layers) == {"grids", "communities", "buildings", "cases", "density"}


def test_grid_workers_have_no_cockpit(em: Emergency) -> None:
    client = Client()
    client.force_login(em.users.grid_worker_a1)
    assert client.get(reverse("cockpit:cockpit")).status_code == 403
