"""The care sweep over a district: N persons × 20 rules, write-back included, against a naive
per-person ORM evaluation of the same rules (sampled, extrapolated), and the rule editor's
live match count (p50/p99).

    .venv/bin/python -m benchmarks.bench_care --persons 540000
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_care \\
        .venv/bin/python -m benchmarks.bench_care --persons 540000

Without ``LINLI_DATA_DIR`` the script uses a throwaway folder under the system temp dir (kept
between runs: a second run reuses the persons; delete it, or drop the database, to start
afresh). The population: 400 grids, persons aged 0–104 (a quarter 60+), households of 1–5,
key-population tags, care profiles (disability grades, incomes), benefits on ~12 % of
persons (some ending within a month, some held by the dead), hospitalisations. The rules:
the 11 seed policies, 3 more, and the 6 three-colour rules = 20.

Timed: ``sweep_run`` for one day from nothing (every recommendation, review item, work
order, colour and due visit written), and again the next day (steady state: little new; the
run is incremental — only stamped and date-crossed persons, ADR 0013 — and says so).
Baseline: for a sample of persons, ``person_facts`` (one query per fact kind) and
``rule_evaluate`` over all 20 rules; time per person × N. Each sweep prints its steps'
seconds (from the sweep's log) and what is left for COMMITs and bookkeeping; the load
average is printed at the start and after the live count. PostgreSQL is vacuumed and
analysed before timing.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any


def _setup_django() -> None:
    if "LINLI_DATA_DIR" not in os.environ:
        os.environ["LINLI_DATA_DIR"] = str(Path(tempfile.gettempdir()) / "linli-bench-care")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


DISTRICT_CODE = "330198"
GRIDS = 400
ON = date(2026, 6, 15)
EXTRA_POLICIES: list[tuple[str, str, dict[str, Any]]] = [
    ("zhucan", "独居老人助餐补贴", {"all": [{"field": "age", "op": "gte", "value": 70},
                                     {"field": "tags", "op": "has", "value": "living_alone_elder"}]}),
    ("tuiyi_youdai", "退役军人优待", {"all": [{"field": "tags", "op": "has", "value": "veteran"},
                                        {"field": "is_deceased", "op": "eq", "value": False}]}),
    ("kunjing_ertong", "困境儿童生活补贴", {"all": [{"field": "age", "op": "lt", "value": 18},
                                            {"any": [{"field": "benefits", "op": "has", "value": "dibao"},
                                                     {"field": "disability_grade", "op": "known"}]}]}),
]


def _grids() -> list[int]:
    from linli.geo.choices import AreaLevel
    from linli.geo.models import Area

    district = Area.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        district = Area.objects.create(level=AreaLevel.DISTRICT, code=DISTRICT_CODE, name="基准区", path="")
        district.path = f"/{district.pk}/"
        district.save(update_fields=["path"])
        for s in range(1, 9):
            street = Area.objects.create(level=AreaLevel.STREET, code=f"{DISTRICT_CODE}{s:03d}", name=f"第{s}街道",
                                         parent=district, path="")
            street.path = f"{district.path}{street.pk}/"
            street.save(update_fields=["path"])
            for c in range(1, 11):
                community = Area.objects.create(level=AreaLevel.COMMUNITY, code=f"{street.code}{c:03d}",
                                                name=f"第{s}街道{c}社区", parent=street, path="")
                community.path = f"{street.path}{community.pk}/"
                community.save(update_fields=["path"])
                for g in range(1, 6):
                    grid = Area.objects.create(level=AreaLevel.GRID, code=f"{community.code}{g:03d}",
                                               name=f"{community.name}第{g}网格", parent=community, path="")
                    grid.path = f"{community.path}{grid.pk}/"
                    grid.save(update_fields=["path"])
    return list(Area.objects.filter(level=AreaLevel.GRID, path__startswith=district.path).values_list("pk", flat=True))


def _build(persons: int, seed: int) -> float:
    from django.db import transaction
    from django.utils import timezone

    from linli.care.choices import BenefitSource, BenefitState, CareEventKind
    from linli.care.models import Benefit, CareEvent, CareProfile, Policy
    from linli.care.services import policies_seed, policy_create
    from linli.care.workflow import shift_years
    from linli.core.actors import SystemActor
    from linli.core.bulk import bulk_insert_objects
    from linli.registry.models import Household, Person, PersonTag

    grids = _grids()
    policies_seed()
    actor = SystemActor("command:bench_care")
    for code, name, rule in EXTRA_POLICIES:
        if not Policy.objects.filter(code=code).exists():
            policy_create(code=code, name=name, rule=rule, effective_from=date(2024, 1, 1), actor=actor)
    have = Person.objects.count()
    if have >= persons:
        return 0.0
    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    policy_ids = dict(Policy.objects.values_list("code", "pk"))
    chunk = 50_000
    made = have
    while made < persons:
        n = min(chunk, persons - made)
        with transaction.atomic():
            households = [Household(number=f"B{made + i:08d}", grid_id=grids[(made + i) % len(grids)],
                                    created_at=now, updated_at=now) for i in range(0, n, 3)]
            bulk_insert_objects(Household, households)
            hh = list(Household.objects.filter(number__gte=f"B{made:08d}", number__lt=f"B{made + n:08d}")
                      .order_by("number").values_list("pk", "grid_id"))
            people = []
            for i in range(n):
                household_id, grid_id = hh[i // 3] if rng.random() < 0.9 else (None, grids[(made + i) % len(grids)])
                age = int(rng.triangular(0, 105, 45))
                people.append(Person(
                    name=f"居民{made + i}", name_pinyin="jumin", name_initials="jm",
                    birth_date=shift_years(ON, age) - timedelta(days=rng.randrange(365)),
                    sex=rng.choice("MF"), hukou="local" if rng.random() < 0.8 else "migrant", ethnicity="汉族",
                    grid_id=grid_id, household_id=household_id, relation="", is_deceased=rng.random() < 0.01,
                    created_at=now, updated_at=now))
            last_pk = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            bulk_insert_objects(Person, people)
            rows = list(Person.objects.filter(pk__gt=last_pk).values_list("pk", "birth_date"))
            tags, profiles, benefits, events = [], [], [], []
            for pk, birth in rows:
                age = ON.year - birth.year if birth else 0
                r = rng.random()
                if age >= 60 and r < 0.12:
                    tags.append(PersonTag(person_id=pk, kind="living_alone_elder", source="民政", valid_from=date(2020, 1, 1),
                                          created_at=now, updated_at=now, note=""))
                elif age >= 60 and r < 0.3:
                    tags.append(PersonTag(person_id=pk, kind="empty_nest_elder", source="民政", valid_from=date(2020, 1, 1),
                                          created_at=now, updated_at=now, note=""))
                if rng.random() < 0.02:
                    tags.append(PersonTag(person_id=pk, kind="veteran", source="退役军人事务", valid_from=date(2019, 1, 1),
                                          created_at=now, updated_at=now, note=""))
                if rng.random() < 0.15:
                    profiles.append(CareProfile(
                        person_id=pk, disability_grade=rng.choice([None, None, 1, 2, 3, 4]), bedridden=rng.random() < 0.1,
                        income_per_head=rng.choice([None, 700, 1100, 1500, 1800, 3000, 6000]),
                        only_child_lost=rng.random() < 0.02, created_at=now, updated_at=now))
                if rng.random() < 0.12:
                    code = rng.choice(["gaoling_80", "gaoling_90", "dibao", "dibian", "canji_huli", "zunlaojin",
                                       "jujia_yanglao"])
                    benefits.append(Benefit(
                        person_id=pk, policy_id=policy_ids[code], starts_on=date(2025, 1, 1),
                        ends_on=rng.choice([None, None, ON + timedelta(days=rng.randrange(1, 90)), date(2027, 1, 1)]),
                        source=BenefitSource.MINZHENG_IMPORT, state=BenefitState.ACTIVE, amount=None,
                        created_at=now, updated_at=now))
                if age >= 60 and rng.random() < 0.03:
                    events.append(CareEvent(person_id=pk, kind=CareEventKind.HOSPITALISATION,
                                            occurred_on=ON - timedelta(days=rng.randrange(90)), note="", source="医保",
                                            created_at=now, updated_at=now))
            for model, objs in ((PersonTag, tags), (CareProfile, profiles), (Benefit, benefits), (CareEvent, events)):
                bulk_insert_objects(model, objs)
        made += n
        print(f"  built {made:,} persons", flush=True)
    return time.perf_counter() - started


def _vacuum() -> None:
    """PostgreSQL: statistics and the visibility map as autovacuum leaves them on a live
    database (index-only scans need the latter)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _rules() -> list[dict[str, Any]]:
    from linli.care.models import LevelRule
    from linli.care.services.sweep import versions_in_force

    return [v.rule for v in versions_in_force(ON)] + [r.rule for r in LevelRule.objects.all()]


