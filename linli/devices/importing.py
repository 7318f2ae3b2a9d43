"""Reading a device list (CSV or XLSX) into checked rows for :func:`services.device_import`.

The file goes through fusion's reader (size, encoding, workbook limits ``LINLI_IMPORT_MAX_*``,
formulas refused). Each row is checked field by field; a problem names the row (as the
spreadsheet numbers it) and the column. Places are looked up only within the importing
user's area: a building, person or facility of another area is "not found", never revealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core import pii
from linli.core.errors import ValidationFailed
from linli.devices.choices import DeviceKind
from linli.fusion.readers import ROW_COLUMN, read_export
from linli.geo.models import Area
from linli.registry.models import Building, Facility, Person, Room
from linli.registry.text import PII_ID_NUMBER
from linli.registry.validators import parse_id_number

# Column headers: Chinese as in the template, English accepted too.
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("设备标识", "external_id"),
    "kind": ("类型", "kind"),
    "vendor": ("厂商", "vendor"),
    "model": ("型号", "model"),
    "name": ("名称", "name"),
    "spot": ("安装位置", "spot"),
    "building": ("楼栋地址", "building"),
    "unit": ("单元", "unit"),
    "room": ("室号", "room"),
    "facility": ("设施编号", "facility"),
    "grid": ("网格编码", "grid"),
    "id_number": ("身份证号", "id_number"),
    "heartbeat_hours": ("心跳(小时)", "heartbeat_hours"),
    "absence_hours": ("未开门报警(小时)", "absence_hours"),
}
TEMPLATE_HEADER = ",".join(names[0] for names in COLUMNS.values())
MAX_TEXT = {"vendor": 50, "model": 50, "name": 100, "spot": 50}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class CheckedRow:
    row: int
    values: dict[str, Any] = field(default_factory=dict)


def _kind(text: str) -> str:
    for value, label in DeviceKind.choices:
        if text in (value, str(label)):
            return str(value)
    raise ValidationFailed("kind", _("未知的设备类型:%(kind)s") % {"kind": text[:30]})


def _hours(text: str, name: str, *, low: int, high: int) -> int:
    try:
        number = int(float(text))
    except ValueError:
        raise ValidationFailed(name, _("须为整数小时")) from None
    if not low <= number <= high:
        raise ValidationFailed(name, _("须在%(low)s到%(high)s小时之间") % {"low": low, "high": high})
    return number


class _Places:
    """Lookups within the user's grids, cached per file."""

    def __init__(self, user: User) -> None:
        self.grids = scope_for(user).grid_ids

    def building(self, address: str) -> Building:
        found = list(Building.objects.filter(address=address, grid_id__in=self.grids)[:2])
        if len(found) != 1:
            raise ValidationFailed("building", _("找不到该楼栋,或不在您的管辖范围内") if not found
                                   else _("该地址对应多个楼栋"))
        return found[0]

    def room(self, building: Building, unit: str, number: str) -> Room:
        try:
            unit_no = int(float(unit))
        except ValueError:
            raise ValidationFailed("unit", _("单元号须为数字")) from None
        room = Room.objects.filter(building=building, unit__number=unit_no, number=number).first()
        if room is None:
            raise ValidationFailed("room", _("该楼栋中找不到此房屋"))
        return room

    def person(self, raw: str) -> Person:
        parsed = parse_id_number(raw, field="id_number")
        bidx = pii.blind_index(parsed.value, field=PII_ID_NUMBER)
        person = Person.objects.filter(id_number_bidx=bidx, grid_id__in=self.grids).first()
        if person is None:
            raise ValidationFailed("id_number", _("找不到该人员,或不在您的管辖范围内"))
        return person

    def facility(self, code: str) -> Facility:
        facility = Facility.objects.filter(code=code, grid_id__in=self.grids).first()
        if facility is None:
            raise ValidationFailed("facility", _("找不到该设施,或不在您的管辖范围内"))
        return facility

    def grid(self, code: str) -> Area:
        area = Area.objects.filter(code=code, pk__in=self.grids).first()
        if area is None:
            raise ValidationFailed("grid", _("找不到该网格,或不在您的管辖范围内"))
        return area


def _check(cells: dict[str, str], places: _Places) -> dict[str, Any]:
    external_id = cells.get("external_id", "")
    if not external_id or len(external_id) > 100:
        raise ValidationFailed("external_id", _("请填写设备标识(不超过100个字符)"))
    if not cells.get("kind"):
        raise ValidationFailed("kind", _("请填写设备类型"))
    values: dict[str, Any] = {"external_id": external_id, "kind": _kind(cells["kind"])}
    for name, limit in MAX_TEXT.items():
        text = cells.get(name, "")
        if len(text) > limit:
            raise ValidationFailed(name, _("不能超过%(n)s个字符") % {"n": limit})
        values[name] = text
    if cells.get("building"):
        building = places.building(cells["building"])
        if not cells.get("room"):
            raise ValidationFailed("room", _("填写了楼栋时须填写单元和室号"))
        values["room"] = places.room(building, cells.get("unit", ""), cells["room"])
    if cells.get("id_number"):
        values["person"] = places.person(cells["id_number"])
    if cells.get("facility"):
        facility = places.facility(cells["facility"])
        values.update(grid=facility.grid, lon=facility.lon, lat=facility.lat)
        if not values.get("spot"):
            values["spot"] = facility.name[:50]
    if cells.get("grid"):
        values["grid"] = places.grid(cells["grid"])
    if not any(k in values for k in ("room", "person", "grid")):
        raise ValidationFailed("building", _("请填写楼栋与房屋、身份证号、设施编号或网格编码之一"))
    if cells.get("heartbeat_hours"):
        values["heartbeat_seconds"] = _hours(cells["heartbeat_hours"], "heartbeat_hours", low=1, high=24 * 30) * 3600
    if cells.get("absence_hours"):
        values["absence_hours"] = _hours(cells["absence_hours"], "absence_hours", low=0, high=24 * 14)
    return values


def read_device_rows(path: Path | str, *, user: User) -> tuple[list[CheckedRow], list[RowError]]:
    """The file's rows checked (raises ``FileRefused`` for a file that cannot be read)."""
    read = read_export(path)
    header: dict[str, str] = {}
    for column in read.columns:
        for name, aliases in COLUMNS.items():
            if column.strip() in aliases:
                header[column] = name
    errors: list[RowError] = []
    if "external_id" not in header.values() or "kind" not in header.values():
        return [], [RowError(1, "external_id", _("表头须包含“设备标识”和“类型”"))]
    places = _Places(user)
    rows: list[CheckedRow] = []
    seen: dict[str, int] = {}
    for record in read.frame.select([*header, ROW_COLUMN]).iter_rows(named=True):
        row_no = int(record[ROW_COLUMN])
        cells = {header[c]: str(v).strip() for c, v in record.items() if c in header and v is not None}
        try:
            values = _check(cells, places)
        except ValidationFailed as error:
            errors.append(RowError(row_no, error.field or "", str(error.message)))
            continue
        if values["external_id"] in seen:
            errors.append(RowError(row_no, "external_id", _("与第%(row)s行的设备标识重复")
                                   % {"row": seen[values["external_id"]]}))
            continue
        seen[values["external_id"]] = row_no
        rows.append(CheckedRow(row_no, values))
    return rows, errors
