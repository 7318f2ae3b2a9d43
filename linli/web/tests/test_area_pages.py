"""Dashboard, area tree and grid pages: what each role sees, and 404 outside the scope."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from conftest import Tree, Users
from linli.web.tests.conftest import Street


def test_dashboard_counts_only_the_users_community(client: Client, users: Users, street: Street) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:home"))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "辖区概况" in body
    figures = {f.key: f.value for f in response.context["figures"]}
    assert figures["persons"] == 2
    assert figures["buildings"] == 1
    assert figures["elders"] == 2
    tags = {f.label: f.value for f in response.context["tag_figures"]}
    assert tags == {"空巢老人": 1, "残疾人": 1}


def test_auditor_lands_on_the_audit_page(client: Client, users: Users) -> None:
    # given
    client.force_login(users.auditor)
    # when
    response = client.get(reverse("web:home"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("web:audit")


def test_area_tree_shows_own_community_and_grid_workers(client: Client, users: Users, tree: Tree) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:areas"))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "近江社区第1网格" in body
    assert reverse("web:grid", args=[tree.grid_a1.pk]) in body
    assert "gw_a1" in body
    assert "婺江社区" not in body


def test_grid_page_lists_buildings_with_residents_and_workers(
    client: Client, users: Users, tree: Tree, street: Street,
) -> None:
    # given
    client.force_login(users.grid_worker_a1)
    # when
    response = client.get(reverse("web:grid", args=[tree.grid_a1.pk]))
    # then
    assert response.status_code == 200
    body = response.content.decode()
    assert "近江社区第1网格" in body
    assert "主责(A角)" in body
    assert "望江路12号" in body
    [building] = response.context["buildings"]
    assert building.resident_count == 2
    assert 'id="grid-map-data"' in body


def test_grid_worker_gets_404_for_another_grid(client: Client, users: Users, tree: Tree) -> None:
    # given
    client.force_login(users.grid_worker_b1)
    # when
    response = client.get(reverse("web:grid", args=[tree.grid_a1.pk]))
    # then
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_community_page_is_not_a_grid_page(client: Client, users: Users, tree: Tree) -> None:
    # given
    client.force_login(users.community_a)
    # when
    response = client.get(reverse("web:grid", args=[tree.community_a.pk]))
    # then
    assert response.status_code == 404


def test_auditor_cannot_search_the_registry(client: Client, users: Users) -> None:
    # given
    client.force_login(users.auditor)
    # when
    response = client.get(reverse("web:search"), {"q": "王"})
    # then
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()
