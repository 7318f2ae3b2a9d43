"""Reading an area file as a district sends it: a GeoJSON FeatureCollection, or a CSV with
the national division codes (统计用区划代码), names, parent codes, level and an optional
boundary. Pure: bytes in, rows and row-numbered problems out; nothing is written here.

Codes may come in the 12-digit national form: ``330102000000`` is the district 330102 and
``330102001000`` the street 330102001 (trailing zero groups are dropped); communities are 12
digits either way. Levels are numbers (1–5) or words (区, 街道, 社区, 片区, 网格, or in
English); without one the code's length decides (6, 9, 12 digits), and a 15-digit code must
say whether it is a zone or a grid.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from linli.core.errors import ApplicationError, ValidationFailed
from linli.geo.choices import AreaLevel
from linli.geo.workflow import validate_boundary

# Column names (and GeoJSON property names) accepted for each field, first the canonical one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "代码", "区划代码", "统计用区划代码", "adcode"),
    "name": ("name", "名称", "区划名称"),
    "parent_code": ("parent_code", "parent", "上级编码", "上级代码", "上级区划代码"),
    "level": ("level", "层级", "级别"),
    "boundary": ("boundary", "geometry", "边界"),
}
LEVEL_WORDS: dict[str, AreaLevel] = {
    "district": AreaLevel.DISTRICT, "区": AreaLevel.DISTRICT, "县": AreaLevel.DISTRICT,
    "区县": AreaLevel.DISTRICT, "县区": AreaLevel.DISTRICT,
    "street": AreaLevel.STREET, "街道": AreaLevel.STREET, "乡镇": AreaLevel.STREET,
    "镇": AreaLevel.STREET, "乡": AreaLevel.STREET,
    "community": AreaLevel.COMMUNITY, "社区": AreaLevel.COMMUNITY, "村": AreaLevel.COMMUNITY,
    "居委会": AreaLevel.COMMUNITY, "村委会": AreaLevel.COMMUNITY,
    "zone": AreaLevel.ZONE, "片区": AreaLevel.ZONE,
    "grid": AreaLevel.GRID, "网格": AreaLevel.GRID,
}
_LEVEL_BY_LENGTH = {6: AreaLevel.DISTRICT, 9: AreaLevel.STREET, 12: AreaLevel.COMMUNITY}
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class AreaRow:
    """One area of the file; ``where`` names its place in the file for messages."""

    where: str
    code: str
    name: str
    parent_code: str
    level: AreaLevel
    boundary: dict[str, Any] | None


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row or feature, and with which field."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass
class AreaFile:
    """The rows that read cleanly and the problems of the others."""

    rows: list[AreaRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def national_code(code: str) -> str:
    """``330102000000`` → ``330102``, ``330102001000`` → ``330102001``; anything else as it is."""
    code = code.strip()
    if len(code) == 12 and code.isdigit():
        if code.endswith("000000"):
            return code[:6]
        if code.endswith("000"):
            return code[:9]
    return code


def row_level(value: object, code: str) -> AreaLevel:
    """The level from a number, a word, or (when empty) the code's length."""
    text = str(value).strip().lower() if value is not None else ""
    if not text:
        level = _LEVEL_BY_LENGTH.get(len(code))
        if level is None:
            raise ValidationFailed("level", _("请填写层级(15位编码可以是片区或网格)"))
        return level
    if text.isdigit() and int(text) in AreaLevel.values:
        return AreaLevel(int(text))
    if text in LEVEL_WORDS:
        return LEVEL_WORDS[text]
    raise ValidationFailed("level", _("未知的层级“%(level)s”") % {"level": value})


def _pick(record: Mapping[str, Any], name: str) -> Any:
    for key in COLUMNS[name]:
        if key in record and record[key] not in (None, ""):
            return record[key]
    return None


