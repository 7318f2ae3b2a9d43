"""Form definitions: validation, conditional steps, cleaning, and property tests for junk."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.catalogue.forms_schema import clean_form_data, validate_form_definition, visible_steps
from linli.catalogue.tests.conftest import FORM, make_id
from linli.core.errors import ValidationFailed

OPTIONS = [{"value": "self", "label": "本人"}, {"value": "agent", "label": "代办"}]
RICH: dict[str, Any] = {"steps": [
    {"key": "basic", "title": "基本信息", "fields": [
        {"key": "name", "label": "姓名", "type": "text", "required": True, "max_length": 20},
        {"key": "id_number", "label": "身份证号", "type": "id_number", "required": True},
        {"key": "phone", "label": "电话", "type": "phone", "required": False},
        {"key": "who", "label": "申请方式", "type": "select", "required": True, "options": OPTIONS},
        {"key": "count", "label": "家庭人数", "type": "number", "required": False, "min": 1, "max": 20},
        {"key": "born", "label": "出生日期", "type": "date", "required": False, "min": "1900-01-01",
         "max": "2030-12-31"},
        {"key": "needs", "label": "需求", "type": "multiselect", "required": False, "options": OPTIONS},
        {"key": "agree", "label": "承诺属实", "type": "boolean", "required": True},
    ]},
    {"key": "agent", "title": "代办人", "when": {"fact": "application.who", "op": "eq", "value": "agent"},
     "fields": [{"key": "agent_name", "label": "代办人姓名", "type": "text", "required": True}]},
    {"key": "files", "title": "材料", "fields": [
        {"key": "photo", "label": "照片", "type": "upload", "required": False, "material": "id_card"},
    ]},
]}
GOOD = {"name": "张三", "id_number": make_id(date(1980, 1, 2)), "who": "self", "agree": True}


def test_the_shipped_test_forms_are_valid() -> None:
    assert validate_form_definition(FORM) == []
    assert validate_form_definition(RICH) == []


@pytest.mark.parametrize(("defn", "fragment"), [
    ({}, "steps"),
    ({"steps": []}, "steps"),
    ({"steps": [{"key": "a", "title": "A", "fields": []}]}, "fields"),
    ({"steps": [{"key": "a", "title": "A", "fields": [{"key": "x", "label": "X", "type": "colour"}]}]}, "未知字段类型"),
    ({"steps": [{"key": "a", "title": "A", "fields": [{"key": "X-1", "label": "X", "type": "text"}]}]}, "字段键"),
    ({"steps": [{"key": "a", "title": "A", "fields": [{"key": "x_enc", "label": "X", "type": "text"}]}]}, "字段键"),
    ({"steps": [{"key": "a", "title": "A", "fields": [
        {"key": "x", "label": "X", "type": "text"}, {"key": "x", "label": "Y", "type": "text"}]}]}, "重复"),
    ({"steps": [{"key": "a", "title": "A", "fields": [{"key": "x", "label": "X", "type": "select"}]}]}, "options"),
    ({"steps": [{"key": "a", "title": "A", "fields": [{"key": "x", "label": "X", "type": "upload"}]}]}, "material"),
    ({"steps": [{"key": "a", "title": "A", "fields": [
        {"key": "x", "label": "X", "type": "number", "min": "one"}]}]}, "min"),
    ({"steps": [{"key": "a", "title": "A", "fields": [
        {"key": "x", "label": "X", "type": "text", "prefill": "person.salary"}]}]}, "预填"),
    # A condition may only look back at earlier steps.
    ({"steps": [{"key": "a", "title": "A", "when": {"fact": "application.x", "op": "exists"},
                 "fields": [{"key": "x", "label": "X", "type": "text"}]}]}, "前面步骤"),
])
def test_invalid_definitions_are_reported(defn: Any, fragment: str) -> None:
    errors = validate_form_definition(defn)
    assert any(fragment in e for e in errors), errors


def test_conditional_step_is_shown_only_for_matching_answers() -> None:
    assert [s["key"] for s in visible_steps(RICH, {"who": "self"})] == ["basic", "files"]
    assert [s["key"] for s in visible_steps(RICH, {"who": "agent"})] == ["basic", "agent", "files"]
    # Undecided (not yet answered) hides it.
    assert [s["key"] for s in visible_steps(RICH, {})] == ["basic", "files"]


def test_a_visible_conditional_step_has_its_required_fields_enforced() -> None:
    with pytest.raises(ValidationFailed) as refused:
        clean_form_data(RICH, {**GOOD, "who": "agent"})
    assert refused.value.field == "agent_name"


def test_values_of_a_hidden_step_are_dropped() -> None:
    cleaned = clean_form_data(RICH, {**GOOD, "agent_name": "李四"})
    assert "agent_name" not in cleaned


def test_good_data_is_normalised() -> None:
    cleaned = clean_form_data(RICH, {
        **GOOD, "id_number": make_id(date(1980, 1, 2)).lower(), "phone": "+86 138-1234-5678", "count": "３",
        "born": "1980-01-02", "needs": ["agent", "self"], "agree": "是", "name": "  张三 ",
    })
    assert cleaned["phone"] == "13812345678"
    assert cleaned["count"] == 3
    assert cleaned["needs"] == ["self", "agent"]
    assert cleaned["agree"] is True
    assert cleaned["name"] == "张三"


@pytest.mark.parametrize(("change", "field", "fragment"), [
    ({"name": ""}, "name", "请填写"),
    ({"name": "长" * 21}, "name", "不能超过20"),
    ({"name": 12}, "name", "应为文本"),
    ({"id_number": "330102198001021230"}, "id_number", "校验码"),
    ({"phone": "12345"}, "phone", "电话号码"),
    ({"who": "boss"}, "who", "选项无效"),
    ({"count": 0}, "count", "不能小于1"),
    ({"count": "many"}, "count", "应为数字"),
    ({"count": "nan"}, "count", "应为数字"),
    ({"born": "1899-12-31"}, "born", "不能早于"),
    ({"born": "2020-02-30"}, "born", "日期"),
    ({"needs": ["self", "self"]}, "needs", "重复"),
    ({"agree": False}, "agree", "请确认"),
    ({"agree": "maybe"}, "agree", "是或否"),
    ({"salary": 1}, "salary", "没有字段"),
    ({"name": "a\x00b"}, "name", "无效字符"),
])
def test_bad_values_name_the_field_in_chinese(change: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        clean_form_data(RICH, {**GOOD, **change})
    assert refused.value.field == field
    assert fragment in refused.value.message


def test_a_required_upload_needs_a_file() -> None:
    defn = {"steps": [{"key": "s", "title": "S", "fields": [
        {"key": "photo", "label": "照片", "type": "upload", "required": True, "material": "m"}]}]}
    with pytest.raises(ValidationFailed) as refused:
        clean_form_data(defn, {})
    assert refused.value.field == "photo"

    class Upload:
        name = "a.jpg"

    assert clean_form_data(defn, {}, files={"photo": [Upload()]}) == {"photo": ["a.jpg"]}


def test_drafts_skip_required_but_still_check_given_values() -> None:
    assert clean_form_data(RICH, {"name": "张三"}, partial=True) == {"name": "张三"}
    with pytest.raises(ValidationFailed):
        clean_form_data(RICH, {"phone": "abc"}, partial=True)


# --- properties -----------------------------------------------------------------------------

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
    | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
field_keys = st.sampled_from(["name", "id_number", "phone", "who", "count", "born", "needs", "agree",
                              "agent_name", "photo"])


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(field_keys | st.text(max_size=10), junk, max_size=10))
def test_junk_never_raises_anything_but_validation_failed(data: dict[str, Any]) -> None:
    refused: ValidationFailed | None = None
    try:
        clean_form_data(RICH, data)
    except ValidationFailed as exc:
        refused = exc
    # then a refusal always names a field and says why
    if refused is not None:
        assert refused.field
        assert refused.message


@settings(max_examples=100, deadline=None)
@given(data=junk)
def test_junk_instead_of_a_dict_is_refused_cleanly(data: Any) -> None:
    with contextlib.suppress(ValidationFailed):
        clean_form_data(RICH, data)


valid_values = st.fixed_dictionaries(
    {
        "name": st.text(alphabet="张王李赵刘陈杨黄小明华", min_size=1, max_size=20),
        "id_number": st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)).map(make_id),
        "who": st.sampled_from(["self", "agent"]),
        "agree": st.just(True),
    },
    optional={
        "phone": st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        "count": st.integers(min_value=1, max_value=20) | st.floats(min_value=1, max_value=20),
        "born": st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
        "needs": st.lists(st.sampled_from(["self", "agent"]), unique=True, min_size=1),
    },
)


@settings(max_examples=200, deadline=None)
@given(values=valid_values, agent=st.text(alphabet="孙周吴郑", min_size=1, max_size=5))
def test_valid_data_round_trips(values: dict[str, Any], agent: str) -> None:
    # given valid values (with the agent's name when the agent step shows)
    if values["who"] == "agent":
        values["agent_name"] = agent
    # when cleaned twice
    once = clean_form_data(RICH, values)
    twice = clean_form_data(RICH, once)
    # then cleaning is stable and keeps every value
    assert once == twice
    assert set(once) == set(values)


@settings(max_examples=200, deadline=None)
@given(defn=junk)
def test_definition_validation_never_crashes_on_junk(defn: Any) -> None:
    assert isinstance(validate_form_definition(defn), list)
