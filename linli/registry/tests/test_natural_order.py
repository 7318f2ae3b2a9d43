"""Buildings in natural order (issue 16 item 12): 1幢 < 2幢 < 10幢, on the grid page too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.registry import services
from linli.registry.tests.conftest import ACTOR
from linli.registry.text import natural_key


def test_numbers_inside_names_compare_as_numbers():
    names = ["望江路2号10幢", "望江路2号1幢", "望江路10号1幢", "望江路2号2幢", "江景苑"]
    assert sorted(names, key=natural_key) == ["望江路2号1幢", "望江路2号2幢", "望江路2号10幢", "望江路10号1幢", "江景苑"]


@pytest.mark.django_db
def test_the_grid_page_lists_buildings_in_natural_order(client: Client, users, tree):
    for number in (10, 1, 2):
        services.building_create(actor=ACTOR, grid=tree.grid_a2, name=f"{number}幢", compound="春江苑",
                                 address=f"春江路5号春江苑{number}幢", lon=120.215, lat=30.205)
    client.force_login(users.community_a)
    body = client.get(reverse("web:grid", args=[tree.grid_a2.pk])).content.decode()
    positions = [body.index(f"春江苑{n}幢") for n in (1, 2, 10)]
    assert positions == sorted(positions)
