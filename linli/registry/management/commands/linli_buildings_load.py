"""``linli buildings load FILE [--dry-run]``: building outlines and positions from a GeoJSON layer.

A building of the same address gets the file's outline and position (the base map then draws
its outline); an address the registry lacks becomes a building in the grid its position falls
in. A problem in any feature is printed with its feature number and nothing is written (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.registry.building_files import read_building_file
from linli.registry.services import buildings_load


class Command(BaseCommand):
    help = ("Load building outlines (Polygon) or positions (Point) from a GeoJSON FeatureCollection "
            "with an address property; matches buildings by address, creates the missing ones.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .geojson/.json FeatureCollection")
        parser.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        parsed = read_building_file(path.read_bytes())
        report = buildings_load(actor=SystemActor("command:linli_buildings_load"), rows=parsed.rows,
                                dry_run=options["dry_run"] or bool(parsed.problems))
        problems = [*parsed.problems, *report.problems]
        if problems:
            for problem in problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(f"{len(problems)} problem(s) in {path.name}: nothing was written")
        for row in report.created:
            self.stdout.write(f"+ {row.address}{' (outline)' if row.footprint else ''}")
        for row, changes in report.changed:
            self.stdout.write(f"~ {row.address}: {', '.join(changes)}")
        dry = options["dry_run"]
        self.stdout.write(f"{'would create' if dry else 'created'} {len(report.created)}, "
                          f"{'would change' if dry else 'changed'} {len(report.changed)}, unchanged {report.unchanged}")
