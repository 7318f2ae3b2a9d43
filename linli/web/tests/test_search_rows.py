"""The search page's rows from ``linli_web.search_rows`` equal the template loop they replace
(issue #15, "Load"): same bytes, same escaping, same masking, on hostile data, in both languages."""

from __future__ import annotations

from datetime import date

import pytest
from django.template import engines
from django.test import Client
from django.utils import translation

from conftest import Tree, Users
from linli.registry.choices import Relation, Sex, TagKind
from linli.registry.models import Building, Household, Person, Room, Unit
from linli.registry.selectors import person_rows_by_ids
from linli.web.tests.conftest import Street, make_person

# The loop of web/_search_results.html as it was before the rows became a format string.
OLD_ROWS = """{% load i18n linli_web %}{% translate "身份证号" as label_id %}{% translate "电话" as label_phone %}{% translate "住址" as label_address %}{% translate "网格" as label_grid %}{% translate "已故" as label_deceased %}{% url 'web:person' 987654321 as person_url %}{% for person, kinds in rows %}
      <li class="result{% if person.is_deceased %} deceased{% endif %}" data-testid="search-result" data-person-id="{{ person.pk }}">
        <div class="result-head">
          <a class="result-name" href="{{ person_url|with_id:person.pk }}" data-testid="search-result-link">{{ person.name }}</a>
          <span class="muted">{{ person.get_sex_display }}{% if person.birth_date %} · {% blocktranslate with age=person.birth_date|age %}{{ age }}岁{% endblocktranslate %}{% endif %}</span>
          {% if person.is_deceased %}<span class="badge grey">{{ label_deceased }}</span>{% endif %}
        </div>
        <dl class="result-fields">
          <div><dt>{{ label_id }}</dt><dd class="mono">{{ person.id_number_masked|default:"—" }}</dd></div>
          <div><dt>{{ label_phone }}</dt><dd class="mono">{{ person.phone_masked|default:"—" }}</dd></div>
          <div><dt>{{ label_address }}</dt><dd>{% if person.building %}{{ person.building.address }}{% if person.room %} {% room_label person.room.unit.number person.room.number %}{% endif %}{% else %}—{% endif %}</dd></div>
          <div><dt>{{ label_grid }}</dt><dd>{{ person.grid.name|default:"—" }}</dd></div>
        </dl>
        {% if kinds %}<p class="tags">{% for kind in kinds %}<span class="badge tag-{{ kind }}">{{ kind|tag_label }}</span>{% endfor %}</p>{% endif %}
      </li>
    {% endfor %}"""
NEW_ROWS = "{% load linli_web %}{% url 'web:person' 987654321 as person_url %}{% search_rows rows person_url %}"

XSS = "<script>alert('x')</script>\"&amp;"


@pytest.fixture
def hostile(tree: Tree, street: Street) -> list[Person]:
    building = Building.objects.create(grid=tree.grid_a1, name="<b>9幢</b>", address="望江路<i>9</i>号 & \"'",
                                       lon=120.205, lat=30.205, floors=3)
    unit = Unit.objects.create(building=building, number=2)
    room = Room.objects.create(unit=unit, building=building, floor=5, number="5<0>2\"")
    household = Household.objects.create(number="H-<x>", room=room, grid=tree.grid_a1)
    named = make_person(name=XSS, first17="33010219900101123", phone="13811112222", birth=date(1990, 1, 1),
                        sex=Sex.FEMALE, room=room, household=household, relation=Relation.HEAD)
    # deceased, no birth date, no sex, no masked numbers, no grid, no building
    bare = Person.objects.create(name="无名&<氏>", is_deceased=True, grid=None, relation=Relation.OTHER)
    # a building but no room
    no_room = make_person(name="楼里'人'", first17="33010219800101123", phone="13811113333",
                          birth=date(1980, 12, 31), sex=Sex.MALE, room=room, household=household,
                          relation=Relation.OTHER)
    Person.objects.filter(pk=no_room.pk).update(room=None, phone_masked="")
    ids = [named.pk, bare.pk, no_room.pk, street.elder_a.pk, street.spouse_a.pk]
    found = {p.pk: p for p in Person.objects.filter(pk__in=ids).select_related(
        "building", "room", "room__unit", "grid")}
    return [found[pk] for pk in ids]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_search_rows_equal_the_old_template_loop(hostile: list[Person], language: str) -> None:
    # given persons with HTML in every shown field, deceased, missing fields, known and unknown tags
    kinds = [[TagKind.EMPTY_NEST_ELDER, TagKind.DISABLED], [], ["<img src=x onerror=alert(1)>"], [], [TagKind.DISABLED]]
    rows = list(zip(hostile, kinds, strict=True))
    # (the new rows are the selector's plain rows of the same persons, not model instances)
    person_rows = person_rows_by_ids([person.pk for person in hostile])
    assert [row.pk for row in person_rows] == [person.pk for person in hostile]
    engine = engines["django"]
    # when both render the same rows
    with translation.override(language):
        old = engine.from_string(OLD_ROWS).render({"rows": rows})
        new = engine.from_string(NEW_ROWS).render({"rows": list(zip(person_rows, kinds, strict=True))})
    # then byte for byte the same, and nothing hostile got through unescaped
    assert new == old
    assert "<script>" not in new
    assert "<img" not in new
    assert "<b>" not in new
    assert "<i>" not in new
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;&amp;amp;" in new
    assert new.count('data-testid="search-result"') == 5


def test_search_page_shows_masked_numbers_only(client: Client, users: Users, street: Street) -> None:
    # given the street user searching a resident by name
    client.force_login(users.street)
    html = client.get("/search/", {"q": "王小明"}).content.decode()
    # then the row carries the masked ID and phone, never the full ones, and links the person
    elder = street.elder_a
    assert elder.id_number_masked in html
    assert elder.phone_masked in html
    assert street.elder_id_number not in html
    assert street.elder_phone not in html
    assert f'href="/persons/{elder.pk}/"' in html