def _row(where: str, record: Mapping[str, Any], geometry: Any) -> AreaRow:
    code = national_code(str(_pick(record, "code") or ""))
    if not code:
        raise ValidationFailed("code", _("缺少编码"))
    name = str(_pick(record, "name") or "").strip()
    if not name:
        raise ValidationFailed("name", _("缺少名称"))
    level = row_level(_pick(record, "level"), code)
    parent_code = national_code(str(_pick(record, "parent_code") or ""))
    boundary = None
    if geometry not in (None, ""):
        if isinstance(geometry, str):
            try:
                geometry = json.loads(geometry)
            except json.JSONDecodeError:
                raise ValidationFailed("boundary", _("边界不是有效的GeoJSON")) from None
        boundary = validate_boundary(geometry)
    return AreaRow(where=where, code=code, name=name, parent_code=parent_code, level=level, boundary=boundary)


def _read_rows(file: AreaFile, records: Sequence[tuple[str, Mapping[str, Any], Any]]) -> AreaFile:
    for where, record, geometry in records:
        try:
            file.rows.append(_row(where, record, geometry))
        except ApplicationError as error:
            file.problems.append(RowProblem(where, error.field or "-", error.message))
    return file


def geojson_features(data: bytes, problems: list[RowProblem]) -> list[Any] | None:
    """The features of a GeoJSON FeatureCollection (areas, roads); ``None`` with the reason
    added to ``problems`` when the file is not one."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(RowProblem(_("文件"), "-", _("不是有效的GeoJSON:%(e)s") % {"e": error}))
        return None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" or not isinstance(features, list):
        problems.append(RowProblem(_("文件"), "-", _("GeoJSON须为FeatureCollection")))
        return None
    return features


def geojson_numbered_features(data: bytes, problems: list[RowProblem]) -> list[tuple[str, dict[str, Any], Any]]:
    """Each feature of a FeatureCollection as (where, properties, geometry), ``where`` naming
    it for messages; a file too large or not a FeatureCollection, and a feature that is not an
    object, are added to ``problems``. Shared by the area, road and building layers."""
    if len(data) > MAX_BYTES:
        problems.append(RowProblem(_("文件"), "-", _("文件过大(上限50 MB)")))
        return []
    records = []
    for number, feature in enumerate(geojson_features(data, problems) or [], start=1):
        where = _("第%(n)d个要素") % {"n": number}
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or not isinstance(properties or {}, dict):
            problems.append(RowProblem(where, "-", _("要素格式无效")))
            continue
        records.append((where, properties or {}, feature.get("geometry")))
    return records


def read_geojson(data: bytes) -> AreaFile:
    """A FeatureCollection: one area per feature, its fields in ``properties``."""
    file = AreaFile()
    return _read_rows(file, geojson_numbered_features(data, file.problems))


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "neither UTF-8 nor GB18030")


def read_csv(data: bytes) -> AreaFile:
    """A CSV with a header row (UTF-8, with or without BOM, or GBK/GB18030); the rows are
    named by their line in the file."""
    file = AreaFile()
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        file.problems.append(RowProblem(_("文件"), "-", _("无法识别文件编码(请用UTF-8或GBK)")))
        return file
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = {h.strip() for h in reader.fieldnames or [] if h}
    for required in ("code", "name"):
        if not headers & set(COLUMNS[required]):
            file.problems.append(RowProblem(
                _("表头"), required, _("缺少列:%(names)s") % {"names": " / ".join(COLUMNS[required])}))
    if file.problems:
        return file
    records = []
    for record in reader:
        clean = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else v for k, v in record.items()}
        if not any(clean.values()):
            continue
        records.append((_("第%(n)d行") % {"n": reader.line_num}, clean, _pick(clean, "boundary")))
    return _read_rows(file, records)


def read_area_file(*, name: str, data: bytes) -> AreaFile:
    """By the file's name: ``.geojson``/``.json`` as GeoJSON, anything else as CSV."""
    if len(data) > MAX_BYTES:
        return AreaFile(problems=[RowProblem(_("文件"), "-", _("文件过大(上限50 MB)"))])
    if name.lower().endswith((".geojson", ".json")):
        return read_geojson(data)
    return read_csv(data)
