"""Fusion on exports nobody here wrote (issue 17): the whole import path, scored against the truth.

    .venv/bin/python -m benchmarks.eval_fusion_independent [--orders 3] [--database-url postgresql://…/postgres]

The data (``benchmarks/data/independent_fusion/``) was written by an author who never saw
linli's code; the source definitions (``…/definitions/*.toml``, with ``plan.toml`` naming the
file each one imports) by an integrator who had only the data's cover letter and
docs/fusion-sources.md. Nothing in linli is tuned on this data: it is scored, never fitted.

For each import order: a fresh site (its own data folder; SQLite, or a throwaway PostgreSQL
database), `linli migrate`, `linli areas load` of the street in the cover letter, then
`linli import CODE FILE --definition DEF --area STREET` for each file, as an integrator runs
them. The source records are read back (file, sheet, row → person) and scored pairwise against
``truth.csv``: overall, across files and per error class of ``noise_log.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import psycopg

from benchmarks.fusion_scoring import Evaluation, Row, evaluate, read_noise, read_truth, table

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "benchmarks" / "data" / "independent_fusion"
STREET = "330102099"
# The street of the cover letter (浙江省杭州市上城区清禾街道, three communities); codes are ours.
AREAS = (
    "code,name,parent_code,level\n"
    "330102,上城区,,区\n"
    f"{STREET},清禾街道,330102,街道\n"
    f"{STREET}001,清禾社区,{STREET},社区\n"
    f"{STREET}002,钱塘社区,{STREET},社区\n"
    f"{STREET}003,云栖社区,{STREET},社区\n"
)
LINKED_STATUSES = ("accepted", "past")
READ_BACK = """
import json, django
django.setup()
from linli.fusion.models import SourceRecord
rows = SourceRecord.objects.values_list("job__file_name", "sheet", "row_number", "person_id", "status")
print(json.dumps([list(r) for r in rows], ensure_ascii=False))
"""


def linli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "linli.cli", *args], cwd=PROJECT, env=env,  # noqa: S603
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"linli {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def plan(definitions: Path, data: Path = DATA) -> list[tuple[str, Path, Path]]:
    """(source code, export file, definition) in the integrator's order."""
    spec = tomllib.loads((definitions / "plan.toml").read_text(encoding="utf-8"))
    out = []
    for item in spec["imports"]:
        definition = definitions / item["definition"]
        code = tomllib.loads(definition.read_text(encoding="utf-8"))["code"]
        out.append((code, data / "out" / item["file"], definition))
    return out


def run_order(order: list[tuple[str, Path, Path]], database_url: str) -> tuple[dict[Row, int | None], float, list[str]]:
    with tempfile.TemporaryDirectory(prefix="linli-eval-fusion-") as folder:
        env = {**os.environ, "LINLI_DATA_DIR": folder, "LINLI_ENV": "development"}
        env.pop("LINLI_TESTING", None)
        admin_url, name = "", ""
        if database_url:
            name = f"linli_eval_fusion_{os.getpid()}"
            admin_url = database_url
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
            env["LINLI_DATABASE_URL"] = database_url.rsplit("/", 1)[0] + "/" + name
        else:
            env.pop("LINLI_DATABASE_URL", None)
        try:
            linli(env, "migrate", "-v0")
            areas = Path(folder) / "areas.csv"
            areas.write_text(AREAS, encoding="utf-8")
            linli(env, "areas", "load", str(areas))
            logs = []
            started = time.perf_counter()
            for code, export, definition in order:
                logs.append(linli(env, "import", code, str(export), "--definition", str(definition), "--area", STREET))
            took = time.perf_counter() - started
            done = subprocess.run([sys.executable, "-c", READ_BACK], cwd=PROJECT, capture_output=True, text=True,  # noqa: S603
                                  env={**env, "DJANGO_SETTINGS_MODULE": "linli.settings"}, check=True, timeout=600)
            fused: dict[Row, int | None] = {}
            for file_name, sheet, row_number, person_id, status in json.loads(done.stdout):
                # A row sent to review or rejected is "not linked" (a clerk has not decided yet); a
                # past record (``past_rows``: 注销/迁出) linked to its person is linked.
                linked = status in LINKED_STATUSES
                fused[(Path(file_name).name, sheet or "", int(row_number))] = person_id if linked else None
            return fused, took, logs
        finally:
            if name:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(evaluation: Evaluation, rows_recorded: int) -> str:
    o = evaluation.overall
    return (f"rows {evaluation.rows:,} (recorded {rows_recorded:,}, not linked {evaluation.rows_unlinked:,}); "
            f"pairwise P {o.precision:.4f} R {o.recall:.4f} F1 {o.f1:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the data set (default: the held-out independent set; benchmarks/data/dev_fusion is "
                             "our own dev set, the one to develop on)")
    parser.add_argument("--definitions", type=Path, default=None, help="default: DATA/definitions")
    parser.add_argument("--orders", type=int, default=2, help="1: the plan's order; 2: also reversed; 3: also rotated")
    parser.add_argument("--database-url", default="", help="PostgreSQL server (its admin database) to run on")
    parser.add_argument("--show-log", action="store_true", help="print each import's report")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write each order's row → person as JSON to DUMP.ORDER.json (the dev set only: "
                             "the held-out set's per-row results are not to be looked at)")
    args = parser.parse_args()

    data: Path = args.data
    truth = read_truth(data / "out" / "truth.csv")
    noise = read_noise(data / "out" / "noise_log.csv")
    base = plan(args.definitions or data / "definitions", data)
    orders = [("plan", base), ("reversed", base[::-1]), ("rotated", base[len(base) // 2:] + base[:len(base) // 2])]
    for label, order in orders[:args.orders]:
        fused, took, logs = run_order(order, args.database_url)
        if args.show_log:
            print("\n".join(logs))
        if args.dump:
            args.dump.with_suffix(f".{label}.json").write_text(
                json.dumps([[*row, person] for row, person in fused.items()], ensure_ascii=False), encoding="utf-8")
        missing = [row for row in truth if row not in fused]
        evaluation = evaluate(truth, fused, noise)
        print(f"\n## order: {label} ({', '.join(code for code, _, _ in order)}); imports took {took:.1f} s; "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}")
        print(summary(evaluation, len(fused)))
        if missing:
            print(f"rows with no source record: {len(missing):,} (e.g. {missing[:3]})")
        print(table(evaluation, min_pairs=5))


if __name__ == "__main__":
    main()
