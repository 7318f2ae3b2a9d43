"""``manage.py linli_demo_exports [--seed S] [--residents N] [--out DIR]``: write the six
departmental exports of the demo street, with ``truth.csv``, ``conflicts.csv``,
``registry.parquet`` and ``manifest.json`` (default folder: ``DATA_DIR/exports``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.demo.exports import EXPORTS_DIRNAME, generate_exports
from linli.demo.generator import DEFAULT_RESIDENTS, DEFAULT_SEED


class Command(BaseCommand):
    help = "Write the demo street's six departmental exports (民政, 残联, 综治, 城管, 计生, 流动人口) and their truth."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS)
        parser.add_argument("--out", type=Path, default=None, help="folder (default: DATA_DIR/exports)")
        parser.add_argument("--if-missing", action="store_true",
                            help="do nothing when the folder already holds this seed's and size's exports")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["residents"] < 1:
            raise CommandError("--residents must be at least 1")
        out: Path = options["out"] or Path(settings.DATA_DIR) / EXPORTS_DIRNAME
        if options["if_missing"] and _written(out, seed=options["seed"], residents=options["residents"]):
            self.stdout.write(f"exports already in {out}")
            return
        started = time.perf_counter()
        exports = generate_exports(seed=options["seed"], residents=options["residents"], out_dir=out)
        for file in exports.files.values():
            sheets = f" sheets {', '.join(file.sheets)}" if file.sheets else ""
            self.stdout.write(f"{file.department} {file.file_name}: {file.rows:,} rows ({file.encoding}){sheets}")
        stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in exports.timings.items())
        self.stdout.write(f"stages: {stages}")
        self.stdout.write(self.style.SUCCESS(
            f"wrote {exports.rows:,} rows for {exports.residents:,} residents (seed {exports.seed}) "
            f"to {out} in {time.perf_counter() - started:.1f}s",
        ))


def _written(out: Path, *, seed: int, residents: int) -> bool:
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = manifest.get("seed") == seed and manifest.get("residents") == residents
    return bool(same and all((out / f["file"]).exists() for f in manifest.get("files", [])))
