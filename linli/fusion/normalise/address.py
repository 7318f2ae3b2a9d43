"""Addresses: the reference parser (one address at a time) of compound, building, unit and room."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from linli.fusion.normalise.values import _DASHES, chinese_number, clean_text

# --- addresses -------------------------------------------------------------------------------

_PROVINCE_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,7}?(省|自治区)")
_CITY_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,4}?市(?!场)")
# A district or county, but not the 小区/园区/社区 that end many compound names.
_DISTRICT_RE: Final = re.compile(r"^[\u4e00-\u9fff]{1,3}?(?<![小园社校营])(区|县)")
_STREET_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,5}?(街道|镇|乡)")
_COMMUNITY_RE: Final = re.compile(r"^[\u4e00-\u9fff]{2,5}?社区(?:居委会)?")
_ROAD_RE: Final = re.compile(r"^([\u4e00-\u9fff]{1,8}?(?:路|街|巷|弄|大道))(\d+)号(?!楼)")
# A road, its door number and a dashed building(-unit)-room: 清禾路12-3-502, 清禾路12-3-2-502.
_ROAD_DASH_RE: Final = re.compile(
    r"^([\u4e00-\u9fff]{1,8}?(?:路|街|巷|弄|大道))(\d+)号?-(\d+)-(?:(\d+)-)?(\d+)(?:室|号|房)?$")
_CN_NUM: Final = "零〇一二两三四五六七八九十"
_UNIT_TAIL_RE: Final = re.compile(
    rf"(?P<b>\d+|[{_CN_NUM}]+)\s*(?P<bw>幢|栋|号楼|号|座|#|-)"
    rf"\s*(?:(?P<u>\d+|[{_CN_NUM}]+)\s*(?:单元|-))?"
    r"\s*(?:(?P<r>\d+)\s*(?:室|号|房)?)?$"
)


_BUILDING_WORDS: Final = frozenset({"幢", "栋", "号楼", "座"})
# 第3幢 / 第三单元: the ordinal 第 says nothing the number does not.
_ORDINAL_RE: Final = re.compile(rf"第(?=(?:\d+|[{_CN_NUM}]+)\s*(?:幢|栋|号楼|座|单元))")
# A floor between the unit and the room (2单元5楼502室, 2单元5层502): the room number has it.
_FLOOR_RE: Final = re.compile(r"(?<=单元)\s*\d+\s*[楼层]\s*(?=\d)")
# A note in brackets after the room (502室(东), 502室（西户）).
_TRAILING_NOTE_RE: Final = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


@dataclass(frozen=True)
class Address:
    """A normalised address and its parsed key (compound, building, unit, room); parts that
    could not be read are empty strings.
    """

    norm: str
    compound: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    road: str = ""
    road_number: str = ""

    @property
    def building_key(self) -> str:
        """``<compound>|<building no>`` as the registry stores it; ``""`` without a compound
        (``12-3-502`` alone could be any compound's building 12).
        """
        return f"{self.compound}|{self.building}" if self.building and self.compound else ""

    @property
    def parsed(self) -> bool:
        return bool(self.building)


def building_key(compound: str, building_name: str) -> str:
    """The registry side of the key: ``("幸福里", "1幢")`` or ``("幸福里", "1")`` → ``幸福里|1``."""
    building_name = building_name.strip()
    if building_name.isdigit():
        building_name += "幢"
    return normalise_address(f"{compound}{building_name}").building_key


def _strip_prefixes(text: str) -> str:
    for pattern in (_PROVINCE_RE, _CITY_RE, _DISTRICT_RE, _STREET_RE, _COMMUNITY_RE):
        match = pattern.match(text)
        if match and match.end() < len(text):
            text = text[match.end():]
    return text


@lru_cache(maxsize=262144)
def _parse_address(text: str) -> Address:
    text = _strip_prefixes(text)
    dashed = _ROAD_DASH_RE.match(text)
    if dashed:
        road, door, building, unit, room = dashed.groups()
        compound = f"{road}{door}号"
        room = room.lstrip("0") or "0"
        norm = f"{compound}{building}幢" + (f"{unit}单元" if unit else "") + f"{room}室"
        return Address(norm=norm, compound=compound, building=building, unit=unit or "", room=room,
                       road=road, road_number=door)
    road = road_number = ""
    match = _ROAD_RE.match(text)
    if match and match.end() < len(text):
        road, road_number = match.group(1), match.group(2)
        text = text[match.end():]
    tail = _UNIT_TAIL_RE.search(text)
    # Building alone only with an explicit building word (a bare 12号 is a door number).
    if tail is None or not (tail.group("r") or (tail.group("bw") in _BUILDING_WORDS and not tail.group("u"))):
        return Address(norm=(f"{road}{road_number}号" if road else "") + text, road=road, road_number=road_number)
    # No compound name after the road: the buildings are numbered under the door number
    # (清禾路12号3栋2单元502室), which then names the compound.
    compound = text[:tail.start()].strip(" -,") or (f"{road}{road_number}号" if road else "")
    building = str(chinese_number(tail.group("b")) or tail.group("b"))
    unit_text = tail.group("u")
    unit = str(chinese_number(unit_text)) if unit_text else ""
    room = (tail.group("r") or "").lstrip("0") or ("0" if tail.group("r") else "")
    norm = f"{compound}{building}幢" + (f"{unit}单元" if unit else "") + (f"{room}室" if room else "")
    return Address(norm=norm, compound=compound, building=building, unit=unit, room=room,
                   road=road, road_number=road_number)


def normalise_address(raw: object) -> Address:
    """``杭州市上城区望江街道望江路88号江城花园３栋2单元0502`` → ``江城花园3幢2单元502室``.

    Building words 栋/幢/号楼/座/#/号, 单元, 室/号, the dashed ``12-3-502`` and Chinese numerals
    (三单元) are read; province/city/district/street/community prefixes and a road with its
    number are dropped from the key (kept in ``road``/``road_number``). Text that does not end
    in building + room keeps ``norm`` only.
    """
    text = clean_text(raw).translate(_DASHES).replace(" ", "")
    text = text.replace("楼栋", "幢").replace("楼幢", "幢")
    text = _FLOOR_RE.sub("", _ORDINAL_RE.sub("", _TRAILING_NOTE_RE.sub("", text)))
    return _parse_address(text) if text else Address(norm="")

