"""A small declarative rule language, evaluated against a dict of facts. Pure: no ORM.

Rules are JSON so district admins can edit them and the proactive-care app can reuse them::

    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {"fact": "person.age", "op": "gte", "value": 80, "message": "申请人须年满80周岁"}

Facts are flat keys: ``person.age``, ``person.sex``, ``person.hukou``, ``person.tags`` (list
of active tag kinds), ``person.is_deceased``, ``person.community_code``, ``household.size``,
``application.<field key>``, ``benefit.<item code>`` (an approved application exists).

Logic is three-valued: a condition on a fact that is missing (absent or ``None``) is
*undecidable* (``passed=None``) rather than false, so an instant item whose applicant is
unknown to the registry goes to a human instead of being refused. ``all`` is false if any
part is false, else undecidable if any part is, else true; ``any`` dually; ``not`` keeps
undecidable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

OPS: frozenset[str] = frozenset({
    "gte", "gt", "lte", "lt", "eq", "ne", "in", "not_in", "has_tag", "not_has_tag", "exists",
})
_COMPARE_OPS = frozenset({"gte", "gt", "lte", "lt"})
_LIST_VALUE_OPS = frozenset({"in", "not_in"})
_MEMBER_OPS = frozenset({"has_tag", "not_has_tag"})

FIXED_FACTS: frozenset[str] = frozenset({
    "person.age", "person.sex", "person.hukou", "person.tags", "person.is_deceased",
    "person.community_code", "household.size",
})
_PREFIX_FACT = re.compile(r"^(application|benefit)\.[A-Za-z0-9_\-]{1,80}$")
MAX_DEPTH = 12

FACT_LABELS: dict[str, Promise] = {
    "person.age": gettext_lazy("年龄"),
    "person.sex": gettext_lazy("性别"),
    "person.hukou": gettext_lazy("户籍类别"),
    "person.tags": gettext_lazy("人员标签"),
    "person.is_deceased": gettext_lazy("是否已故"),
    "person.community_code": gettext_lazy("所属社区"),
    "household.size": gettext_lazy("家庭人数"),
}
# Whole phrases rather than an operator word, so a translation can reorder fact and value.
_OP_TEXT: dict[str, Promise] = {
    "gte": gettext_lazy("%(fact)s≥%(value)s"),
    "gt": gettext_lazy("%(fact)s>%(value)s"),
    "lte": gettext_lazy("%(fact)s≤%(value)s"),
    "lt": gettext_lazy("%(fact)s<%(value)s"),
    "eq": gettext_lazy("%(fact)s为%(value)s"),
    "ne": gettext_lazy("%(fact)s不为%(value)s"),
    "in": gettext_lazy("%(fact)s属于%(value)s"),
    "not_in": gettext_lazy("%(fact)s不属于%(value)s"),
    "has_tag": gettext_lazy("%(fact)s包含%(value)s"),
    "not_has_tag": gettext_lazy("%(fact)s不包含%(value)s"),
    "exists": gettext_lazy("%(fact)s已登记"),
}


@dataclass(frozen=True)
class ConditionResult:
    """One leaf condition with the fact's actual value and whether it held."""

    fact: str
    op: str
    expected: Any
    actual: Any
    passed: bool | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "fact": self.fact, "op": self.op, "expected": self.expected,
            "actual": _jsonable(self.actual), "passed": self.passed, "message": self.message,
        }


@dataclass(frozen=True)
class RuleDecision:
    """The outcome (True / False / None = undecidable) and every leaf that led to it."""

    passed: bool | None
    results: list[ConditionResult] = field(default_factory=list)

    @property
    def failed(self) -> list[ConditionResult]:
        return [r for r in self.results if r.passed is False]

    @property
    def undecided(self) -> list[ConditionResult]:
        return [r for r in self.results if r.passed is None]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "results": [r.as_dict() for r in self.results]}


