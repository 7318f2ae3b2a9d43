"""Seed catalogue of case categories (大类/小类), departments and default dispatch rules.

Modelled on GB/T 30428.2 (城市部件和事件) for 城市管理 and on common 社区网格 practice for
社区治理. Plain data: the data migration and the tests load it through
:func:`taxonomy_load` with whichever model classes they are given, so the migration uses
its historical models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linli.accounts.departments_seed import DEPARTMENTS as SEED_DEPARTMENTS

# (code, name, kind): the seed departments (``linli.accounts.departments_seed``), which
# include those of the service catalogue's lines.
DEPARTMENTS: list[tuple[str, str, str]] = [(d.code, d.name, d.kind) for d in SEED_DEPARTMENTS]


@dataclass(frozen=True)
class Minor:
    """A 小类: code, name, level, handling time (amount, unit), department code."""

    code: str
    name: str
    level: int
    handle: int
    unit: str
    department: str


@dataclass(frozen=True)
class Major:
    """A 大类 with its domain, stage deadlines (working hours) and 小类."""

    code: str
    name: str
    domain: str
    department: str
    register_hours: int
    dispatch_hours: int
    verify_hours: int
    minors: tuple[Minor, ...]


def _m(code: str, name: str, level: int, handle: int, unit: str, department: str) -> Minor:
    return Minor(code, name, level, handle, unit, department)


H, D = "hours", "days"

CATALOGUE: tuple[Major, ...] = (
    Major("01", "市容环境", "city", "huanwei", 1, 1, 4, (
        _m("0101", "暴露垃圾", 3, 2, H, "huanwei"),
        _m("0102", "积存垃圾渣土", 3, 1, D, "huanwei"),
        _m("0103", "道路不洁", 4, 4, H, "huanwei"),
        _m("0104", "水域不洁", 3, 1, D, "huanwei"),
        _m("0105", "垃圾满溢", 3, 2, H, "huanwei"),
        _m("0106", "乱堆物堆料", 3, 1, D, "chengguan"),
        _m("0107", "焚烧垃圾树叶", 2, 1, H, "chengguan"),
        _m("0108", "动物尸体", 3, 2, H, "huanwei"),
    )),
    Major("02", "宣传广告", "city", "chengguan", 1, 1, 4, (
        _m("0201", "非法小广告", 4, 1, D, "chengguan"),
        _m("0202", "违章张贴悬挂", 4, 1, D, "chengguan"),
        _m("0203", "广告牌匾破损", 3, 3, D, "chengguan"),
        _m("0204", "占道广告牌", 3, 2, D, "chengguan"),
        _m("0205", "横幅标语", 4, 1, D, "chengguan"),
    )),
    Major("03", "施工管理", "city", "zhujian", 1, 1, 4, (
        _m("0301", "施工扰民", 2, 4, H, "zhujian"),
        _m("0302", "工地扬尘", 2, 1, D, "zhujian"),
        _m("0303", "道路遗撒", 2, 4, H, "chengguan"),
        _m("0304", "施工占道", 3, 1, D, "chengguan"),
        _m("0305", "违章搭建", 2, 5, D, "chengguan"),
        _m("0306", "无证掘路", 2, 1, D, "shizheng"),
    )),
    Major("04", "街面秩序", "city", "chengguan", 1, 1, 4, (
        _m("0401", "无照经营游商", 3, 2, H, "chengguan"),
        _m("0402", "店外经营", 3, 4, H, "chengguan"),
        _m("0403", "占道废品收购", 3, 1, D, "chengguan"),
        _m("0404", "露天烧烤", 3, 2, H, "chengguan"),
        _m("0405", "机动车乱停放", 3, 2, H, "jiaojing"),
        _m("0406", "非机动车乱停放", 4, 4, H, "chengguan"),
        _m("0407", "沿街晾挂", 4, 1, D, "chengguan"),
    )),
    Major("05", "突发事件", "city", "zongzhi", 1, 1, 2, (
        _m("0501", "路面塌陷", 1, 4, H, "shizheng"),
        _m("0502", "自来水管破裂", 1, 4, H, "shizheng"),
        _m("0503", "燃气管道破裂", 1, 2, H, "anjian"),
        _m("0504", "道路积水", 1, 4, H, "shizheng"),
        _m("0505", "道路积雪结冰", 1, 4, H, "huanwei"),
        _m("0506", "火灾", 1, 1, H, "xiaofang"),
    )),
    Major("06", "公用设施", "city", "shizheng", 1, 1, 4, (
        _m("0601", "井盖缺失破损", 1, 4, H, "shizheng"),
        _m("0602", "路灯不亮", 3, 2, D, "shizheng"),
        _m("0603", "消火栓损坏", 2, 2, D, "xiaofang"),
        _m("0604", "公共厕所损坏", 3, 2, D, "huanwei"),
        _m("0605", "垃圾箱破损", 4, 3, D, "huanwei"),
        _m("0606", "健身设施损坏", 4, 5, D, "shequ"),
    )),
    Major("07", "道路交通", "city", "shizheng", 1, 1, 4, (
        _m("0701", "道路破损", 2, 3, D, "shizheng"),
        _m("0702", "交通标志损坏", 2, 2, D, "jiaojing"),
        _m("0703", "信号灯故障", 1, 4, H, "jiaojing"),
        _m("0704", "护栏损坏", 3, 3, D, "shizheng"),
        _m("0705", "人行道板松动", 3, 3, D, "shizheng"),
    )),
    Major("08", "园林绿化", "city", "yuanlin", 1, 1, 4, (
        _m("0801", "绿地脏乱", 4, 1, D, "yuanlin"),
        _m("0802", "树木倒伏", 2, 4, H, "yuanlin"),
        _m("0803", "毁绿占绿", 3, 3, D, "chengguan"),
        _m("0804", "行道树缺株", 4, 10, D, "yuanlin"),
        _m("0805", "绿地设施损坏", 4, 5, D, "yuanlin"),
    )),
    Major("09", "房屋土地", "city", "guihua", 1, 1, 8, (
        _m("0901", "违法建设", 2, 10, D, "chengguan"),
        _m("0902", "房屋安全隐患", 1, 1, D, "zhujian"),
        _m("0903", "外立面破损", 3, 5, D, "zhujian"),
        _m("0904", "私挖地下室", 2, 5, D, "zhujian"),
    )),
    Major("11", "矛盾纠纷", "community", "zongzhi", 1, 2, 8, (
        _m("1101", "邻里纠纷", 3, 3, D, "shequ"),
        _m("1102", "家庭纠纷", 3, 3, D, "shequ"),
        _m("1103", "物业纠纷", 3, 5, D, "wuye"),
        _m("1104", "劳资纠纷", 2, 5, D, "zongzhi"),
        _m("1105", "房屋租赁纠纷", 3, 5, D, "zongzhi"),
        _m("1106", "消费纠纷", 4, 5, D, "shichang"),
    )),
    Major("12", "安全隐患", "community", "anjian", 1, 1, 4, (
        _m("1201", "电动车违规充电", 2, 1, D, "shequ"),
        _m("1202", "高空坠物隐患", 1, 4, H, "wuye"),
        _m("1203", "燃气使用隐患", 1, 4, H, "anjian"),
        _m("1204", "危化品存放", 1, 1, D, "anjian"),
        _m("1205", "群租房", 2, 5, D, "zongzhi"),
    )),
    Major("13", "消防", "community", "xiaofang", 1, 1, 4, (
        _m("1301", "消防通道堵塞", 2, 4, H, "wuye"),
        _m("1302", "楼道堆物", 3, 1, D, "shequ"),
        _m("1303", "消防设施缺损", 2, 3, D, "wuye"),
        _m("1304", "三合一场所", 1, 1, D, "xiaofang"),
    )),
    Major("14", "治安", "community", "paichusuo", 1, 1, 4, (
        _m("1401", "可疑人员", 2, 4, H, "paichusuo"),
        _m("1402", "盗窃线索", 2, 1, D, "paichusuo"),
        _m("1403", "噪音扰民", 3, 4, H, "paichusuo"),
        _m("1404", "非法宗教和邪教活动", 1, 1, D, "zongzhi"),
        _m("1405", "电信诈骗线索", 2, 1, D, "paichusuo"),
    )),
    Major("15", "民生诉求", "community", "shequ", 1, 2, 8, (
        _m("1501", "停水停电", 2, 4, H, "shizheng"),
        _m("1502", "加装电梯", 4, 10, D, "zhujian"),
        _m("1503", "社会救助", 3, 5, D, "minzheng"),
        _m("1504", "就业帮扶", 4, 5, D, "minzheng"),
        _m("1505", "政策咨询", 4, 3, D, "shequ"),
    )),
    Major("16", "物业", "community", "wuye", 1, 2, 8, (
        _m("1601", "电梯故障", 2, 4, H, "wuye"),
        _m("1602", "楼道照明损坏", 4, 2, D, "wuye"),
        _m("1603", "房屋漏水", 3, 3, D, "wuye"),
        _m("1604", "小区环境卫生", 4, 1, D, "wuye"),
        _m("1605", "小区停车管理", 4, 3, D, "wuye"),
        _m("1606", "二次供水", 2, 1, D, "wuye"),
    )),
    Major("17", "特殊人群关爱", "community", "minzheng", 1, 1, 4, (
        _m("1701", "独居老人异常", 1, 2, H, "shequ"),
        _m("1702", "困境儿童", 2, 1, D, "minzheng"),
        _m("1703", "残疾人帮扶", 3, 3, D, "minzheng"),
        _m("1704", "精神障碍患者异常", 1, 4, H, "zongzhi"),
        _m("1705", "社区矫正对象异常", 1, 4, H, "zongzhi"),
    )),
)

# Which 大类 go to the grid worker by default (the rest go to the category's department).
GRID_WORKER_MAJORS: frozenset[str] = frozenset({"11", "13", "15", "17"})
# From this level down (1 = most urgent) a dispatch proposed by community staff needs the
# street dispatcher's approval.
APPROVAL_MIN_LEVEL = 6  # levels are 1–5: off by default, street offices switch it on per rule


# Open311 service-definition attributes (GeoReport v2 ``attributes``) of 小类, asked of
# reporters as the 12345 hotline asks them: what kind of appeal, and for some categories
# the one detail a dispatcher needs first. ``datatype`` is one of the specification's:
# string, number, datetime, text, singlevaluelist, multivaluelist.
_APPEAL_TYPE: dict[str, Any] = {
    "code": "appeal_type", "description": "诉求类型", "datatype": "singlevaluelist", "required": True,
    "values": [{"key": "complaint", "name": "投诉"}, {"key": "report", "name": "举报"},
               {"key": "help", "name": "求助"}, {"key": "consult", "name": "咨询"},
               {"key": "suggest", "name": "建议"}],
}
_PLACE: dict[str, Any] = {
    "code": "place", "description": "发生部位", "datatype": "singlevaluelist", "required": False,
    "values": [{"key": "stairwell", "name": "楼道"}, {"key": "lift", "name": "电梯"},
               {"key": "garage", "name": "地下车库"}, {"key": "public", "name": "小区公共区域"},
               {"key": "home", "name": "户内"}],
}
_SINCE: dict[str, Any] = {
    "code": "since", "description": "开始时间", "datatype": "datetime", "required": False,
    "datatype_description": "ISO 8601,如 2026-11-23T08:00:00+08:00",
}
ATTRIBUTES: dict[str, tuple[dict[str, Any], ...]] = {
    **dict.fromkeys(("1101", "1102", "1103", "1104", "1105", "1106", "1502", "1503", "1504", "1505"), (_APPEAL_TYPE,)),
    "1501": (_APPEAL_TYPE, {
        "code": "outage", "description": "停供类型", "datatype": "multivaluelist", "required": True,
        "values": [{"key": "water", "name": "停水"}, {"key": "power", "name": "停电"}, {"key": "gas", "name": "停气"}],
    }, _SINCE),
    "1601": (_APPEAL_TYPE, {
        "code": "trapped", "description": "是否有人被困", "datatype": "singlevaluelist", "required": True,
        "values": [{"key": "yes", "name": "有人被困"}, {"key": "no", "name": "无人被困"}],
    }),
    "1602": (_APPEAL_TYPE, _PLACE), "1603": (_APPEAL_TYPE, _PLACE), "1604": (_APPEAL_TYPE, _PLACE),
    "1605": (_APPEAL_TYPE,), "1606": (_APPEAL_TYPE, _SINCE),
    "1403": (_APPEAL_TYPE, {
        "code": "period", "description": "发生时段", "datatype": "string", "required": False,
        "datatype_description": "如:每晚22点后",
    }),
    "0602": ({
        "code": "lamps", "description": "不亮的路灯数量", "datatype": "number", "required": False,
    },),
}


def taxonomy_attributes_load(category_model: Any) -> int:
    """Set the seed attributes of the categories that have them; returns how many.

    Only the ``attributes`` column is written, so a later data migration can add
    attributes without resetting what a district changed in its catalogue.
    """
    changed = 0
    for code, attributes in ATTRIBUTES.items():
        changed += category_model.objects.filter(code=code).update(attributes=[dict(a) for a in attributes])
    return changed


def taxonomy_load(department_model: Any, category_model: Any, rule_model: Any) -> int:
    """Create or update the seed departments, categories and default rules; returns the
    number of categories. Idempotent: codes are the keys, existing rows are updated."""
    departments = {}
    for code, name, kind in DEPARTMENTS:
        dept, _created = department_model.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind},
        )
        departments[code] = dept
    count = 0
    for order, major in enumerate(CATALOGUE):
        parent, _created = category_model.objects.update_or_create(
            code=major.code,
            defaults={
                "parent": None, "name": major.name, "domain": major.domain, "default_level": 3,
                "register_hours": major.register_hours, "dispatch_hours": major.dispatch_hours,
                "handle_amount": 3, "handle_unit": "days", "verify_hours": major.verify_hours,
                "close_hours": major.verify_hours, "department": departments[major.department],
                "active": True, "order": order,
            },
        )
        count += 1
        for minor_order, minor in enumerate(major.minors):
            category_model.objects.update_or_create(
                code=minor.code,
                defaults={
                    "parent": parent, "name": minor.name, "domain": major.domain,
                    "default_level": minor.level, "register_hours": major.register_hours,
                    "dispatch_hours": major.dispatch_hours, "handle_amount": minor.handle,
                    "handle_unit": minor.unit, "verify_hours": major.verify_hours,
                    "close_hours": major.verify_hours,
                    "department": departments[minor.department], "active": True,
                    "order": minor_order,
                },
            )
            count += 1
        # One default rule per 大类: community matters to the grid worker, city matters
        # to the responsible department of each 小类.
        if major.code in GRID_WORKER_MAJORS:
            rule_model.objects.get_or_create(
                category=parent, area=None, target="grid_worker",
                defaults={"priority": 100, "approval_min_level": APPROVAL_MIN_LEVEL},
            )
        else:
            for minor in major.minors:
                rule_model.objects.get_or_create(
                    category=category_model.objects.get(code=minor.code), area=None,
                    target="department", department=departments[minor.department],
                    defaults={"priority": 100, "approval_min_level": APPROVAL_MIN_LEVEL},
                )
    # The historical model of the first data migration has no attributes yet.
    if any(f.name == "attributes" for f in category_model._meta.get_fields()):
        taxonomy_attributes_load(category_model)
    return count


def taxonomy_unload(department_model: Any, category_model: Any, rule_model: Any) -> None:
    """Remove what :func:`taxonomy_load` created (reverse of the data migration)."""
    codes = [major.code for major in CATALOGUE] + [m.code for major in CATALOGUE for m in major.minors]
    rule_model.objects.filter(area=None, category__code__in=codes).delete()
    category_model.objects.filter(code__in=codes, parent__isnull=False).delete()
    category_model.objects.filter(code__in=codes).delete()
    department_model.objects.filter(code__in=[code for code, _n, _k in DEPARTMENTS]).delete()
