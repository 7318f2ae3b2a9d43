"""The district-sized fusion job: six departmental exports fused into the registry.

    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_fusion \\
        .venv/bin/python -m benchmarks.bench_fusion_district --residents 540000

Seeds the demo street at ``--residents`` (once; a second run reuses it when the registry
already holds persons — drop the database to start afresh), draws the six exports with the
demo generator (:func:`linli.demo.exports.generate_exports`, same seed and size, so the
exports describe the seeded people with the documented error model), then times
``import_run`` over the six files in one go: read → normalise → match → merge → persist
(COPY on PostgreSQL), with per-stage timings from the progress callback. Peak RSS comes from
``resource.getrusage``. Goals: < 90 s wall and < 4 GiB for ~2.2 million rows / ~540,000
people.

Baseline, same run: one ORM ``save()`` per row (person or link, source record, one
provenance row per field) for ``--baseline-rows`` rows inside a transaction that is rolled
back, extrapolated to the total row count.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _setup_django() -> None:
    if "LINLI_DATA_DIR" not in os.environ:
        os.environ["LINLI_DATA_DIR"] = str(Path(tempfile.gettempdir()) / "linli-bench-fusion")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


class _StageLog(dict[str, float]):
    """``import_run``'s timings, noting when each stage ended (to place RSS samples)."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[tuple[float, str]] = []

    def __setitem__(self, stage: str, seconds: float) -> None:
        self.ends.append((time.perf_counter(), stage))
        super().__setitem__(stage, seconds)


