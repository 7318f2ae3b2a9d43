"""Registry search over N persons: p50/p99 per query kind against a naive scan, same run.

    .venv/bin/python -m benchmarks.bench_search --persons 1000000
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench \\
        .venv/bin/python -m benchmarks.bench_search --persons 1000000

Without ``LINLI_DATA_DIR`` the script uses a throwaway folder under the system temp dir
(kept between runs so a second run reuses the seeded persons; delete it to start afresh).
Seeding is our own fast path: raw ``executemany`` in batches of 10,000 with real AES-GCM
encryption and blind indexes per row (no fixed token), 376 grids, ~15,000 buildings, names
drawn from the real frequency of Chinese surnames so prefix selectivity is realistic
(王 ≈ 7 %). Households are not seeded: search does not read them.

Baselines (measured in the same run, same scope):
- name / pinyin / initials: ``Person.objects.filter(grid__in=…).filter(Q(name__icontains=q)
  | Q(name_pinyin__icontains=q) | Q(name_initials__icontains=q))[:50]``;
- address: the same with ``building__address/compound__icontains``;
- full ID / phone: decrypt-and-compare over every person in scope (what a system without a
  blind index must do), measured on fewer queries because each is a full scan.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# (surname, share of the population in %): 2020 census figures for the most common surnames;
# the remaining share is spread over a long tail.
SURNAMES: list[tuple[str, float]] = [
    ("王", 7.12), ("李", 7.00), ("张", 6.74), ("刘", 5.10), ("陈", 4.61), ("杨", 3.22),
    ("黄", 2.45), ("赵", 2.19), ("吴", 2.05), ("周", 1.92), ("徐", 1.67), ("孙", 1.54),
    ("马", 1.50), ("朱", 1.37), ("胡", 1.33), ("郭", 1.21), ("何", 1.14), ("林", 1.13),
    ("高", 1.10), ("罗", 1.05), ("郑", 1.00), ("梁", 0.90), ("谢", 0.80), ("宋", 0.76),
    ("唐", 0.75), ("许", 0.71), ("韩", 0.70), ("冯", 0.66), ("邓", 0.66), ("曹", 0.63),
    ("彭", 0.60), ("曾", 0.58), ("肖", 0.57), ("田", 0.55), ("董", 0.53), ("袁", 0.52),
    ("潘", 0.50), ("于", 0.49), ("蒋", 0.48), ("蔡", 0.47), ("余", 0.46), ("杜", 0.45),
    ("叶", 0.44), ("程", 0.43), ("苏", 0.42), ("魏", 0.41), ("吕", 0.40), ("丁", 0.39),
    ("任", 0.38), ("沈", 0.37), ("姚", 0.36), ("卢", 0.35), ("姜", 0.34), ("崔", 0.33),
    ("钟", 0.32), ("谭", 0.31), ("陆", 0.30), ("汪", 0.29), ("范", 0.28), ("金", 0.27),
    ("石", 0.26), ("廖", 0.25), ("贾", 0.24), ("夏", 0.23), ("韦", 0.22), ("付", 0.21),
    ("方", 0.20), ("白", 0.19), ("邹", 0.18), ("孟", 0.17), ("熊", 0.16), ("秦", 0.15),
    ("邱", 0.14), ("江", 0.13), ("尹", 0.12), ("薛", 0.11), ("闫", 0.10), ("段", 0.10),
    ("雷", 0.09), ("侯", 0.09), ("龙", 0.08), ("史", 0.08), ("陶", 0.07), ("黎", 0.07),
    ("贺", 0.06), ("顾", 0.06), ("毛", 0.06), ("郝", 0.05), ("龚", 0.05), ("邵", 0.05),
    ("欧阳", 0.03), ("司马", 0.01), ("诸葛", 0.01), ("上官", 0.01),
]
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文辉玉兰海燕"
    "晓红小红小明俊丹萍鹏宇浩欣怡子涵梓轩雨萱佳琪晨曦博文思远嘉怡婷雪梅春花国庆德胜"
    "淑珍凤英桂兰金凤玉珍秀珍丽华红梅振华永强志明立新卫东建平海涛晓东晓峰晓燕亚男"
)
COMPOUNDS = ("江景", "望江", "锦绣", "金色", "阳光", "翠苑", "梅花", "新塘", "凤凰", "紫荆",
             "东方", "南星", "秋涛", "近江", "婺江", "之江", "复兴", "清泰", "海潮", "钱江")
COMPOUND_SUFFIX = ("苑", "小区", "花园", "家园", "新村", "公寓")
ROADS = ("望江路", "秋涛路", "江城路", "婺江路", "近江路", "清江路", "复兴路", "海潮路",
         "之江路", "凤起路", "庆春路", "解放路", "延安路", "中河路", "建国路", "环城东路")

BATCH = 10_000


def _setup_django() -> None:
    if "LINLI_DATA_DIR" not in os.environ:
        os.environ["LINLI_DATA_DIR"] = str(Path(tempfile.gettempdir()) / "linli-bench-search")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    from django.db import connection, transaction

    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - constants only
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    total = 0
    for batch in _chunks(rows, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
        total += len(batch)
    return total


def _seed_areas(rng: random.Random) -> tuple[list[int], list[int]]:
    """District > 10 streets > 5 communities > 7–8 grids = 376 grids. Returns (streets, grids)."""
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    def make(level: int, code: str, name: str, parent: Area | None) -> Area:
        area = Area.objects.create(level=level, code=code, name=name, parent=parent, path="")
        area.path = f"{parent.path if parent else '/'}{area.pk}/"
        area.save(update_fields=["path"])
        return area

    district = make(AreaLevel.DISTRICT, "330102", "上城区", None)
    streets, grids = [], []
    for s in range(10):
        street = make(AreaLevel.STREET, f"330102{s + 1:03d}", f"第{s + 1}街道", district)
        streets.append(street.pk)
        for c in range(5):
            community = make(AreaLevel.COMMUNITY, f"{street.code}{c + 1:03d}", f"第{c + 1}社区", street)
            # 26 communities of 8 grids and 24 of 7: 376 grids.
            for g in range(8 if s * 5 + c < 26 else 7):
                grid = make(AreaLevel.GRID, f"{community.code}{g + 1:03d}", f"第{g + 1}网格", community)
                grids.append(grid.pk)
    del rng
    return streets, grids


def _name(rng: random.Random, surnames: list[str], weights: list[float]) -> str:
    surname = rng.choices(surnames, weights)[0]
    given_len = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN_CHARS) for _ in range(given_len))


def _seed(n_persons: int, *, seed: int) -> None:
    from django.db import connection

    from linli.core import pii
    from linli.registry.models import Person
    from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys
    from linli.registry.validators import id_number_check_char

    rng = random.Random(seed)
    existing = Person.objects.count()
    if existing >= n_persons:
        print(f"reusing {existing:,} persons")
        return
    if existing:
        sys.exit(f"{existing:,} persons present but {n_persons:,} asked: delete the data dir first")
    started = time.perf_counter()
    _streets, grids = _seed_areas(rng)
    now = datetime.now(UTC)
    # Buildings: ~40 per grid.
    building_rows = []
    for i in range(15_000):
        grid = grids[i % len(grids)]
        compound = rng.choice(COMPOUNDS) + rng.choice(COMPOUND_SUFFIX)
        road = rng.choice(ROADS)
        number = i // len(grids) + 1
        building_rows.append((now, now, grid, compound, f"{number}幢",
                              f"{road}{rng.randint(1, 400)}号{compound}{number}幢",
                              120.2 + rng.random() / 10, 30.2 + rng.random() / 10,
                              rng.randint(5, 9), None))
    _insert("registry_building", ["created_at", "updated_at", "grid_id", "compound", "name",
                                  "address", "lon", "lat", "floors", "built_year"], iter(building_rows))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, grid_id, floors FROM registry_building ORDER BY id")
        buildings = cursor.fetchall()
    _insert("registry_unit", ["created_at", "updated_at", "building_id", "number"],
            ((now, now, b, u) for b, _g, _f in buildings for u in range(1, 1 + (b % 3) + 1)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT u.id, u.number, b.id, b.floors FROM registry_unit u "
                       "JOIN registry_building b ON b.id = u.building_id ORDER BY u.id")
        units = cursor.fetchall()
    _insert("registry_room", ["created_at", "updated_at", "unit_id", "building_id", "floor",
                              "number", "use", "area_m2"],
            ((now, now, u, b, f, f"{f}{r:02d}", "rented" if (u + f + r) % 5 == 0 else "self", None)
             for u, _n, b, floors in units for f in range(1, floors + 1) for r in (1, 2)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.id, r.building_id, b.grid_id FROM registry_room r "
                       "JOIN registry_building b ON b.id = r.building_id ORDER BY r.id")
        rooms = cursor.fetchall()
    print(f"seeded {len(grids)} grids, {len(buildings):,} buildings, {len(units):,} units, "
          f"{len(rooms):,} rooms in {time.perf_counter() - started:.0f} s")

    surnames = [s for s, _ in SURNAMES] + ["X"]
    weights = [w for _, w in SURNAMES]
    weights.append(max(0.0, 100 - sum(weights)))
    tail = "符柏巫虞鲍花牛阮葛岳甘伍卜凌严祝童翁颜柯管包游"

    def persons() -> Iterator[tuple[Any, ...]]:
        seen_ids: set[str] = set()
        for i in range(n_persons):
            name = _name(rng, surnames, weights)
            if name.startswith("X"):
                name = rng.choice(tail) + name[1:]
            full, initials = pinyin_keys(name)
            born = date(1930, 1, 1) + timedelta(days=rng.randint(0, 33_000))
            while True:
                first17 = f"330102{born:%Y%m%d}{rng.randint(0, 999):03d}"
                number = first17 + id_number_check_char(first17)
                if number not in seen_ids:
                    seen_ids.add(number)
                    break
            sex = "M" if int(number[16]) % 2 else "F"
            phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
            room_id, building_id, grid_id = rooms[rng.randrange(len(rooms))]
            yield (now, now, name, full, initials,
                   pii.encrypt(number, field=PII_ID_NUMBER),
                   pii.blind_index(number, field=PII_ID_NUMBER), pii.mask_id_number(number),
                   born, sex,
                   pii.encrypt(phone, field=PII_PHONE), pii.blind_index(phone, field=PII_PHONE),
                   pii.mask_phone(phone), "local", "汉族", room_id, building_id, grid_id, None, "",
                   i % 97 == 0, None, *pii.suffix_indexes(number, field=PII_ID_NUMBER),
                   *pii.suffix_indexes(phone, field=PII_PHONE))
            if i and i % 100_000 == 0:
                print(f"  {i:,} persons, {time.perf_counter() - started:.0f} s", flush=True)

    _insert("registry_person", [
        "created_at", "updated_at", "name", "name_pinyin", "name_initials", "id_number_enc",
        "id_number_bidx", "id_number_masked", "birth_date", "sex", "phone_enc", "phone_bidx",
        "phone_masked", "hukou", "ethnicity", "room_id", "building_id", "grid_id",
        "household_id", "relation", "is_deceased", "deceased_on",
        # NOT NULL since registry 0003: a fresh database refuses rows without them
        "id_number_s4_bidx", "id_number_s6_bidx", "phone_s4_bidx", "phone_s6_bidx",
    ], persons())
    with connection.cursor() as cursor:
        # Statistics for the planner, as a running system has them (PostgreSQL's autovacuum;
        # SQLite's PRAGMA optimize). VACUUM also sets PostgreSQL's visibility map, which
        # index-only scans need.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"seeded {n_persons:,} persons (encryption included) in "
          f"{time.perf_counter() - started:.0f} s")


def _users() -> tuple[Any, Any]:
    from linli.accounts.choices import AssignmentKind, Role
    from linli.accounts.models import AreaAssignment, User
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    street = Area.objects.filter(level=AreaLevel.STREET).order_by("code").first()
    grid = Area.objects.filter(level=AreaLevel.GRID).order_by("code").first()
    assert street is not None
    assert grid is not None
    made = []
    for username, role, area, kind in (
        ("bench_street", Role.STREET_STAFF, street, AssignmentKind.MEMBER),
        ("bench_grid", Role.GRID_WORKER, grid, AssignmentKind.BACKUP),
    ):
        user, created = User.objects.get_or_create(username=username, defaults={"role": role})
        if created:
            user.set_unusable_password()
            user.save()
            AreaAssignment.objects.create(user=user, area=area, kind=kind)
        made.append(user)
    return made[0], made[1]


def _queries(user: Any, n: int, rng: random.Random) -> dict[str, list[str]]:
    """Realistic queries drawn from persons and buildings the user can see."""
    from linli.accounts.selectors import scope_for
    from linli.core import pii
    from linli.registry.models import Building, Person, Room
    from linli.registry.text import PII_ID_NUMBER, PII_PHONE

    grids = sorted(scope_for(user).grid_ids)
    ids = list(Person.objects.filter(grid_id__in=grids).values_list("id", flat=True)[:200_000])
    sample = list(Person.objects.filter(pk__in=rng.sample(ids, min(n, len(ids)))))
    buildings = list(Building.objects.filter(grid_id__in=grids))
    queries: dict[str, list[str]] = {k: [] for k in
                                     ("name", "initials", "pinyin", "id_number", "phone", "address")}
    for p in sample:
        queries["name"].append(p.name[: rng.randint(1, len(p.name))])
        queries["initials"].append(p.name_initials[: rng.randint(2, max(2, len(p.name_initials)))])
        queries["pinyin"].append(p.name_pinyin[: rng.randint(3, len(p.name_pinyin))])
        queries["id_number"].append(pii.decrypt(p.id_number_enc, field=PII_ID_NUMBER))
        queries["phone"].append(pii.decrypt(p.phone_enc, field=PII_PHONE))
    for i in range(len(sample)):
        b = rng.choice(buildings)
        style = i % 3
        if style == 0:
            queries["address"].append(b.compound)
        elif style == 1:
            queries["address"].append(b.address.split("号")[0] + "号")
        else:
            room = Room.objects.filter(building=b).select_related("unit").order_by("?").first()
            assert room is not None
            number = b.name.rstrip("幢")
            queries["address"].append(f"{b.compound} {number}-{room.unit.number}-{room.number}")
    return queries


def _naive(user: Any, kind: str) -> Callable[[str], object]:
    from django.db.models import Q

    from linli.accounts.selectors import scope_for
    from linli.core import pii
    from linli.registry.models import Person
    from linli.registry.text import PII_ID_NUMBER, PII_PHONE
    from linli.registry.validators import parse_phone

    def scoped() -> Any:
        return Person.objects.filter(grid_id__in=sorted(scope_for(user).grid_ids))

    if kind in ("id_number", "phone"):
        column, field = ("id_number_enc", PII_ID_NUMBER) if kind == "id_number" else ("phone_enc", PII_PHONE)

        def scan(q: str) -> object:
            wanted = q if kind == "id_number" else parse_phone(q)
            return [pk for pk, token in scoped().values_list("id", column).iterator(chunk_size=5000)
                    if token and pii.decrypt(token, field=field) == wanted]
        return scan
    if kind == "address":
        return lambda q: list(scoped().filter(
            Q(building__address__icontains=q) | Q(building__compound__icontains=q))[:50])
    return lambda q: list(scoped().filter(
        Q(name__icontains=q) | Q(name_pinyin__icontains=q) | Q(name_initials__icontains=q))[:50])


def _timed(fn: Callable[[str], object], queries: list[str]) -> tuple[list[float], int]:
    samples, found = [], 0
    for q in queries:
        started = time.perf_counter()
        result = fn(q)
        samples.append((time.perf_counter() - started) * 1000)
        found += bool(result)
    return samples, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per kind and user")
    parser.add_argument("--baseline-queries", type=int, default=30,
                        help="queries per kind for the naive scans (each can take seconds)")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.harness import Result, percentile, report
    from linli.registry.selectors import person_search_for_user

    call_command("migrate", verbosity=0)
    _seed(args.persons, seed=args.seed)
    street_user, grid_user = _users()
    rng = random.Random(args.seed + 1)
    results: list[Result] = []
    for label, user in (("street", street_user), ("grid", grid_user)):
        queries = _queries(user, args.queries, rng)
        for kind, qs in queries.items():
            def search(q: str, user: Any = user) -> object:
                return person_search_for_user(user=user, query=q)
            _timed(search, qs[:10])  # warm the cache the way a running server is warm
            samples, found = _timed(search, qs)
            base_samples, _ = _timed(_naive(user, kind), qs[: args.baseline_queries])
            p99 = percentile(samples, 99)
            results.append(Result(
                bench=f"search {kind} ({label} user)", size=args.persons, unit="ms p99",
                linli=p99, baseline=percentile(base_samples, 99),
                baseline_name=("decrypt-and-compare scan" if kind in ("id_number", "phone")
                               else "icontains scan, LIMIT 50"),
                higher_is_better=False, goal="p99 <= 50 ms", goal_met=p99 <= 50,
                notes=f"{len(qs)} queries, {found} with hits; baseline {len(base_samples)} queries",
                extra={"p50_ms": percentile(samples, 50), "baseline_p50_ms": percentile(base_samples, 50)},
            ))
            print(f"{label:6} {kind:10} p50 {percentile(samples, 50):7.2f} ms  p99 {p99:7.2f} ms  "
                  f"naive p50 {percentile(base_samples, 50):9.1f} ms  hits {found}/{len(qs)}", flush=True)
    report(results, name=f"search-{connection.vendor}")


if __name__ == "__main__":
    main()
