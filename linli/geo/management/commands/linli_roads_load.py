"""``linli roads load FILE [--dry-run]``: the named roads of the base map from a GeoJSON file.

Roads of the same file name are replaced (loading the file again changes nothing); a problem
in any feature is printed with its feature number and nothing is written (exit status 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.geo.road_files import read_road_file
from linli.geo.services import roads_replace


class Command(BaseCommand):
    help = ("Load the named roads of the base map from a GeoJSON FeatureCollection of LineString/"
            "MultiLineString features with a name property; replaces the roads of a file of the same name.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .geojson/.json FeatureCollection")
        parser.add_argument("--dry-run", action="store_true", help="print what would be loaded, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        parsed = read_road_file(path.read_bytes())
        if parsed.problems:
            for problem in parsed.problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(f"{len(parsed.problems)} problem(s) in {path.name}: nothing was written")
        if options["dry_run"]:
            self.stdout.write(f"would load {len(parsed.rows)} roads ({parsed.skipped} unnamed lines skipped)")
            return
        loaded = roads_replace(actor=SystemActor("command:linli_roads_load"), source=path.name, roads=parsed.rows)
        self.stdout.write(f"loaded {loaded} roads from {path.name} ({parsed.skipped} unnamed lines skipped)")
