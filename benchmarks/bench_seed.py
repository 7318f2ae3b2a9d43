"""Seeding benchmark: the demo street into a fresh database, against one ORM ``save()`` per person.

    .venv/bin/python -m benchmarks.bench_seed [--residents 74000] [--baseline 2000]

SQLite in a temporary data folder by default; with ``LINLI_DATABASE_URL`` pointing at
PostgreSQL a temporary database is created next to the one named there and dropped after.
Goals (issue 2): 74,000 residents with encryption in ≤ 60 s, 1,000,000 in ≤ 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from benchmarks.harness import Result, report


@contextmanager
def fresh_database() -> Iterator[str]:
    """Point Django at an empty database; yields the vendor name."""
    url = os.environ.get("LINLI_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="linli-bench-seed-") as data_dir:
        os.environ["LINLI_DATA_DIR"] = data_dir
        if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
            os.environ.pop("LINLI_DATABASE_URL", None)
            yield "sqlite"
            return
        import psycopg

        name = f"linli_bench_seed_{os.getpid()}"
        parts = urlsplit(url)
        admin_url = urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["LINLI_DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        try:
            yield "postgresql"
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def naive_persons_per_second(sample: int) -> float:
    """One ``Person(...).save()`` per resident in autocommit, encryption included."""
    from linli.core import pii
    from linli.demo.generator import StreetGenerator, plan_street
    from linli.demo.rows import IdCounters
    from linli.geo.models import Area
    from linli.registry.models import Person
    from linli.registry.text import PII_ID_NUMBER, PII_PHONE, pinyin_keys

    ids = IdCounters(person=10**9)  # generator ids are not used by the ORM rows
    plan = plan_street(seed=99, residents=sample * 2, ids=ids)
    generator = StreetGenerator(plan, ids=ids)
    # Another seed's street draws ID numbers from the same small space (area, birth day, 500
    # sequences): at a million seeded residents some are taken. Leave those rows out, before the
    # clock, so the unique blind index is not hit (the generator never repeats itself).
    rows = [p for batch in generator.grid_batches() for p in batch.persons]
    keys = {
        p.id_number: pii.blind_index(p.id_number, field=PII_ID_NUMBER) for p in rows if p.id_number
    }
    taken: set[str] = set()
    chunk = list(keys.values())
    for start in range(0, len(chunk), 500):
        taken.update(
            Person.objects.filter(id_number_bidx__in=chunk[start : start + 500]).values_list(
                "id_number_bidx", flat=True
            )
        )
    rows = [p for p in rows if not p.id_number or keys[p.id_number] not in taken][:sample]
    grid = Area.objects.filter(level=5).order_by("id").first()
    started = time.perf_counter()
    for row in rows:
        pinyin, initials = pinyin_keys(row.name)
        person = Person(
            name=row.name,
            name_pinyin=pinyin,
            name_initials=initials,
            birth_date=row.birth_date,
            sex=row.sex,
            hukou=row.hukou,
            ethnicity=row.ethnicity,
            grid=grid,
            relation=row.relation,
        )
        if row.id_number:
            person.id_number_enc = pii.encrypt(row.id_number, field=PII_ID_NUMBER)
            person.id_number_bidx = pii.blind_index(row.id_number, field=PII_ID_NUMBER)
            person.id_number_masked = pii.mask_id_number(row.id_number)
        if row.phone:
            person.phone_enc = pii.encrypt(row.phone, field=PII_PHONE)
            person.phone_bidx = pii.blind_index(row.phone, field=PII_PHONE)
            person.phone_masked = pii.mask_phone(row.phone)
        person.save()
    elapsed = time.perf_counter() - started
    Person.objects.filter(
        pk__in=Person.objects.order_by("-id").values_list("pk", flat=True)[:sample]
    ).delete()
    return len(rows) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=74_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--baseline", type=int, default=2000, help="persons saved one by one")
    args = parser.parse_args(argv)
    with fresh_database() as vendor:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
        import django

        django.setup()
        from django.core.management import call_command

        from linli.core.actors import SystemActor
        from linli.demo.services import demo_seed

        call_command("migrate", interactive=False, verbosity=0)
        started = time.perf_counter()
        seeded = demo_seed(
            actor=SystemActor("command:seed"),
            residents=args.residents,
            seed=args.seed,
            progress=lambda message: print(f"  {message}", flush=True),
        )
        seconds = time.perf_counter() - started
        naive_rate = naive_persons_per_second(args.baseline)
        rows = sum(seeded.counts.values())
        goal_seconds = 60.0 if args.residents <= 74_000 else 600.0 * args.residents / 1_000_000
        stages = {f"stage_{k}_s": round(v, 2) for k, v in seeded.timings.items()}
        results = [
            Result(
                bench="seed: residents per second",
                size=args.residents,
                unit="persons/s",
                linli=args.residents / seconds,
                baseline=naive_rate,
                baseline_name=f"one ORM save() per person ({args.baseline:,} saved, extrapolated)",
                notes=f"{rows:,} rows in all (buildings … facilities, tags)",
                extra={"rows_per_s": round(rows / seconds), **stages},
            ),
            Result(
                bench="seed: whole street, wall time",
                size=args.residents,
                unit="s",
                linli=seconds,
                baseline=args.residents / naive_rate,
                baseline_name="persons alone, saved one by one (extrapolated)",
                higher_is_better=False,
                goal=f"<= {goal_seconds:.0f} s",
                goal_met=seconds <= goal_seconds,
            ),
        ]
        print(
            f"vendor {vendor}; stages: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in seeded.timings.items())
        )
        # The default street keeps the plain name; other sizes get their own file.
        suffix = "" if args.residents == 74_000 else f"-{args.residents}"
        report(results, name=f"seed-{vendor}{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
