"""Demo extras benchmark: the year of history a fresh ``linli demo`` writes after the street.

    .venv/bin/python -m benchmarks.bench_demo_extras [--residents 74000]

Seeds the demo street into a fresh database (SQLite in a temporary data folder, or a
temporary PostgreSQL database beside ``LINLI_DATABASE_URL``), then times
``demo_extras_seed_if_missing``: catalogue, windows, import sources, a year of cases with
their timelines and supervision, and (since issue 16) a year of applications and
appointments. The baseline is the street seed itself, measured in the same run: the extras
should stay a modest share of it. Per-part timings are printed and written to
``benchmarks/results/demo-extras-<vendor>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks.bench_seed import fresh_database
from benchmarks.harness import Result, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=74_000)
    args = parser.parse_args(argv)
    with fresh_database() as vendor:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
        import django

        django.setup()
        from django.core.management import call_command

        from linli.core.actors import SystemActor
        from linli.demo.extras import demo_extras_seed_if_missing
        from linli.demo.services import demo_seed

        call_command("migrate", interactive=False, verbosity=0)
        actor = SystemActor("command:seed")
        started = time.perf_counter()
        demo_seed(actor=actor, residents=args.residents)
        street_seconds = time.perf_counter() - started
        parts: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(message: str) -> None:
            now = time.perf_counter()
            parts[message] = now - last[0]
            last[0] = now

        started = time.perf_counter()
        extras = demo_extras_seed_if_missing(actor=actor, progress=progress)
        extras_seconds = time.perf_counter() - started
        for line in extras.done:
            print(f"  {line}")
        result = Result(
            bench="demo extras after the street, wall time", size=args.residents, unit="s",
            linli=extras_seconds, baseline=street_seconds,
            baseline_name="seeding the street itself (same run)", higher_is_better=False,
            notes="; ".join(extras.done),
            extra={"street_s": round(street_seconds, 2), **getattr(extras, "timings", {})},
        )
        print(f"vendor {vendor}: street {street_seconds:.1f} s, extras {extras_seconds:.1f} s")
        report([result], name=f"demo-extras-{vendor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
