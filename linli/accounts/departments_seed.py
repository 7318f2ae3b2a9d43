"""The departments a site starts with, and the short names (条线: 民政, 残联, 公安 …) by which
service-item lists and older data refer to them.

Plain data: the data migrations, the case taxonomy and the catalogue seed read it with
whichever model class they are given. A district edits its departments afterwards on the
administration pages; codes are the keys, so loading again never renames what it changed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DepartmentSeed:
    """A department: code, name, kind and the short names (条线) it answers to."""

    code: str
    name: str
    kind: str
    lines: tuple[str, ...] = ()


DEPARTMENTS: tuple[DepartmentSeed, ...] = (
    DepartmentSeed("chengguan", "城管执法中队", "team", ("城管",)),
    DepartmentSeed("shizheng", "市政设施管理所", "agency", ("市政",)),
    DepartmentSeed("huanwei", "环卫所", "agency", ("环卫",)),
    DepartmentSeed("yuanlin", "园林绿化所", "agency", ("园林",)),
    DepartmentSeed("jiaojing", "交警中队", "agency", ("交警",)),
    DepartmentSeed("zhujian", "住建办", "agency", ("住建",)),
    DepartmentSeed("guihua", "规划和自然资源所", "agency", ("规划",)),
    DepartmentSeed("minzheng", "民政办", "agency", ("民政",)),
    DepartmentSeed("zongzhi", "综治中心", "agency", ("综治",)),
    DepartmentSeed("xiaofang", "消防救援站", "team", ("消防",)),
    DepartmentSeed("paichusuo", "派出所", "agency", ("公安",)),
    DepartmentSeed("wuye", "物业服务企业", "enterprise", ("物业",)),
    DepartmentSeed("shequ", "社区居委会", "community", ("社区",)),
    DepartmentSeed("anjian", "安监站", "agency", ("安监", "应急")),
    DepartmentSeed("shichang", "市场监管所", "agency", ("市场监管",)),
    # Lines of the service catalogue that handle no cases of the seed taxonomy.
    DepartmentSeed("canlian", "残联", "agency", ("残联",)),
    DepartmentSeed("renshe", "人力社保所", "agency", ("人社",)),
    DepartmentSeed("weijian", "卫生健康办", "agency", ("卫健", "计生")),
    DepartmentSeed("tuiyijunren", "退役军人服务站", "agency", ("退役军人",)),
    DepartmentSeed("yibao", "医保工作站", "agency", ("医保",)),
    DepartmentSeed("sifa", "司法所", "agency", ("司法",)),
    DepartmentSeed("jiaoyu", "教育办", "agency", ("教育",)),
    DepartmentSeed("hongshizihui", "红十字会", "agency", ("红十字会",)),
    DepartmentSeed("gonghui", "街道总工会", "agency", ("工会",)),
    DepartmentSeed("fulian", "街道妇联", "agency", ("妇联",)),
    DepartmentSeed("renwubu", "人武部", "agency", ("人武部", "武装部")),
    DepartmentSeed("shengtai", "生态环境所", "agency", ("生态环境", "环保")),
)


def seed_department_for(text: str) -> DepartmentSeed | None:
    """The seed department ``text`` names: by code, by name or by one of its short names."""
    text = text.strip()
    for seed in DEPARTMENTS:
        if text in (seed.code, seed.name) or text in seed.lines:
            return seed
    return None
