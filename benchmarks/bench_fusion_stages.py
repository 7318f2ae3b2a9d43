"""Read, normalise and match of the district import, timed stage by stage without a database.

    .venv/bin/python -m benchmarks.bench_fusion_stages [--residents 100000] [--seed 2026] \\
        [--exports-dir DIR] [--stages read,normalise,match] [--profile FILE]

Draws the six demo exports (:func:`linli.demo.exports.generate_exports`, ≈ 4 rows per
resident), writes them as the departments send them and runs, per file, the same stage
functions ``import_run`` calls: ``stage_read`` (CSV / XLSX → frame), ``stage_normalise``
(``normalise_frame`` plus each row's raw text and hash) and ``stage_match`` (the matcher
over every row, against the registry's keys). The keys are built in memory in the shape
``pipeline.registry_keys`` loads from the database (blind indexes, the ID ciphertext), so
the figures exclude only the query itself. CPU seconds (all threads) are printed next to
the wall time: on a shared machine they move less with the neighbours' load. Goal (issue 3): ≥ 110,000 rows/s for normalise
and for match each (2.2 million rows in ≲ 20 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_GOAL_ROWS_PER_S = 110_000


def _setup_django() -> None:
    os.environ.setdefault("LINLI_DATA_DIR", str(Path(tempfile.gettempdir()) / "linli-bench-stages"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


def registry_keys_in_memory(people: Any) -> Any:
    """``pipeline.registry_keys`` columns from the generator's plaintext registry."""
    import polars as pl

    from linli.core import pii
    from linli.registry.text import PII_ID_NUMBER, PII_PHONE

    ids = people["id_number"].cast(pl.String)
    phones = people["phone"].cast(pl.String)
    present_ids = ids.drop_nulls().to_list()
    present_phones = phones.drop_nulls().unique().to_list()
    encrypted = {v: pii.encrypt(v, field=PII_ID_NUMBER) for v in present_ids}
    blind_ids = {v: pii.blind_index(v, field=PII_ID_NUMBER) for v in present_ids}
    blind_phones = {v: pii.blind_index(v, field=PII_PHONE) for v in present_phones}
    return people.select(
        pl.col("person_id").cast(pl.Int64), pl.col("name"), pl.col("name_pinyin"),
        pl.col("name_initials").alias("initials"),
        ids.replace_strict(blind_ids, default=None).alias("id_bidx"),
        pl.col("birth_date").cast(pl.Date), pl.col("sex"),
        phones.replace_strict(blind_phones, default=None).alias("phone_bidx"),
        pl.col("building_key").replace("", None), pl.col("unit").cast(pl.String),
        pl.col("room").cast(pl.String),
        ids.replace_strict(encrypted, default=None).alias("id_enc"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--exports-dir", type=Path, default=None)
    parser.add_argument("--stages", default="read,normalise,match")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the timed stages here")
    args = parser.parse_args()
    stages = set(args.stages.split(","))
    _setup_django()
    import tomllib

    from django.conf import settings

    from benchmarks.harness import Result, report
    from linli.demo.exports import generate_exports
    from linli.fusion.mapping import parse_source_definition
    from linli.fusion.pipeline import stage_match, stage_normalise, stage_read

    seed_kwargs: dict[str, Any] = {} if args.seed is None else {"seed": args.seed}
    out_dir = args.exports_dir or Path(settings.DATA_DIR) / f"stages-{args.residents}"
    lap = time.perf_counter()
    exports = generate_exports(residents=args.residents, out_dir=out_dir, **seed_kwargs)
    keys = registry_keys_in_memory(exports.registry_frame()) if "match" in stages else None
    print(f"generated {exports.rows:,} rows, {exports.registry_frame().height:,} registry persons "
          f"in {time.perf_counter() - lap:.1f} s", flush=True)
    sources_dir = Path(__file__).resolve().parent.parent / "linli" / "fusion" / "sources"
    definitions = {
        p.stem: parse_source_definition(tomllib.loads(p.read_text("utf-8"))) for p in sources_dir.glob("*.toml")
    }
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    seconds = {"read": 0.0, "normalise": 0.0, "match": 0.0}
    cpu = dict.fromkeys(seconds, 0.0)
    rows = 0
    for code, file in exports.files.items():
        assert file.path is not None
        definition = definitions[code]
        if profiler is not None:
            profiler.enable()
        lap, lap_cpu = time.perf_counter(), time.process_time()
        read = stage_read(definition, file.path, max_bytes=1 << 34)
        took = {"read": time.perf_counter() - lap}
        cpu["read"] += time.process_time() - lap_cpu
        if stages & {"normalise", "match"}:
            lap, lap_cpu = time.perf_counter(), time.process_time()
            norm = stage_normalise(read, definition)
            took["normalise"] = time.perf_counter() - lap
            cpu["normalise"] += time.process_time() - lap_cpu
        if keys is not None:
            lap, lap_cpu = time.perf_counter(), time.process_time()
            stage_match(norm.frame, keys)
            took["match"] = time.perf_counter() - lap
            cpu["match"] += time.process_time() - lap_cpu
        if profiler is not None:
            profiler.disable()
        rows += read.frame.height
        for stage, value in took.items():
            seconds[stage] += value
        print(f"{code:10s} {read.rows:>9,} rows  " + "  ".join(f"{k} {v:6.2f} s" for k, v in took.items()),
              flush=True)
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"total {rows:,} rows: " + ", ".join(
        f"{k} {v:.2f} s ({rows / v:,.0f} rows/s; CPU {cpu[k]:.2f} s)" for k, v in seconds.items() if v)
        + f"; peak RSS {peak:,.0f} MiB; load {load:.2f}")
    results = [
        Result(bench=f"fusion stage: {stage}", size=rows, unit="rows/s", linli=rows / value, baseline=None,
               goal=f"≥ {_GOAL_ROWS_PER_S:,} rows/s" if stage != "read" else "",
               goal_met=(rows / value >= _GOAL_ROWS_PER_S) if stage != "read" else None,
               notes=f"load {load:.2f}", extra={"seconds": value, "cpu_seconds": cpu[stage]})
        for stage, value in seconds.items() if value
    ]
    report(results, name="bench_fusion_stages")


if __name__ == "__main__":
    main()
