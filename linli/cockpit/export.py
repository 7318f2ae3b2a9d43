"""The closing report of an incident as XLSX (xlsxwriter, in memory, headers in the active language)."""

from __future__ import annotations

import io

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.cockpit import workflow
from linli.cockpit.choices import CheckState
from linli.cockpit.models import IncidentHousehold
from linli.cockpit.selectors import Board


def _when(row: IncidentHousehold) -> str:
    return f"{timezone.localtime(row.marked_at):%Y-%m-%d %H:%M:%S}" if row.marked_at else ""


def incident_report_xlsx(board: Board, rows: list[IncidentHousehold]) -> bytes:
    """Sheet 1: the summary; sheet 2: one line per household (no phone numbers, no ID numbers)."""
    incident = board.incident
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    summary = book.add_worksheet(_("概况"))
    summary.write(0, 0, incident.title, bold)
    lines = [
        (_("开始时间"), f"{timezone.localtime(incident.started_at):%Y-%m-%d %H:%M:%S}"),
        (_("结束时间"), f"{timezone.localtime(incident.closed_at):%Y-%m-%d %H:%M:%S}" if incident.closed_at else ""),
        (_("发起人"), incident.started_by.display_name or incident.started_by.username),
        (_("住户总数"), board.total),
        (_("已核查"), board.checked),
        (_("重点人员户"), board.vulnerable_total),
        (_("重点人员户已核查"), board.vulnerable_checked),
        *((str(label), board.by_state.get(value, 0)) for value, label in CheckState.choices),
        (_("处置小结"), incident.summary),
    ]
    for i, (label, value) in enumerate(lines, start=2):
        summary.write(i, 0, str(label), bold)
        summary.write(i, 1, value)
    summary.set_column(0, 0, 18)
    summary.set_column(1, 1, 40)
    sheet = book.add_worksheet(_("住户核查"))
    heads = [_("楼栋"), _("单元"), _("室号"), _("户号"), _("人数"), _("重点人员"), _("网格员"),
             _("核查状态"), _("核查人"), _("核查时间"), _("备注")]
    for col, head in enumerate(heads):
        sheet.write(0, col, str(head), header)
    for r, row in enumerate(rows, start=1):
        kinds = "、".join(str(workflow.KIND_LABELS.get(k, k)) for k in row.tag_kinds)
        values = [
            row.building.address, row.unit_number, row.room_number, row.household.number, row.residents, kinds,
            (row.worker.display_name or row.worker.username) if row.worker else "",
            str(CheckState(row.state).label),
            (row.marked_by.display_name or row.marked_by.username) if row.marked_by else "", _when(row), row.note,
        ]
        for col, value in enumerate(values):
            sheet.write(r, col, value)
    sheet.set_column(0, 0, 24)
    sheet.set_column(5, 5, 24)
    sheet.set_column(9, 10, 20)
    book.close()
    return buffer.getvalue()
