"""The generator on its own (no database): determinism, valid identifiers, proportions, geometry."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import shapely
from shapely.geometry import shape
from stdnum.cn import ric, uscc

from linli.demo.generator import StreetGenerator, plan_street
from linli.demo.identity import FIRST_ISSUE_YEAR
from linli.demo.people import REFERENCE_DATE
from linli.demo.rows import GridBatch, IdCounters, PersonRow
from linli.geo.choices import AreaLevel
from linli.registry.choices import HukouStatus, RoomUse, TagKind


def generate(*, seed: int, residents: int) -> list[GridBatch]:
    ids = IdCounters()
    plan = plan_street(seed=seed, residents=residents, ids=ids)
    return list(StreetGenerator(plan, ids=ids).grid_batches())


@pytest.fixture(scope="module")
def small_street() -> list[GridBatch]:
    return generate(seed=7, residents=3000)


def first_persons(batches: list[GridBatch], count: int = 50) -> list[tuple[str, str, date, str]]:
    persons = [p for b in batches for p in b.persons][:count]
    return [(p.name, p.id_number, p.birth_date, p.phone) for p in persons]


def age(birth: date) -> int:
    return REFERENCE_DATE.year - birth.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))


def assert_valid_ric(number: str) -> None:
    """stdnum's check plus its county table; cards carry the county at issue, not at birth."""
    assert ric.calc_check_digit(number) == number[-1]
    birth = ric.get_birth_date(number)
    if birth.year >= FIRST_ISSUE_YEAR:
        ric.validate(number)
    else:
        # Born before the first cards: the county must have existed when cards were issued.
        probe = f"{number[:6]}{FIRST_ISSUE_YEAR}0101{number[14:17]}0"
        ric.validate(probe[:17] + ric.calc_check_digit(probe))


def test_same_seed_gives_the_same_street():
    # given / when
    first = generate(seed=11, residents=800)
    second = generate(seed=11, residents=800)
    # then
    assert first_persons(first) == first_persons(second)
    assert [b.address for b in first[3].buildings] == [b.address for b in second[3].buildings]
    assert [o.credit_code for b in first for o in b.organisations] == [
        o.credit_code for b in second for o in b.organisations
    ]


def test_different_seed_gives_a_different_street():
    # given / when
    first = generate(seed=11, residents=800)
    other = generate(seed=12, residents=800)
    # then
    assert first_persons(first) != first_persons(other)


def test_the_street_has_exactly_the_residents_asked_for(small_street):
    assert sum(len(b.persons) for b in small_street) == 3000


def test_every_id_number_is_valid_gb11643_and_unique(small_street):
    # given
    numbers = [p.id_number for b in small_street for p in b.persons if p.id_number]
    # then
    for number in numbers:
        assert_valid_ric(number)
    assert len(set(numbers)) == len(numbers)


def test_sex_and_birth_date_match_the_id_number(small_street):
    for person in (p for b in small_street for p in b.persons if p.id_number):
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert (int(person.id_number[16]) % 2 == 1) == (person.sex == "M")


def test_foreigners_have_no_chinese_id_number(small_street):
    foreigners = [p for b in generate(seed=3, residents=20000) for p in b.persons if p.hukou == HukouStatus.FOREIGN]
    assert foreigners
    assert all(p.id_number == "" for p in foreigners)


def test_every_credit_code_is_valid_gb32100_and_unique(small_street):
    codes = [o.credit_code for b in small_street for o in b.organisations if o.credit_code]
    assert codes
    for code in codes:
        uscc.validate(code)
    assert len(set(codes)) == len(codes)


def test_mobile_numbers_look_like_mainland_mobiles(small_street):
    phones = [p.phone for b in small_street for p in b.persons if p.phone]
    assert phones
    assert all(len(p) == 11 and p[0] == "1" and p[1] in "3456789" and p.isdigit() for p in phones)


def test_age_pyramid_is_that_of_an_old_urban_district(small_street):
    # given
    ages = [age(p.birth_date) for b in small_street for p in b.persons]
    # then
    assert 0.20 <= sum(a >= 60 for a in ages) / len(ages) <= 0.30
    assert 0.03 <= sum(a >= 80 for a in ages) / len(ages) <= 0.08
    assert 0.05 <= sum(a < 15 for a in ages) / len(ages) <= 0.18


def test_households_average_about_two_and_a_half_persons(small_street):
    persons = sum(len(b.persons) for b in small_street)
    households = sum(len(b.households) for b in small_street)
    sizes = Counter(Counter(p.household_id for b in small_street for p in b.persons).values())
    assert 2.2 <= persons / households <= 2.7
    assert max(sizes) <= 6
    assert sizes[1] > 0


def test_migrants_are_a_fifth_and_concentrated_in_rented_rooms(small_street):
    # given
    rooms = {r.id: r.use for b in small_street for r in b.rooms}
    persons = [p for b in small_street for p in b.persons]
    migrants = [p for p in persons if p.hukou == HukouStatus.MIGRANT]
    locals_ = [p for p in persons if p.hukou == HukouStatus.LOCAL]

    def rented_share(group: list[PersonRow]) -> float:
        rented = sum(1 for p in group if p.room_id is not None and rooms[p.room_id] == RoomUse.RENTED)
        return rented / len(group)

    # then
    assert 0.14 <= len(migrants) / len(persons) <= 0.26
    assert rented_share(migrants) > 0.45
    assert rented_share(migrants) > 5 * rented_share(locals_)


