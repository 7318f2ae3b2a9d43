"""Form definitions of service items: validate a definition, work out the visible steps,
and clean submitted values. Pure: no ORM.

A definition is ``{"steps": [{"key", "title", "help", "when", "fields": [...]}]}``; a step's
``when`` is a condition of :mod:`linli.catalogue.rules` over facts ``application.<field key>``
of *earlier* steps, so visibility is decided in one pass. Cleaning raises
``ValidationFailed(field=<field key>, message)`` with a Chinese message for the first
problem; values of steps hidden by the answers are dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from linli.catalogue.rules import evaluate, facts_used, validate_rule
from linli.core.errors import ValidationFailed
from linli.registry.validators import parse_id_number, parse_phone, to_half_width

FIELD_TYPES: frozenset[str] = frozenset({
    "text", "textarea", "number", "date", "select", "multiselect", "boolean", "id_number",
    "phone", "upload",
})
PREFILL_SOURCES: frozenset[str | None] = frozenset({
    "person.name", "person.id_number", "person.phone", "person.birth_date", "person.address", None,
})
# Types stored encrypted (``<key>_enc``) and masked in Application.data.
SENSITIVE_TYPES: frozenset[str] = frozenset({"id_number", "phone"})
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000}
MAX_UPLOADS_PER_FIELD = 10
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Accepted input words, not display text: parsing must not depend on the active language.
_TRUE = {"true", "1", "on", "yes", "是"}
_FALSE = {"false", "0", "off", "no", "否"}
_FIELD_KEYS = {"key", "label", "type", "required", "help", "options", "min", "max", "max_length",
               "prefill", "material", "placeholder"}
_STEP_KEYS = {"key", "title", "help", "when", "fields"}


def form_fields(defn: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every field of a (valid) definition, in order."""
    return [f for step in defn.get("steps", []) for f in step.get("fields", [])]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _valid_iso(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validate_field(f: Any, where: str, seen: set[str], errors: list[str]) -> None:
    if not isinstance(f, Mapping):
        errors.append(_("%(where)s: 字段须为对象") % {"where": where})
        return
    key, kind = f.get("key"), f.get("type")
    if not isinstance(key, str) or not _KEY.match(key) or key.endswith("_enc"):
        errors.append(_("%(where)s: 字段键 %(key)r 无效(小写字母开头,仅含小写字母、数字、下划线)")
                      % {"where": where, "key": key})
    elif key in seen:
        errors.append(_("%(where)s: 字段键 %(key)s 重复") % {"where": where, "key": key})
    else:
        seen.add(key)
    where = f"{where}({key})"
    extra = set(f) - _FIELD_KEYS
    if extra:
        errors.append(_("%(where)s: 未知键 %(keys)s") % {"where": where, "keys": ", ".join(sorted(map(str, extra)))})
    if kind not in FIELD_TYPES:
        errors.append(_("%(where)s: 未知字段类型 %(type)r") % {"where": where, "type": kind})
    if not isinstance(f.get("label"), str) or not f.get("label"):
        errors.append(_("%(where)s: 缺少标签 label") % {"where": where})
    if "required" in f and not isinstance(f["required"], bool):
        errors.append(_("%(where)s: required 须为 true/false") % {"where": where})
    if f.get("prefill") not in PREFILL_SOURCES:
        errors.append(_("%(where)s: 未知预填来源 %(p)r") % {"where": where, "p": f.get("prefill")})
    if kind in {"select", "multiselect"}:
        options = f.get("options")
        values = [o.get("value") for o in options if isinstance(o, Mapping)] if isinstance(options, list) else []
        if not options or len(values) != len(options or []) or not all(
            isinstance(v, str) and v for v in values
        ) or not all(isinstance(o.get("label"), str) for o in options or []):
            errors.append(_("%(where)s: options 须为非空的 {value, label} 列表") % {"where": where})
        elif len(set(values)) != len(values):
            errors.append(_("%(where)s: 选项值重复") % {"where": where})
    for bound in ("min", "max"):
        if f.get(bound) is None:
            continue
        ok = _is_number(f[bound]) if kind in {"number", "multiselect"} else (
            _valid_iso(f[bound]) if kind == "date" else False
        )
        if not ok:
            errors.append(_("%(where)s: %(bound)s 无效") % {"where": where, "bound": bound})
    if "max_length" in f and f["max_length"] is not None and not (
        isinstance(f["max_length"], int) and not isinstance(f["max_length"], bool) and f["max_length"] > 0
    ):
        errors.append(_("%(where)s: max_length 须为正整数") % {"where": where})
    if kind == "upload" and not (isinstance(f.get("material"), str) and f.get("material")):
        errors.append(_("%(where)s: 上传字段须指定材料编码 material") % {"where": where})


def validate_form_definition(defn: Any) -> list[str]:
    """Every problem of a form definition, as Chinese messages naming step and field."""
    errors: list[str] = []
    if not isinstance(defn, Mapping) or not isinstance(defn.get("steps"), list) or not defn["steps"]:
        return [_("表单须包含非空的 steps 列表")]
    seen_fields: set[str] = set()
    step_keys: set[str] = set()
    for index, step in enumerate(defn["steps"]):
        where = f"steps[{index}]"
        if not isinstance(step, Mapping):
            errors.append(_("%(where)s: 步骤须为对象") % {"where": where})
            continue
        key = step.get("key")
        if not isinstance(key, str) or not _KEY.match(key) or key in step_keys:
            errors.append(_("%(where)s: 步骤键 %(key)r 无效或重复") % {"where": where, "key": key})
        else:
            step_keys.add(key)
        extra = set(step) - _STEP_KEYS
        if extra:
            errors.append(_("%(where)s: 未知键 %(keys)s") % {"where": where, "keys": ", ".join(sorted(map(str, extra)))})
        if not isinstance(step.get("title"), str) or not step.get("title"):
            errors.append(_("%(where)s: 缺少标题 title") % {"where": where})
        when = step.get("when")
        if when is not None:
            rule_errors = validate_rule(when)
            errors.extend(f"{where}.when: {e}" for e in rule_errors)
            if not rule_errors:
                for fact in sorted(facts_used(when)):
                    name = fact.removeprefix("application.")
                    if not fact.startswith("application.") or name not in seen_fields:
                        errors.append(_("%(where)s.when: 只能引用前面步骤的字段(application.<键>),%(fact)s 不可用")
                                      % {"where": where, "fact": fact})
        fields = step.get("fields")
        if not isinstance(fields, list) or not fields:
            errors.append(_("%(where)s: fields 须为非空列表") % {"where": where})
            continue
        for findex, f in enumerate(fields):
            _validate_field(f, f"{where}.fields[{findex}]", seen_fields, errors)
    return errors


def _facts(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    return {f"application.{k}": v for k, v in cleaned.items()}


def _step_visible(step: Mapping[str, Any], cleaned: Mapping[str, Any]) -> bool:
    when = step.get("when")
    return when is None or evaluate(when, _facts(cleaned)).passed is True


def visible_steps(defn: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Steps shown for these answers; a step whose condition cannot be decided yet is hidden."""
    return [dict(step) for step in defn.get("steps", []) if _step_visible(step, answers)]


def _text(value: Any, f: Mapping[str, Any]) -> str:
    key, label = f["key"], f["label"]
    if not isinstance(value, str):
        raise ValidationFailed(key, _("“%(label)s”应为文本") % {"label": label})
    if "\x00" in value:
        raise ValidationFailed(key, _("“%(label)s”含有无效字符") % {"label": label})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(key, _("“%(label)s”含有无效字符") % {"label": label}) from None
    return value.strip()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, tuple)) and not value
    )


def _clean_number(value: Any, f: Mapping[str, Any]) -> int | float:
    key, label = f["key"], f["label"]
    number: int | float
    if _is_number(value):
        number = value
    elif isinstance(value, str):
        text = to_half_width(_text(value, f)).replace(",", "")
        try:
            number = int(text) if re.fullmatch(r"[+-]?\d{1,30}", text) else float(text)
        except ValueError:
            raise ValidationFailed(key, _("“%(label)s”应为数字") % {"label": label}) from None
        if not math.isfinite(number) or "_" in text:
            raise ValidationFailed(key, _("“%(label)s”应为数字") % {"label": label})
    else:
        raise ValidationFailed(key, _("“%(label)s”应为数字") % {"label": label})
    if f.get("min") is not None and number < f["min"]:
        raise ValidationFailed(key, _("“%(label)s”不能小于%(min)s") % {"label": label, "min": f["min"]})
    if f.get("max") is not None and number > f["max"]:
        raise ValidationFailed(key, _("“%(label)s”不能大于%(max)s") % {"label": label, "max": f["max"]})
    return number


def _clean_date(value: Any, f: Mapping[str, Any]) -> str:
    key, label = f["key"], f["label"]
    if isinstance(value, date):
        text = value.isoformat()
    else:
        text = _text(value, f)
        if not _valid_iso(text):
            raise ValidationFailed(key, _("“%(label)s”应为日期(年-月-日)") % {"label": label})
    if f.get("min") and text < f["min"]:
        raise ValidationFailed(key, _("“%(label)s”不能早于%(min)s") % {"label": label, "min": f["min"]})
    if f.get("max") and text > f["max"]:
        raise ValidationFailed(key, _("“%(label)s”不能晚于%(max)s") % {"label": label, "max": f["max"]})
    return text


def _option_values(f: Mapping[str, Any]) -> list[str]:
    return [o["value"] for o in f.get("options", [])]


def _clean_select(value: Any, f: Mapping[str, Any]) -> str:
    text = _text(value, f)
    if text not in _option_values(f):
        raise ValidationFailed(f["key"], _("“%(label)s”的选项无效") % {"label": f["label"]})
    return text


def _clean_multiselect(value: Any, f: Mapping[str, Any]) -> list[str]:
    key, label = f["key"], f["label"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValidationFailed(key, _("“%(label)s”应为选项列表") % {"label": label})
    chosen = [_clean_select(v, f) for v in value]
    if len(set(chosen)) != len(chosen):
        raise ValidationFailed(key, _("“%(label)s”有重复选项") % {"label": label})
    if f.get("min") is not None and len(chosen) < f["min"]:
        raise ValidationFailed(key, _("“%(label)s”至少选择%(min)s项") % {"label": label, "min": f["min"]})
    if f.get("max") is not None and len(chosen) > f["max"]:
        raise ValidationFailed(key, _("“%(label)s”至多选择%(max)s项") % {"label": label, "max": f["max"]})
    order = _option_values(f)
    return sorted(chosen, key=order.index)


def _clean_boolean(value: Any, f: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationFailed(f["key"], _("“%(label)s”应为是或否") % {"label": f["label"]})


def _clean_upload(value: Any, uploads: Sequence[Any], f: Mapping[str, Any]) -> list[int | str]:
    """Existing file ids (ints, from a draft) plus the names of new uploads."""
    key, label = f["key"], f["label"]
    kept: list[int | str] = []
    if value is not None:
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise ValidationFailed(key, _("“%(label)s”应上传文件") % {"label": label})
        kept.extend(value)
    kept.extend(str(getattr(u, "name", "") or "file") for u in uploads)
    if len(kept) > MAX_UPLOADS_PER_FIELD:
        raise ValidationFailed(key, _("“%(label)s”最多上传%(n)s个文件") % {"label": label, "n": MAX_UPLOADS_PER_FIELD})
    return kept


def _clean_value(value: Any, f: Mapping[str, Any]) -> Any:
    kind, key = f["type"], f["key"]
    if kind in {"text", "textarea"}:
        text = _text(value, f)
        limit = f.get("max_length") or DEFAULT_MAX_LENGTH[kind]
        if len(text) > limit:
            raise ValidationFailed(key, _("“%(label)s”不能超过%(n)s个字") % {"label": f["label"], "n": limit})
        return text
    if kind == "number":
        return _clean_number(value, f)
    if kind == "date":
        return _clean_date(value, f)
    if kind == "select":
        return _clean_select(value, f)
    if kind == "multiselect":
        return _clean_multiselect(value, f)
    if kind == "boolean":
        return _clean_boolean(value, f)
    if kind == "id_number":
        return parse_id_number(_text(value, f), field=key).value
    if kind == "phone":
        return parse_phone(_text(value, f), field=key)
    raise ValidationFailed(key, _("未知字段类型"))


def clean_form_data(
    defn: Mapping[str, Any], data: Any, *, files: Mapping[str, Sequence[Any]] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Cleaned values of the visible steps; the first problem raises ``ValidationFailed``.

    ``files`` maps an upload field's key to its new uploads (objects with ``name``). ID
    numbers and phones come back normalised in clear text: the service encrypts them.
    ``partial`` (drafts) checks what is given and skips "required".
    """
    files = files or {}
    if not isinstance(data, Mapping):
        raise ValidationFailed("data", _("表单数据格式无效"))
    fields = {f["key"]: f for f in form_fields(defn)}
    for key in list(data) + list(files):
        if not isinstance(key, str) or key not in fields:
            name = str(key)[:40]
            raise ValidationFailed(name or "data", _("表单中没有字段“%(key)s”") % {"key": name})
    for key in files:
        if fields[key]["type"] != "upload":
            raise ValidationFailed(key, _("“%(label)s”不是上传字段") % {"label": fields[key]["label"]})
    cleaned: dict[str, Any] = {}
    for step in defn.get("steps", []):
        if not _step_visible(step, cleaned):
            continue
        for f in step["fields"]:
            key = f["key"]
            value = data.get(key)
            if f["type"] == "upload":
                kept = _clean_upload(value, files.get(key, ()), f)
                if kept:
                    cleaned[key] = kept
                elif f.get("required") and not partial:
                    raise ValidationFailed(key, _("请上传“%(label)s”") % {"label": f["label"]})
                continue
            if _is_blank(value):
                if f.get("required") and not partial:
                    raise ValidationFailed(key, _("请填写“%(label)s”") % {"label": f["label"]})
                continue
            clean = _clean_value(value, f)
            if f["type"] == "boolean" and f.get("required") and clean is not True and not partial:
                raise ValidationFailed(key, _("请确认“%(label)s”") % {"label": f["label"]})
            if clean == "" and f.get("required") and not partial:
                raise ValidationFailed(key, _("请填写“%(label)s”") % {"label": f["label"]})
            if clean != "":
                cleaned[key] = clean
    return cleaned
