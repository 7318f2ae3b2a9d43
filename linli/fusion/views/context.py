"""Context shared by every fusion page: the section links a role is offered, field names."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import User
from linli.fusion.choices import MatchHow
from linli.fusion.views.access import IMPORT_ROLES, PLACE_ROLES, SOURCE_EDIT_ROLES, TASK_ROLES

# Registry fields as a person reads them (mapping targets, provenance, tasks).
FIELD_LABELS: dict[str, Promise] = {
    "name": _("姓名"), "id_number": _("身份证号"), "birth_date": _("出生日期"), "sex": _("性别"),
    "birth_year_month": _("出生年月"),
    "phone": _("联系电话"), "address": _("住址"), "residence": _("居住地址"), "building": _("楼栋"),
    "unit": _("单元"), "room": _("室号"), "hukou": _("户籍类别"), "ethnicity": _("民族"),
    "is_deceased": _("是否已故"), "deceased_on": _("死亡日期"), "disability_grade": _("残疾等级"),
    "valid_from": _("起始日期"), "valid_to": _("截止日期"), "note": _("备注"),
}

# How a row was matched to a person, for the report.
HOW_LABELS: dict[str, Promise] = {
    **{how.value: how.label for how in MatchHow if how.value},
    "batch": _("同批记录合并"),
}

# Why a value won (or lost), for the provenance panel.
REASON_LABELS: dict[str, Promise] = {
    "field_verification": _("网格员实地核实,优先于各部门数据"),
    "authoritative": _("该来源对此字段具有权威性"),
    "recency": _("优先级相同,采用最新的值"),
    "agreed": _("各来源一致"),
    "only_source": _("唯一来源"),
    "outranked": _("被更权威的来源取代"),
    "superseded": _("被更新的值取代"),
}

# Evidence keys of the matcher, in words.
EVIDENCE_LABELS: dict[str, Promise] = {
    "name": _("姓名"), "birth": _("出生日期"), "sex": _("性别"), "address": _("住址"),
    "phone": _("电话"), "id": _("身份证号"),
}
# The matcher's comparison levels (``linli.fusion.match.compare``) in words.
EVIDENCE_LEVELS: dict[str, Promise] = {
    "exact": _("一致"), "same": _("一致"), "homophone": _("同音"), "fuzzy": _("相近"), "missing": _("缺失"),
    "different": _("不同"), "swapped": _("月日颠倒"), "one_digit": _("差一位数字"), "typo": _("疑似笔误"),
    "room": _("同一房间"), "room_no_compound": _("房号相同(小区名缺失)"), "building": _("同一楼栋"),
    "year_month": _("年月一致"), "year": _("年份一致"), "partial_different": _("年月不同"),
    "close": _("仅一字相近"), "similar": _("相似"),
}


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name


def fusion_context(user: User, section: str) -> dict[str, Any]:
    return {
        "fusion_section": section,
        "fusion_nav": {
            "imports": user.role in IMPORT_ROLES,
            "edit_sources": user.role in SOURCE_EDIT_ROLES,
            "tasks": user.role in TASK_ROLES,
            "places": user.role in PLACE_ROLES,
        },
    }
