"""Policies a Hangzhou or Xuzhou street applies, with their conditions written out.

Amounts and thresholds follow the published local standards of 2023–2024 (杭州市 低保标准
1,280 元/月, 低边 1.5 倍; 高龄津贴 by age band; 残疾人两项补贴; 计划生育特别扶助 from 49);
a deployment edits them in the rule editor, which makes a new version.
"""

from __future__ import annotations

from typing import Any

DIBAO_LINE = 1280  # 元/月/人
DIBIAN_LINE = 1920  # 1.5 × 低保标准

_LOCAL_ALIVE: list[dict[str, Any]] = [
    {"field": "hukou", "op": "eq", "value": "local"},
    {"field": "is_deceased", "op": "eq", "value": False},
]

SEED_POLICIES: list[dict[str, Any]] = [
    {"code": "gaoling_80", "catalogue_item": "MZ006", "name": "高龄津贴（80-89周岁）", "department": "民政", "amount": "50",
     "basis": "《浙江省高龄津贴制度》；杭州市民政局高龄津贴发放办法", "expiry_notice_days": 30,
     "rule": {"all": [{"field": "age", "op": "gte", "value": 80}, {"field": "age", "op": "lt", "value": 90},
                      *_LOCAL_ALIVE]}},
    {"code": "gaoling_90", "catalogue_item": "MZ006", "name": "高龄津贴（90-99周岁）", "department": "民政", "amount": "200",
     "basis": "《浙江省高龄津贴制度》", "expiry_notice_days": 30,
     "rule": {"all": [{"field": "age", "op": "gte", "value": 90}, {"field": "age", "op": "lt", "value": 100},
                      *_LOCAL_ALIVE]}},
    {"code": "gaoling_100", "catalogue_item": "MZ007", "name": "百岁老人长寿保健金", "department": "民政", "amount": "600",
     "basis": "《浙江省高龄津贴制度》", "expiry_notice_days": 30,
     "rule": {"all": [{"field": "age", "op": "gte", "value": 100}, *_LOCAL_ALIVE]}},
    {"code": "zunlaojin", "name": "尊老金（70-79周岁）", "department": "民政", "amount": "30",
     "basis": "徐州市尊老金发放办法", "expiry_notice_days": 30,
     "rule": {"all": [{"field": "age", "op": "gte", "value": 70}, {"field": "age", "op": "lt", "value": 80},
                      *_LOCAL_ALIVE]}},
    {"code": "dibao", "catalogue_item": "MZ001", "name": "最低生活保障（低保）", "department": "民政", "amount": str(DIBAO_LINE),
     "basis": "《社会救助暂行办法》；杭州市最低生活保障办法", "expiry_notice_days": 45,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "income_per_head", "op": "lt", "value": DIBAO_LINE}]}},
    {"code": "dibian", "catalogue_item": "MZ002", "name": "最低生活保障边缘家庭（低边）", "department": "民政", "amount": None,
     "basis": "浙江省最低生活保障边缘家庭认定办法", "expiry_notice_days": 45,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "income_per_head", "op": "gte", "value": DIBAO_LINE},
                      {"field": "income_per_head", "op": "lt", "value": DIBIAN_LINE}]}},
    {"code": "tekun", "catalogue_item": "MZ003", "name": "特困人员救助供养", "department": "民政", "amount": "1664",
     "basis": "《特困人员认定办法》（民发〔2021〕43号）", "expiry_notice_days": 45,
     "rule": {"all": [*_LOCAL_ALIVE,
                      {"any": [{"field": "age", "op": "gte", "value": 60},
                               {"field": "disability_grade", "op": "in", "value": [1, 2]}]},
                      {"field": "household_size", "op": "eq", "value": 1},
                      {"field": "income_per_head", "op": "lt", "value": DIBAO_LINE}]}},
    {"code": "canji_shenghuo", "catalogue_item": "MZ018", "name": "困难残疾人生活补贴", "department": "残联", "amount": "320",
     "basis": "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
     "expiry_notice_days": 30,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "disability_grade", "op": "known"},
                      {"any": [{"field": "benefits", "op": "has", "value": "dibao"},
                               {"field": "benefits", "op": "has", "value": "dibian"}]}]}},
    {"code": "canji_huli", "catalogue_item": "MZ018", "name": "重度残疾人护理补贴", "department": "残联", "amount": "320",
     "basis": "国发〔2015〕52号", "expiry_notice_days": 30,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "disability_grade", "op": "in", "value": [1, 2]}]}},
    {"code": "jujia_yanglao", "catalogue_item": "MZ008", "name": "居家养老服务补贴", "department": "民政", "amount": "300",
     "basis": "《杭州市居家养老服务补贴实施办法》", "expiry_notice_days": 30,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "age", "op": "gte", "value": 60},
                      {"any": [{"field": "benefits", "op": "has", "value": "dibao"},
                               {"field": "benefits", "op": "has", "value": "dibian"},
                               {"field": "benefits", "op": "has", "value": "tekun"},
                               {"all": [{"field": "age", "op": "gte", "value": 80},
                                        {"field": "tags", "op": "has", "value": "living_alone_elder"}]},
                               {"field": "bedridden", "op": "eq", "value": True}]}]}},
    {"code": "jisheng_tefu", "catalogue_item": "WJ003", "name": "计划生育家庭特别扶助", "department": "卫健", "amount": "1100",
     "basis": "《全国独生子女伤残死亡家庭扶助制度试点方案》；浙江省扶助标准", "expiry_notice_days": 30,
     "rule": {"all": [*_LOCAL_ALIVE, {"field": "age", "op": "gte", "value": 49},
                      {"field": "only_child_lost", "op": "eq", "value": True}]}},
]

# 三色预警 (王马社区): red first, then yellow; every other elder (60+) is green.
SEED_LEVEL_RULES: list[dict[str, Any]] = [
    {"colour": "red", "name": "独居且残疾或失能",
     "rule": {"all": [{"field": "tags", "op": "has", "value": "living_alone_elder"},
                      {"any": [{"field": "disability_grade", "op": "in", "value": [1, 2]},
                               {"field": "bedridden", "op": "eq", "value": True}]}]}},
    {"colour": "red", "name": "独居且近30天住院",
     "rule": {"all": [{"field": "tags", "op": "has", "value": "living_alone_elder"},
                      {"event": "hospitalisation", "within_days": 30}]}},
    {"colour": "red", "name": "90岁以上独居",
     "rule": {"all": [{"field": "age", "op": "gte", "value": 90},
                      {"field": "tags", "op": "has", "value": "living_alone_elder"}]}},
    {"colour": "yellow", "name": "80岁以上", "rule": {"field": "age", "op": "gte", "value": 80}},
    {"colour": "yellow", "name": "空巢或独居",
     "rule": {"any": [{"field": "tags", "op": "has", "value": "empty_nest_elder"},
                      {"field": "tags", "op": "has", "value": "living_alone_elder"}]}},
    {"colour": "yellow", "name": "残疾", "rule": {"field": "disability_grade", "op": "known"}},
]