def age_on(birth: date, on: date) -> int:
    """Full years on ``on``; a person born on 29 February turns a year older on 1 March in
    common years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    return value


def _is_missing(value: Any) -> bool:
    return value is None or value == ""


def _auto_message(fact: str, op: str, value: Any) -> str:
    label = str(FACT_LABELS.get(fact, fact))
    if op == "exists":
        return str(_OP_TEXT[op]) % {"fact": label}
    shown = _("、").join(str(v) for v in value) if isinstance(value, list) else str(value)
    template = _OP_TEXT.get(op)
    if template is None:
        return f"{label}{op}{shown}"
    return str(template) % {"fact": label, "value": shown}


def _compare(op: str, actual: Any, expected: Any) -> bool:
    """Numbers with numbers, text (ISO dates) with text; anything else is incomparable."""
    # bool is an int in Python: keep True/False out of ordered comparisons.
    if isinstance(actual, bool) or isinstance(expected, bool):
        raise TypeError("booleans are not ordered")
    left: Any = actual
    right: Any = expected
    both_numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
    both_text = isinstance(left, str) and isinstance(right, str)
    if not (both_numbers or both_text):
        raise TypeError("incomparable")
    if op == "gte":
        return bool(left >= right)
    if op == "gt":
        return bool(left > right)
    if op == "lte":
        return bool(left <= right)
    return bool(left < right)


def _leaf(node: Mapping[str, Any], facts: Mapping[str, Any]) -> ConditionResult:
    fact, op = node["fact"], node["op"]
    expected: Any = node.get("value")
    message = str(node.get("message") or _auto_message(fact, op, expected))
    actual: Any = facts.get(fact)
    if op == "exists":
        return ConditionResult(fact, op, expected, actual, not _is_missing(actual), message)
    if _is_missing(actual):
        return ConditionResult(fact, op, expected, actual, None, message)
    try:
        if op in _COMPARE_OPS:
            passed = _compare(op, actual, expected)
        elif op == "eq":
            passed = actual == expected
        elif op == "ne":
            passed = actual != expected
        elif op == "in":
            passed = actual in expected
        elif op == "not_in":
            passed = actual not in expected
        elif not isinstance(actual, (list, tuple, set, frozenset)):
            passed = False  # has_tag / not_has_tag need a list fact
        elif op == "has_tag":
            passed = expected in actual
        else:  # not_has_tag
            passed = expected not in actual
    except TypeError:
        passed = False
    return ConditionResult(fact, op, expected, actual, bool(passed), message)


def _eval(node: Mapping[str, Any], facts: Mapping[str, Any], out: list[ConditionResult]) -> bool | None:
    if "all" in node:
        values = [_eval(child, facts, out) for child in node["all"]]
        if False in values:
            return False
        return None if None in values else True
    if "any" in node:
        values = [_eval(child, facts, out) for child in node["any"]]
        if True in values:
            return True
        return None if None in values else False
    if "not" in node:
        inner_results: list[ConditionResult] = []
        inner = _eval(node["not"], facts, inner_results)
        if "fact" in node["not"] and inner_results:
            # A negated leaf's message states the negated condition ("已在享受高龄津贴,无需重复
            # 申请"): report the leaf as failed when it held, so a refusal names its reason.
            leaf = inner_results[0]
            out.append(replace(leaf, passed=None if leaf.passed is None else not leaf.passed))
        else:
            out.extend(inner_results)
        return None if inner is None else not inner
    result = _leaf(node, facts)
    out.append(result)
    return result.passed


def evaluate(rule: Mapping[str, Any], facts: Mapping[str, Any]) -> RuleDecision:
    """Decide ``rule`` on ``facts``; validate the rule first (``validate_rule``)."""
    errors = validate_rule(rule)
    if errors:
        raise ValueError("; ".join(errors))
    results: list[ConditionResult] = []
    passed = _eval(rule, facts, results)
    return RuleDecision(passed=passed, results=results)


def is_known_fact(name: str) -> bool:
    return name in FIXED_FACTS or bool(_PREFIX_FACT.match(name))


def _validate_leaf(node: Mapping[str, Any], path: str, errors: list[str]) -> None:
    extra = set(node) - {"fact", "op", "value", "message"}
    if extra:
        errors.append(_("%(path)s: 未知键 %(keys)s") % {"path": path, "keys": ", ".join(sorted(extra))})
    fact, op = node.get("fact"), node.get("op")
    if not isinstance(fact, str) or not is_known_fact(fact):
        errors.append(_("%(path)s: 未知事实 %(fact)r") % {"path": path, "fact": fact})
    if op not in OPS:
        errors.append(_("%(path)s: 未知运算 %(op)r") % {"path": path, "op": op})
        return
    value = node.get("value")
    if op in _LIST_VALUE_OPS and not isinstance(value, list):
        errors.append(_("%(path)s: %(op)s 的值须为列表") % {"path": path, "op": op})
    if op in _COMPARE_OPS and (
        isinstance(value, bool) or not isinstance(value, (int, float, str))
    ):
        errors.append(_("%(path)s: %(op)s 的值须为数字或日期文本") % {"path": path, "op": op})
    if op in _MEMBER_OPS and not isinstance(value, str):
        errors.append(_("%(path)s: %(op)s 的值须为标签") % {"path": path, "op": op})
    if op in {"eq", "ne"} and "value" not in node:
        errors.append(_("%(path)s: 缺少 value") % {"path": path})
    if fact == "person.tags" and op not in _MEMBER_OPS | {"exists"}:
        errors.append(_("%(path)s: person.tags 只能用 has_tag / not_has_tag") % {"path": path})
    if "message" in node and not isinstance(node["message"], str):
        errors.append(_("%(path)s: message 须为文本") % {"path": path})


def _validate(node: Any, path: str, depth: int, errors: list[str]) -> None:
    if depth > MAX_DEPTH:
        errors.append(_("%(path)s: 嵌套过深") % {"path": path})
        return
    if not isinstance(node, Mapping):
        errors.append(_("%(path)s: 条件须为对象") % {"path": path})
        return
    groups = [k for k in ("all", "any", "not") if k in node]
    if len(groups) > 1 or (groups and "fact" in node):
        errors.append(_("%(path)s: 一个条件只能是 all / any / not / fact 之一") % {"path": path})
        return
    if groups:
        key = groups[0]
        extra = set(node) - {key, "message"}
        if extra:
            errors.append(_("%(path)s: 未知键 %(keys)s") % {"path": path, "keys": ", ".join(sorted(extra))})
        if key == "not":
            _validate(node["not"], f"{path}.not", depth + 1, errors)
            return
        children = node[key]
        if not isinstance(children, list) or not children:
            errors.append(_("%(path)s: %(key)s 须为非空列表") % {"path": path, "key": key})
            return
        for index, child in enumerate(children):
            _validate(child, f"{path}.{key}[{index}]", depth + 1, errors)
        return
    if "fact" not in node:
        errors.append(_("%(path)s: 缺少 fact") % {"path": path})
        return
    _validate_leaf(node, path, errors)


def validate_rule(rule: Any) -> list[str]:
    """Every problem of a rule, as Chinese messages with a path (``rule.all[1]: …``)."""
    errors: list[str] = []
    _validate(rule, "rule", 0, errors)
    return errors


def facts_used(rule: Mapping[str, Any]) -> set[str]:
    """Every fact a (valid) rule reads."""
    if "all" in rule or "any" in rule:
        return set().union(*(facts_used(c) for c in rule.get("all", rule.get("any", []))))
    if "not" in rule:
        return facts_used(rule["not"])
    return {rule["fact"]}
