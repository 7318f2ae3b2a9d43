"""Issue 15 (1) on a seeded street: enumerating every household id as one grid worker, on
the page and the API, shows no person registered outside the worker's grid.

The attack that found 73 people of other communities asked for households 1..3000; here
the seeded street has a few hundred households and, besides whatever the generator makes,
twenty members are moved into households of other communities.
"""

from __future__ import annotations

import random
import re

import pytest
from django.test import Client

from conftest import make_user
from linli.accounts.choices import AssignmentKind, Role
from linli.core.actors import SystemActor
from linli.demo.services import demo_seed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Household, Person

pytestmark = pytest.mark.django_db
_PERSON_LINK = re.compile(r"/persons/(\d+)/")


def test_every_household_of_the_street_as_one_grid_worker_shows_nobody_from_elsewhere() -> None:
    # given a seeded street and a grid worker of its most populated grid
    demo_seed(actor=SystemActor("test"), residents=400, seed=15, analyze=False)
    grid = max(Area.objects.filter(level=AreaLevel.GRID),
               key=lambda g: Person.objects.filter(grid=g).count())
    # the demo has given the grid its A-role worker already: ours is the B role (协管)
    worker = make_user("gw_enum", Role.GRID_WORKER, (grid, AssignmentKind.BACKUP))
    inside = set(Person.objects.filter(grid=grid).values_list("pk", flat=True))
    # and twenty people of other grids made members of this grid's households (and back)
    rng = random.Random(15)
    own = list(Household.objects.filter(grid=grid).values_list("pk", flat=True))
    others = list(Person.objects.exclude(grid=grid).values_list("pk", flat=True))
    for person_id in rng.sample(others, 20):
        Person.objects.filter(pk=person_id).update(household_id=rng.choice(own), relation="other")
    outside = {p.pk: p for p in Person.objects.exclude(grid=grid)}
    inside_names = set(Person.objects.filter(grid=grid).values_list("name", flat=True))
    # names only an outsider has: a name shared with an insider proves nothing
    outsider_only = {p.name for p in outside.values()} - inside_names
    identifiers = {p.id_number_masked for p in outside.values() if p.id_number_masked} - set(
        Person.objects.filter(grid=grid).values_list("id_number_masked", flat=True))
    client = Client()
    client.force_login(worker)
    last = Household.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    shown = 0
    others_counted = 0
    # when every household id is asked for
    for pk in range(1, last + 3):
        page = client.get(f"/households/{pk}/")
        api = client.get(f"/api/v1/households/{pk}")
        assert page.status_code == api.status_code
        if api.status_code == 404:
            continue
        shown += 1
        body = api.json()
        # then only members of the worker's grid, by id, on the API and as links on the page
        assert {m["id"] for m in body["members"]} <= inside
        html = page.content.decode()
        assert {int(i) for i in _PERSON_LINK.findall(html)} <= inside
        for text in (html, api.content.decode()):
            assert not any(name in text for name in outsider_only)
            assert not any(number in text for number in identifiers)
        others_counted += body["other_members"]
    assert shown == len(own)
    assert others_counted >= 20
