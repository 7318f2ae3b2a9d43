"""``linli fusion sources [--diff|--apply] [FILE|FOLDER …]``: show or apply source definitions.

Without a path, the bundled ``linli/fusion/sources/*.toml``. ``--diff`` (the default) prints,
per file, what would change in the stored source; ``--apply`` saves them. A bad file prints
one line ``file: key: message`` and is skipped; the exit status is then 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.fusion.management.schema import require_migrated
from linli.fusion.services import SOURCES_DIR, sources_apply


class Command(BaseCommand):
    help = "显示(--diff)或应用(--apply)数据来源定义文件(TOML/JSON)。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="定义文件或文件夹(默认:内置来源)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--diff", action="store_true", help="只显示差异(默认)")
        action.add_argument("--apply", action="store_true", help="保存到数据库,之后的导入使用新定义")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        targets = options["paths"] or [SOURCES_DIR]
        missing = [str(p) for p in targets if not p.exists()]
        if missing:
            raise CommandError(f"找不到:{'、'.join(missing)}")
        result = sources_apply(actor=SystemActor("command:linli_fusion_sources"), targets=targets,
                               dry_run=not options["apply"])
        verb = "已应用" if options["apply"] else "将更改"
        for path, source, changes in result.saved:
            if not changes:
                self.stdout.write(f"{source.code} ({path.name}): 无变化")
                continue
            self.stdout.write(f"{source.code} ({path.name}): {verb} {len(changes)} 项")
            for line in changes:
                self.stdout.write(f"  {line}")
        for line in result.errors:
            self.stderr.write(line)
        if result.errors:
            raise CommandError(f"{len(result.errors)} 个定义文件有错误,未加载(其余已处理)")
