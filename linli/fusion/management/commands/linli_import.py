"""``linli import SOURCE FILE [--dry-run]``: import a departmental export and print the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.fusion.management.schema import require_migrated
from linli.fusion.mapping import DefinitionFileError, definition_diff, read_definition_file
from linli.fusion.models import Source
from linli.fusion.services import SOURCES_DIR, import_run, sources_apply, sources_sync
from linli.geo.models import Area


class Command(BaseCommand):
    help = "导入部门数据文件(CSV/XLSX),打印导入报告;拒收行写入报告文件。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="来源编码,如 minzheng")
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="只试运行,不写入")
        parser.add_argument("--area", help="街道或区的编码(默认:区级)")
        parser.add_argument("--definition", type=Path,
                            help="先保存此来源定义文件(TOML/JSON),其 code 须与 SOURCE 相同")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        actor = SystemActor("command:linli_import")
        if options["definition"] is not None:
            self._apply_definition(actor, options["definition"], options["source"])
        source = Source.objects.filter(code=options["source"], active=True).first()
        if source is None:
            sources_sync(actor=actor)
            source = Source.objects.filter(code=options["source"], active=True).first()
        if source is None:
            codes = ", ".join(Source.objects.values_list("code", flat=True))
            raise CommandError(f"未知的来源 {options['source']!r}(已有:{codes})")
        area = None
        if options["area"]:
            area = Area.objects.filter(code=options["area"]).first()
            if area is None:
                raise CommandError(f"未知的区域编码 {options['area']!r}")
        self._warn_if_bundled_differs(source)
        try:
            report = import_run(actor=actor, source=source, file_path=options["file"],
                                dry_run=options["dry_run"], area=area)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        out = self.stdout
        counts = report.counts()
        out.write(f"{'试运行' if report.dry_run else '导入'} {source.code} {report.file_name} (任务 #{report.job_id})")
        out.write(f"  编码: {report.encoding or '-'}  工作表: {'、'.join(report.sheets) or '-'}")
        out.write(f"  读取行数:   {counts['rows_read']}")
        if counts["skipped"]:
            out.write(f"  跳过行:     {counts['skipped']} (定义的 skip_rows)")
        if counts["past"]:
            out.write(f"  历史记录行: {counts['past']} (定义的 past_rows;关联到人员 {counts['past_linked']},"
                      f"未找到人员 {counts['past_unlinked']})")
        out.write(f"  未变化行:   {counts['unchanged']}")
        matched = ", ".join(f"{how}={n}" for how, n in sorted(report.matched.items()) if how != "new") or "0"
        out.write(f"  匹配已有人员: {counts['matched_total'] - report.matched.get('new', 0)} ({matched})")
        out.write(f"  新增人员:   {counts['new_persons']}")
        out.write(f"  更新人员/字段: {counts['updated_persons']} / {counts['updated_fields']}")
        out.write(f"  冲突:       {counts['conflicts']} (新建核实任务 {counts['tasks_created']})")
        out.write(f"  待复核:     {counts['review']}")
        out.write(f"  拒收行:     {counts['rejected']} (未采用的值 {counts['dropped_values']})")
        from linli.fusion.models import ImportJob

        job = ImportJob.objects.filter(pk=report.job_id or 0).first()
        if job is not None and job.report_file:
            out.write(f"  拒收清单:   {job.report_file}")

    def _apply_definition(self, actor: SystemActor, path: Path, code: str) -> None:
        try:
            _raw, parsed = read_definition_file(path)
        except DefinitionFileError as exc:
            raise CommandError(str(exc)) from None
        if parsed.code != code:
            raise CommandError(f"{path}: code: 定义的来源编码是 {parsed.code!r},不是 {code!r}")
        result = sources_apply(actor=actor, targets=[path])
        for _path, source, changes in result.saved:
            if changes:
                self.stdout.write(f"来源 {source.code} 已按 {path.name} 更新 {len(changes)} 项")

    def _warn_if_bundled_differs(self, source: Source) -> None:
        """A bundled definition edited since it was loaded is not applied behind the admin's
        back (it may have been edited in the admin since): say so and how to apply it."""
        bundled = SOURCES_DIR / f"{source.code}.toml"
        if not bundled.exists():
            return
        try:
            raw, _parsed = read_definition_file(bundled)
        except DefinitionFileError as exc:
            self.stderr.write(str(exc))
            return
        if definition_diff(source.definition, json.loads(json.dumps(raw))):
            self.stderr.write(f"注意:{bundled} 与已保存的来源 {source.code} 不同;"
                              f"运行 linli fusion sources --diff 查看,--apply 应用")