class _RssSampler(threading.Thread):
    """RSS every 50 ms: the peak of each stage, not only its value at the end."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.samples.append((time.perf_counter(), _current_rss_mib()))

    def peaks(self, log: _StageLog) -> dict[str, float]:
        found: dict[str, float] = {}
        ends = iter(sorted(log.ends))
        end = next(ends, None)
        for stamp, rss in self.samples:
            while end is not None and end[0] < stamp:
                end = next(ends, None)
            if end is not None:
                found[end[1]] = max(found.get(end[1], 0.0), rss)
        return found


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(path: Path, source: Any, rows: int) -> float:
    """Seconds per row for the naive path: ORM saves, one per object."""
    from django.db import transaction
    from django.utils import timezone

    from linli.core import pii
    from linli.fusion.models import FieldProvenance, ImportJob, SourceRecord
    from linli.fusion.pipeline import (
        definition_of,
        observations_of,
        room_index,
        stage_normalise,
        stage_read,
    )
    from linli.registry.models import Person
    from linli.registry.services import _phone_columns
    from linli.registry.text import PII_ID_NUMBER

    definition = definition_of(source)
    read = stage_read(definition, path)
    norm = stage_normalise(read, definition)
    rooms = room_index()
    sample = norm.frame.head(rows).to_dicts()
    started = time.perf_counter()

    class _RollbackError(Exception):
        pass

    try:
        with transaction.atomic():
            from linli.geo.models import Area

            job = ImportJob.objects.create(source=source, file_name="baseline", sha256="0" * 64,
                                           area=Area.objects.filter(parent__isnull=True).order_by("code")[0])
            now = timezone.now()
            for i, row in enumerate(sample):
                person = None
                bidx = pii.blind_index(row["id_number"], field=PII_ID_NUMBER) if row.get("id_valid") else ""
                if bidx:
                    person = Person.objects.filter(id_number_bidx=bidx).first()  # one lookup per row
                if person is None:
                    person = Person(name=row.get("name") or "?", name_pinyin=row.get("name_pinyin") or "",
                                    name_initials=row.get("name_initials") or "")
                    if row.get("phone"):
                        for key, value in _phone_columns(row["phone"]).items():
                            setattr(person, key, value)
                    person.save()
                record = SourceRecord(job=job, source=source, row_number=i + 2, raw={"n": i}, raw_hash=f"b{i}",
                                      person=person, status="accepted")
                record.save()
                for obs in observations_of(row, rooms):
                    FieldProvenance(person=person, field=obs.field, source=source, record=record,
                                    value=obs.value[:300], value_enc=obs.enc, observed_at=now).save()
            raise _RollbackError
    except _RollbackError:
        pass
    return (time.perf_counter() - started) / max(len(sample), 1)


@dataclass(frozen=True)
class _File:
    path: Path
    rows: int


def _written(residents: int, out_dir: Path, seed_kwargs: dict[str, Any]) -> dict[str, _File] | None:
    """The exports a previous run wrote to ``out_dir`` for the same size and seed, if all there."""
    import json

    from linli.demo.generator import DEFAULT_SEED

    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("residents") != residents or manifest.get("seed") != seed_kwargs.get("seed", DEFAULT_SEED):
        return None
    files = {f["code"]: _File(out_dir / f["file"], int(f["rows"])) for f in manifest["files"]}
    return files if all(f.path.is_file() for f in files.values()) else None


def _generate(residents: int, out_dir: Path, seed_kwargs: dict[str, Any]) -> dict[str, _File]:
    from linli.demo.exports import generate_exports

    exports = generate_exports(residents=residents, out_dir=out_dir, **seed_kwargs)
    return {code: _File(file.path, file.rows) for code, file in exports.files.items() if file.path is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--residents", type=int, default=540_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--baseline-rows", type=int, default=300)
    parser.add_argument("--exports-dir", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the import here")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed the registry and write the exports, import nothing (a template database "
                             "to copy with CREATE DATABASE … TEMPLATE for runs that start alike)")
    parser.add_argument("--reuse-exports", action="store_true",
                        help="take the exports an earlier run wrote for the same size and seed")
    args = parser.parse_args()
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.harness import Result, report
    from linli.core.actors import SystemActor
    from linli.demo.services import demo_seed
    from linli.fusion.models import Source
    from linli.fusion.services import import_run, sources_sync
    from linli.registry.models import Person

    settings.LINLI_FUSION_MAX_MB = 2048  # district exports are larger than a web upload
    call_command("migrate", verbosity=0)
    actor = SystemActor("bench:fusion")
    seed_kwargs: dict[str, Any] = {} if args.seed is None else {"seed": args.seed}
    if not Person.objects.exists():
        t = time.perf_counter()
        demo_seed(actor=actor, residents=args.residents, **seed_kwargs)
        print(f"seeded {Person.objects.count():,} persons in {time.perf_counter() - t:.1f} s", flush=True)
    out_dir = args.exports_dir or Path(settings.DATA_DIR) / "fusion-bench-exports"
    t = time.perf_counter()
    reused = _written(args.residents, out_dir, seed_kwargs) if args.reuse_exports else None
    if reused is not None:
        files = reused
        print(f"reusing the exports in {out_dir}", flush=True)
    else:
        # In a child process: the peak RSS measured below is the import's, not the generator's.
        connection.close()
        with multiprocessing.get_context("fork").Pool(1) as pool:
            files = pool.apply(_generate, (args.residents, out_dir, seed_kwargs))
        print(f"generated exports in {time.perf_counter() - t:.1f} s", flush=True)
    sources = {s.code: s for s in sources_sync(actor=actor)}
    if args.seed_only:
        connection.close()
        return
    total_rows = sum(f.rows for f in files.values())
    persons_before = Person.objects.count()
    rss_before = _peak_rss_mib()
    stage_times = _StageLog()
    sampler = _RssSampler()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    sampler.start()
    reports = []
    for code, file in files.items():
        lap = time.perf_counter()
        fused = import_run(actor=actor, source=sources[code], file_path=file.path, dry_run=False,
                           timings=stage_times)
        took = time.perf_counter() - lap
        reports.append(fused)
        print(f"{code:10s} {file.rows:>9,} rows {took:7.1f} s  new {fused.new_persons:,} "
              f"matched {sum(v for k, v in fused.matched.items() if k != 'new'):,} review {fused.review:,} "
              f"rejected {fused.rejected:,} conflicts {fused.conflicts:,}", flush=True)
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    stage_rss = sampler.peaks(stage_times)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    peak = _peak_rss_mib()
    print(f"total {total_rows:,} rows in {wall:.1f} s ({total_rows / wall:,.0f} rows/s); persons "
          f"{persons_before:,} → {Person.objects.count():,}; peak RSS {peak:,.0f} MiB (before import {rss_before:,.0f})")
    print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stage_times.items()))
    print("peak RSS by stage (max over files): "
          + ", ".join(f"{k} {v:,.0f} MiB" for k, v in stage_rss.items()))
    first_code, first_file = next(iter(files.items()))
    per_row = _baseline(first_file.path, sources[first_code], args.baseline_rows)
    naive = per_row * total_rows
    print(f"baseline: {per_row * 1000:.2f} ms per row with ORM saves → {naive:,.0f} s extrapolated", flush=True)
    results = [
        Result(bench="fusion district import", size=total_rows, unit="s wall", linli=wall, baseline=naive,
               baseline_name="ORM save per row (extrapolated)", higher_is_better=False, goal="< 90 s",
               goal_met=wall < 90, notes=f"{connection.vendor}",
               extra={"peak_rss_mib": peak, "rows_per_s": total_rows / wall, **stage_times}),
        Result(bench="fusion district peak RSS", size=total_rows, unit="MiB", linli=peak, baseline=None,
               higher_is_better=False, goal="< 4096 MiB", goal_met=peak < 4096),
    ]
    report(results, name="bench_fusion_district")
    _ = Source  # imported for type checkers reading the sources dict


if __name__ == "__main__":
    main()