def _reset_sweep_output() -> None:
    from linli.care.models import (
        DueVisit,
        ElderLevel,
        ElderLevelChange,
        Recommendation,
        ReviewItem,
        SweepRun,
        WorkOrder,
    )
    from linli.registry.models import Person

    for model in (Recommendation, ReviewItem, WorkOrder, ElderLevel, ElderLevelChange, DueVisit, SweepRun):
        model.objects.all().delete()
    assert Person.objects.exists()


class _StepTimes(logging.Handler):
    """Collects the sweep's per-step log lines ("care sweep DAY STEP: N rows in S s")."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.steps: list[tuple[str, int, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and record.getMessage().startswith("care sweep ") and len(args) >= 4:
            self.steps.append((str(args[1]), int(str(args[2])), float(str(args[3]))))

    def take(self, total: float) -> str:
        """Each step's seconds (rows); what is left of ``total`` is COMMITs and bookkeeping."""
        text = ", ".join(f"{name} {seconds:.2f} s ({rows:,})" for name, rows, seconds in self.steps)
        rest = total - sum(seconds for _name, _rows, seconds in self.steps)
        self.steps = []
        return f"{text}; commits and bookkeeping {rest:.2f} s"


class _SlowStatements:
    """``--statements N``: the N slowest statements of a sweep, with their seconds (the
    profile the step times hide)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.seen: list[tuple[float, str]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:  # noqa: FBT001 -- Django's wrapper signature
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seen.append((time.perf_counter() - started, " ".join(str(sql).split())[:160]))

    def take(self) -> str:
        slowest = sorted(self.seen, reverse=True)[: self.keep]
        self.seen = []
        return "".join(f"\n    {seconds:7.2f} s  {sql}" for seconds, sql in slowest)


def _timed_sweep(on: date, steps: _StepTimes, slow: _SlowStatements | None = None) -> tuple[float, Any]:
    from contextlib import nullcontext

    from django.db import connection

    from linli.care.services.sweep import sweep_run

    started = time.perf_counter()
    with connection.execute_wrapper(slow) if slow is not None else nullcontext():
        run = sweep_run(on=on)
    elapsed = time.perf_counter() - started
    if slow is not None and slow.keep:
        print(f"  slowest statements:{slow.take()}", flush=True)
    return elapsed, run


def _named_rules() -> list[tuple[str, dict[str, Any]]]:
    from linli.care.models import LevelRule
    from linli.care.services.sweep import versions_in_force

    return ([(v.policy.code, v.rule) for v in versions_in_force(ON)]
            + [(f"level:{r.colour}:{r.name}", r.rule) for r in LevelRule.objects.order_by("pk")])


def _count_per_rule(which: str, repeat: int) -> None:
    """The live count alone, per rule: wall p50/p99 and this process's CPU per call (on
    SQLite the query runs in this process; on PostgreSQL the CPU is the server's), the
    count itself (to compare old and new code), and the load average beside each rule."""
    from benchmarks.harness import percentile
    from linli.care.selectors import rule_match_count

    named = _named_rules()
    if which == "first5":
        named = named[:5]
    everything: list[float] = []
    print(f"live count per rule, {repeat} calls each after a warm-up; load average {os.getloadavg()[0]:.2f}",
          flush=True)
    for name, rule in named:
        count = rule_match_count(rule=rule, on=ON).count  # warm
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            rule_match_count(rule=rule, on=ON)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        everything += walls
        print(f"  {name:<24} count {count:>7,}  p50 {percentile(walls, 50):7.1f} ms  p99 {percentile(walls, 99):7.1f} ms"
              f"  cpu p50 {percentile(cpus, 50):7.1f} ms  load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"live count ({which}, {len(named)} rules): p50 {percentile(everything, 50):.0f} ms, "
          f"p99 {percentile(everything, 99):.0f} ms; load average {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=540_000)
    parser.add_argument("--sample", type=int, default=300, help="persons evaluated naively")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--statements", type=int, default=0, help="print the N slowest statements of each sweep")
    parser.add_argument("--count-only", action="store_true",
                        help="build if needed, then time only the live count, per rule (no sweep, no naive baseline)")
    parser.add_argument("--count-repeat", type=int, default=20, help="live count calls per rule")
    parser.add_argument("--count-rules", default="first5", choices=["first5", "all"],
                        help="the five rules timed before (first5) or all 20")
    args = parser.parse_args()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from benchmarks.harness import Result, percentile, report, time_calls
    from linli.care.models import (
        Benefit,
        DueVisit,
        ElderLevel,
        Recommendation,
        ReviewItem,
        WorkOrder,
    )
    from linli.care.selectors import person_facts, rule_match_count
    from linli.care.workflow import rule_evaluate
    from linli.registry.models import Person

    built = _build(args.persons, args.seed)
    _vacuum()
    total = Person.objects.count()
    rules = _rules()
    print(f"{connection.vendor}: {total:,} persons, {len(rules)} rules (build {built:.0f} s); "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.count_only:
        _count_per_rule(args.count_rules, args.count_repeat)
        return

    steps = _StepTimes()
    sweep_logger = logging.getLogger("linli.care.services.sweep")
    sweep_logger.addHandler(steps)
    sweep_logger.setLevel(logging.INFO)
    _reset_sweep_output()
    slow = _SlowStatements(args.statements) if args.statements else None
    first, _run = _timed_sweep(ON, steps, slow)
    written = {"recommendations": Recommendation.objects.count(), "reviews": ReviewItem.objects.count(),
               "work_orders": WorkOrder.objects.count(), "levels": ElderLevel.objects.count(),
               "due_visits": DueVisit.objects.count(), "benefits": Benefit.objects.count()}
    print(f"sweep (from nothing): {first:.2f} s; rows {written}; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"  steps: {steps.take(first)}", flush=True)
    second, run = _timed_sweep(ON + timedelta(days=1), steps, slow)
    # Code before the incremental sweep (ADR 0013) has no ``full``: every run swept everyone.
    mode = "full" if getattr(run, "full", True) else "incremental"
    print(f"sweep (next day, {mode}): {second:.2f} s; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"  steps: {steps.take(second)}", flush=True)

    sample = list(Person.objects.order_by("?")[: args.sample])
    started = time.perf_counter()
    for person in sample:
        facts = person_facts(person=person, on=ON)
        for rule in rules:
            rule_evaluate(rule, facts, on=ON)
    per_person = (time.perf_counter() - started) / len(sample)
    naive = per_person * total
    print(f"naive: {per_person * 1000:.2f} ms/person → {naive:.0f} s extrapolated", flush=True)

    count_rules = rules[:5]
    samples: list[float] = []
    for rule in count_rules:
        rule_match_count(rule=rule, on=ON)  # warm
        samples += time_calls(partial(rule_match_count, rule=rule, on=ON), repeat=20)
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    print(f"live count: p50 {p50:.0f} ms, p99 {p99:.0f} ms; load average {os.getloadavg()[0]:.2f}", flush=True)

    vendor = connection.vendor
    report([
        Result("care sweep, 20 rules, write-back", total, "s", first, naive, "naive per-person ORM (extrapolated)",
               higher_is_better=False, goal="≤ 10 s and ≥ 50× naive", goal_met=first <= 10 and naive / first >= 50,
               notes=vendor, extra={"next_day_s": second, **{k: float(v) for k, v in written.items()}}),
        Result("rule live match count", total, "ms p99", p99, None, higher_is_better=False, goal="≤ 200 ms p99",
               goal_met=p99 <= 200, notes=vendor, extra={"p50_ms": p50}),
    ], name=f"bench_care_{vendor}")


if __name__ == "__main__":
    main()