def test_room_uses_match_an_old_street(small_street):
    uses = Counter(r.use for b in small_street for r in b.rooms)
    total = sum(uses.values())
    assert 0.10 <= uses[RoomUse.RENTED] / total <= 0.22
    assert uses[RoomUse.VACANT] > 0
    assert uses[RoomUse.SELF_OCCUPIED] / total > 0.6


def test_key_population_tags_are_present_with_sources(small_street):
    # given
    tags = [t for b in small_street for t in b.tags]
    persons = sum(len(b.persons) for b in small_street)
    kinds = Counter(t.kind for t in tags)
    # then
    for kind in (TagKind.LIVING_ALONE_ELDER, TagKind.EMPTY_NEST_ELDER, TagKind.OLDEST_OLD,
                 TagKind.DISABLED, TagKind.SUBSISTENCE, TagKind.RENTED_ROOM, TagKind.VETERAN):
        assert kinds[kind] > 0, kind
    assert 0.03 <= kinds[TagKind.DISABLED] / persons <= 0.09
    assert 0.004 <= kinds[TagKind.SUBSISTENCE] / persons <= 0.03
    assert all(t.source for t in tags)
    assert all(t.valid_to is None or t.valid_to >= t.valid_from for t in tags)
    assert {t.source for t in tags if t.kind == TagKind.RENTED_ROOM} == {"综治"}


def test_bedridden_and_pregnant_residents_are_seeded_plausibly(small_street):
    persons = {p.id: p for b in small_street for p in b.persons}
    tags = [t for b in small_street for t in b.tags]
    bedridden = [persons[t.person_id] for t in tags if t.kind == TagKind.BEDRIDDEN]
    pregnant = [(persons[t.person_id], t) for t in tags if t.kind == TagKind.PREGNANT]
    # a few of each: bedridden mostly among the old, pregnant women of childbearing age
    assert 3 <= len(bedridden) <= 0.02 * len(persons)
    assert sum(age(p.birth_date) >= 60 for p in bedridden) > len(bedridden) / 2
    assert 3 <= len(pregnant) <= 0.02 * len(persons)
    assert all(p.sex == "F" and 20 <= age(p.birth_date) <= 42 for p, _ in pregnant)
    assert all(t.note.startswith("预产期") and t.valid_to is None for _, t in pregnant)


def test_elder_tags_follow_the_household(small_street):
    persons = {p.id: p for b in small_street for p in b.persons}
    members = Counter(p.household_id for p in persons.values() if not p.is_deceased)
    for tag in (t for b in small_street for t in b.tags):
        person = persons[tag.person_id]
        if tag.kind == TagKind.OLDEST_OLD:
            assert age(person.birth_date) >= 80
        if tag.kind == TagKind.LIVING_ALONE_ELDER:
            assert members[person.household_id] == 1
            assert age(person.birth_date) >= 60


def test_every_building_organisation_and_facility_lies_inside_its_grid(small_street):
    for batch in small_street:
        polygon = batch.grid.polygon
        points = [(b.lon, b.lat, b.grid_id) for b in batch.buildings]
        points += [(f.lon, f.lat, f.grid_id) for f in batch.facilities]
        points += [(o.lon, o.lat, o.grid_id) for o in batch.organisations]
        assert points
        for lon, lat, grid_id in points:
            assert grid_id == batch.grid.area.id
            assert shapely.contains_xy(polygon, lon, lat), (batch.grid.area.code, lon, lat)


def test_the_default_street_has_hundreds_of_cameras():
    # given: grid sizes only, the generator scales facilities with residents
    ids = IdCounters()
    plan = plan_street(seed=2026, residents=74_000, ids=ids)
    generator = StreetGenerator(plan, ids=ids)
    # when
    cameras = sum(
        1 for grid in plan.grids[:10] for f in generator.grid_batch(grid).facilities if f.kind == "camera"
    )
    # then: ten of 37 grids carry about a quarter of ~350 cameras
    assert 60 <= cameras <= 140


def test_area_tree_has_nine_communities_and_37_grids_with_codes():
    # given
    plan = plan_street(seed=2026, residents=1000)
    levels = Counter(a.level for a in plan.areas)
    # then
    assert levels[AreaLevel.COMMUNITY] == 9
    assert levels[AreaLevel.GRID] == 37
    assert levels[AreaLevel.ZONE] >= 2
    for area in plan.areas:
        expected = {AreaLevel.DISTRICT: 6, AreaLevel.STREET: 9, AreaLevel.COMMUNITY: 12,
                    AreaLevel.ZONE: 15, AreaLevel.GRID: 15}[AreaLevel(area.level)]
        assert len(area.code) == expected
        assert area.code.isdigit()
    by_id = {a.id: a for a in plan.areas}
    for area in plan.areas:
        parent = by_id.get(area.parent_id) if area.parent_id else None
        assert area.path == f"{parent.path if parent else '/'}{area.id}/"


def test_grids_tile_their_community_and_the_street():
    # given
    plan = plan_street(seed=2026, residents=1000)
    street = shape(plan.street.boundary)
    grids = [g.polygon for g in plan.grids]
    # then: no overlaps, no gaps; each community is one polygon
    assert sum(g.area for g in grids) == pytest.approx(street.area, rel=1e-9)
    for index, community in enumerate(plan.communities):
        own = [g.polygon for g in plan.grids if g.community_index == index]
        assert shape(community.boundary).geom_type == "Polygon"
        assert sum(g.area for g in own) == pytest.approx(shape(community.boundary).area, rel=1e-9)
    lon_min, lat_min, lon_max, lat_max = street.bounds
    assert 120.18 < lon_min < lon_max < 120.23
    assert 30.22 < lat_min < lat_max < 30.27
    assert not all(len(set(p.exterior.coords)) == 4 for p in grids)  # not plain rectangles
