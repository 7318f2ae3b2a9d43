"""XLSX export of a statistics table (xlsxwriter, in memory, headers in the active language)."""

from __future__ import annotations

import io

import xlsxwriter
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.cases.indicators import INDICATORS
from linli.cases.stats import GROUP_LABELS, StatRow, StatsTable

_COMPARE_LABELS: dict[str, Promise] = {"yoy": gettext_lazy("同比"), "mom": gettext_lazy("环比")}


def _cell(value: float | int | None, kind: str) -> float | int | str:
    if value is None:
        return "—"
    if kind == "hours":
        return round(float(value), 1)
    return value


def case_statistics_xlsx(table: StatsTable, *, title: str) -> bytes:
    """One sheet: a title line, the header, one line per group and the total.

    Rates are stored as fractions with a percent format (so spreadsheets can compute with
    them); with a comparison, each indicator gets its comparison value and change too.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(_("统计"))
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
    percent = book.add_format({"num_format": "0.0%"})
    number = book.add_format({"num_format": "0.0"})
    formats = {"rate": percent, "hours": number}

    period = _("%(start)s 至 %(end)s") % {"start": f"{table.start:%Y-%m-%d}", "end": f"{table.end:%Y-%m-%d}"}
    if table.compare and table.compare_start and table.compare_end:
        period += _("(%(compare)s:%(start)s 至 %(end)s)") % {
            "compare": _COMPARE_LABELS.get(table.compare, table.compare),
            "start": f"{table.compare_start:%Y-%m-%d}", "end": f"{table.compare_end:%Y-%m-%d}",
        }
    sheet.write(0, 0, title, bold)
    sheet.write(1, 0, _("统计区间:%(period)s") % {"period": period})

    compare = table.compare is not None
    columns: list[tuple[str, str, str, str]] = []  # (header, indicator key, kind, part)
    for key, label, kind in INDICATORS:
        columns.append((str(label), key, kind, "values"))
        if compare:
            word = str(_COMPARE_LABELS.get(table.compare or "", _("对比")))
            names = {"indicator": label, "compare": word}
            columns.append((_("%(indicator)s(%(compare)s期)") % names, key, kind, "previous"))
            columns.append((_("%(indicator)s(%(compare)s变化)") % names, key,
                            "rate" if kind != "hours" else "hours", "deltas"))
    head_row = 3
    sheet.write(head_row, 0, str(GROUP_LABELS.get(table.group_by, _("分组"))), header)
    for col, (heading, _key, _kind, _part) in enumerate(columns, start=1):
        sheet.write(head_row, col, heading, header)

    def write(row_index: int, row: StatRow) -> None:
        sheet.write(row_index, 0, row.label, bold if row.key == "total" else None)
        for col, (_label, key, kind, part) in enumerate(columns, start=1):
            source = getattr(row, part) or {}
            sheet.write(row_index, col, _cell(source.get(key), kind), formats.get(kind))

    line = head_row + 1
    for row in table.rows:
        write(line, row)
        line += 1
    if table.total is not None:
        write(line, table.total)
    sheet.freeze_panes(head_row + 1, 1)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, len(columns), 11)
    book.close()
    return buffer.getvalue()
