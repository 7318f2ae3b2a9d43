"""Which channel a demo case can come in by, per 小类.

A smoke detector reports fires, not 就业帮扶; an AI camera sees rubbish, stalls and parked
cars, not a family quarrel; the 12345 hotline carries complaints (noise, water, property
management, wages); departments hand over the cases of their own lines (矫正, 精神障碍 …).
Grid-worker patrols find most of the rest. Pure data.
"""

from __future__ import annotations

from typing import Final

from linli.cases.choices import CaseSource

# 小类 a sensor reports, with the sensor the timeline names.
IOT_SENSORS: Final[dict[str, str]] = {
    "0506": "烟感报警器", "0503": "燃气泄漏探测器", "1203": "家用燃气报警器", "0502": "管网压力监测",
    "0601": "井盖位移传感器", "0504": "积水水位监测", "1601": "电梯运行监测", "1701": "独居老人门磁",
    "0603": "消火栓水压监测", "1303": "消防设施物联监测", "0602": "智慧路灯控制器", "1606": "二次供水水质监测",
}
# 小类 the AI cameras recognise.
CAMERA_CATEGORIES: Final = frozenset({
    "0101", "0105", "0106", "0107", "0302", "0303", "0304", "0401", "0402", "0403", "0404", "0405",
    "0406", "0407", "1201", "1202", "1301",
})
# Complaints residents phone in (12345) or report themselves more than patrols find them.
COMPLAINTS: Final = frozenset({
    "0301", "1403", "1501", "1103", "1104", "1105", "1106", "1603", "1601", "1606", "0404", "0302",
    "1502", "1503", "1504", "1505", "1205", "1101", "1102", "1604", "1605", "1602", "0602",
})
# Handed over by the department whose line they are.
HANDED_OVER: Final[dict[str, str]] = {
    "1704": "卫健部门", "1705": "司法所", "1405": "派出所", "1404": "综治中心", "1204": "应急管理局",
    "1304": "消防救援站", "0306": "市政设施管理所",
}

_BASE: Final[dict[str, float]] = {CaseSource.PATROL: 62.0, CaseSource.HOTLINE: 12.0, CaseSource.RESIDENT: 7.0,
                CaseSource.STAFF: 5.0, CaseSource.DEPARTMENT: 1.0}


def source_weights(code: str) -> dict[str, float]:
    """The channels a case of 小类 ``code`` comes in by, with their weights."""
    weights: dict[str, float] = dict(_BASE)
    if code in COMPLAINTS:
        weights.update({CaseSource.PATROL: 25.0, CaseSource.HOTLINE: 45.0, CaseSource.RESIDENT: 20.0})
    if code in CAMERA_CATEGORIES:
        weights[CaseSource.CAMERA] = 30.0
    if code in IOT_SENSORS:
        weights[CaseSource.IOT] = 45.0
    if code in HANDED_OVER:
        weights.update({CaseSource.DEPARTMENT: 60.0, CaseSource.HOTLINE: 5.0, CaseSource.RESIDENT: 2.0})
    return weights
