"""``linli areas load FILE [--dry-run]``: a district's area tree from a GeoJSON or CSV file.

Prints what is (or would be) created and changed; a problem in any row or feature is printed
with its line or feature number and nothing is written (exit status 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.geo.area_files import read_area_file
from linli.geo.services import area_tree_load


class Command(BaseCommand):
    help = ("Create or update areas from a GeoJSON FeatureCollection or a CSV (code, name, parent_code, "
            "level, optional boundary); idempotent.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .geojson/.json FeatureCollection or a .csv file")
        parser.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        parsed = read_area_file(name=path.name, data=path.read_bytes())
        problems = list(parsed.problems)
        report = area_tree_load(actor=SystemActor("command:linli_areas_load"), rows=parsed.rows,
                                dry_run=options["dry_run"] or bool(problems))
        problems += report.problems
        if problems:
            for problem in problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(f"{len(problems)} problem(s) in {path.name}: nothing was written")
        verb = "would create" if options["dry_run"] else "created"
        for row in report.created:
            self.stdout.write(f"+ {row.code} {row.name} ({row.level.label})")
        for row, changes in report.changed:
            self.stdout.write(f"~ {row.code} {row.name}: {', '.join(changes)}")
        change_verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(f"{verb} {len(report.created)}, {change_verb} {len(report.changed)}, "
                          f"unchanged {report.unchanged}")
