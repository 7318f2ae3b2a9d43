"""Pure rules of the care app: the policy rule language, its validation and its reading in
words, per-person evaluation, three-colour levels, visit and birthday dates. No ORM here;
``rules_query`` compiles the same rules to database queries.

A rule is JSON::

    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {"field": "age", "op": "gte", "value": 80}
    {"field": "tags", "op": "has", "value": "living_alone_elder"}
    {"field": "benefits", "op": "not_has", "value": "dibao"}
    {"event": "hospitalisation", "within_days": 30}

Logic is two-valued: a comparison on a fact the registry lacks (no birth date, no disability
grade) is false, and ``not`` of it true — the database side compiles to exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.care.choices import CareEventKind, Colour
from linli.registry.choices import HukouStatus, Sex, TagKind

# Field types: int, decimal, bool, choice (a fixed set of codes), text, set (tags, benefits).
INT, DECIMAL, BOOL, CHOICE, TEXT, SET = "int", "decimal", "bool", "choice", "text", "set"

OPS_BY_TYPE: dict[str, frozenset[str]] = {
    INT: frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "known"}),
    DECIMAL: frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "known"}),
    BOOL: frozenset({"eq"}),
    CHOICE: frozenset({"eq", "ne", "in"}),
    TEXT: frozenset({"eq", "ne", "in"}),
    SET: frozenset({"has", "not_has"}),
}


@dataclass(frozen=True)
class FieldSpec:
    """A fact a rule may test: its type, its label, and the codes it may take."""

    type: str
    label: Promise
    choices: frozenset[str] = frozenset()


FIELDS: dict[str, FieldSpec] = {
    "age": FieldSpec(INT, gettext_lazy("年龄")),
    "sex": FieldSpec(CHOICE, gettext_lazy("性别"), frozenset(Sex.values)),
    "hukou": FieldSpec(CHOICE, gettext_lazy("户籍类别"), frozenset(HukouStatus.values)),
    "ethnicity": FieldSpec(TEXT, gettext_lazy("民族")),
    "is_deceased": FieldSpec(BOOL, gettext_lazy("已故")),
    "tags": FieldSpec(SET, gettext_lazy("人员标签"), frozenset(TagKind.values)),
    "household_size": FieldSpec(INT, gettext_lazy("同户人数")),
    "income_per_head": FieldSpec(DECIMAL, gettext_lazy("家庭人均月收入")),
    "disability_grade": FieldSpec(INT, gettext_lazy("残疾等级")),
    "bedridden": FieldSpec(BOOL, gettext_lazy("失能卧床")),
    "only_child_lost": FieldSpec(BOOL, gettext_lazy("独生子女伤残或死亡家庭")),
    # Policy codes are checked against the database by the service, not here.
    "benefits": FieldSpec(SET, gettext_lazy("享受待遇")),
}
MAX_DEPTH = 10
MAX_EVENT_DAYS = 3660

_OP_TEXT: dict[str, Promise] = {
    "eq": gettext_lazy("%(f)s为%(v)s"), "ne": gettext_lazy("%(f)s不为%(v)s"),
    "gt": gettext_lazy("%(f)s>%(v)s"), "gte": gettext_lazy("%(f)s≥%(v)s"),
    "lt": gettext_lazy("%(f)s<%(v)s"), "lte": gettext_lazy("%(f)s≤%(v)s"),
    "in": gettext_lazy("%(f)s属于%(v)s"), "known": gettext_lazy("%(f)s已登记"),
    "has": gettext_lazy("%(f)s含%(v)s"), "not_has": gettext_lazy("%(f)s不含%(v)s"),
}


@dataclass
class RuleCheck:
    """What validation found: errors (with the path of the node) refuse the rule."""

    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_decimal(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return True
    if isinstance(v, str):
        try:
            Decimal(v)
        except InvalidOperation:
            return False
        return True
    return False


def _check_value(spec: FieldSpec, op: str, value: Any, where: str, errors: list[str]) -> None:
    if op == "known":
        return
    if op == "in":
        if not isinstance(value, list) or not value:
            errors.append(_("%(w)s：“属于”需要一个非空列表") % {"w": where})
            return
        for v in value:
            _check_value(spec, "eq", v, where, errors)
        return
    ok = {
        INT: _is_int(value), DECIMAL: _is_decimal(value), BOOL: isinstance(value, bool),
        CHOICE: isinstance(value, str) and value in spec.choices,
        TEXT: isinstance(value, str) and bool(value),
        SET: isinstance(value, str) and bool(value) and (not spec.choices or value in spec.choices),
    }[spec.type]
    if not ok:
        if spec.type in {CHOICE, SET} and isinstance(value, str):
            errors.append(_("%(w)s：%(f)s没有取值“%(v)s”") % {"w": where, "f": spec.label, "v": value})
        else:
            errors.append(_("%(w)s：%(f)s的值“%(v)s”类型不符，应为%(t)s") % {
                "w": where, "f": spec.label, "v": value, "t": _TYPE_WORDS[spec.type]})


_TYPE_WORDS: dict[str, Promise] = {
    INT: gettext_lazy("整数"), DECIMAL: gettext_lazy("数字"), BOOL: gettext_lazy("是/否"),
    CHOICE: gettext_lazy("规定取值"), TEXT: gettext_lazy("文字"), SET: gettext_lazy("编码"),
}


def _validate(node: Any, path: str, depth: int, errors: list[str]) -> None:
    where = path or "/"
    if depth > MAX_DEPTH:
        errors.append(_("%(w)s：嵌套过深") % {"w": where})
        return
    if not isinstance(node, Mapping):
        errors.append(_("%(w)s：条件必须是对象") % {"w": where})
        return
    for key in ("all", "any"):
        if key in node:
            children = node[key]
            if not isinstance(children, list) or not children:
                errors.append(_("%(w)s：“%(k)s”需要一个非空列表") % {"w": where, "k": key})
                return
            for i, child in enumerate(children):
                _validate(child, f"{path}/{key}[{i}]", depth + 1, errors)
            return
    if "not" in node:
        _validate(node["not"], f"{path}/not", depth + 1, errors)
        return
    if "event" in node:
        if node["event"] not in CareEventKind.values:
            errors.append(_("%(w)s：未知事件“%(v)s”") % {"w": where, "v": node["event"]})
        days = node.get("within_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= MAX_EVENT_DAYS:
            errors.append(_("%(w)s：within_days 应为1至%(n)s之间的整数") % {"w": where, "n": MAX_EVENT_DAYS})
        return
    name = node.get("field")
    if name not in FIELDS:
        errors.append(_("%(w)s：未知字段“%(v)s”") % {"w": where, "v": name})
        return
    spec = FIELDS[name]
    op = node.get("op")
    if op not in OPS_BY_TYPE[spec.type]:
        errors.append(_("%(w)s：%(f)s不能用运算“%(o)s”") % {"w": where, "f": spec.label, "o": op})
        return
    _check_value(spec, op, node.get("value"), where, errors)


def rule_validate(rule: Any) -> RuleCheck:
    """Every problem of a rule, each naming the node (``/all[1]``), the field and the value."""
    check = RuleCheck()
    _validate(rule, "", 0, check.errors)
    return check


def rule_fields(rule: Mapping[str, Any]) -> set[str]:
    """The field names (and ``event:<kind>``) a rule reads."""
    found: set[str] = set()
    for key in ("all", "any"):
        for child in rule.get(key, ()):
            found |= rule_fields(child)
    if "not" in rule:
        found |= rule_fields(rule["not"])
    if "field" in rule:
        found.add(str(rule["field"]))
    if "event" in rule:
        found.add(f"event:{rule['event']}")
    return found


def rule_policy_codes(rule: Mapping[str, Any]) -> set[str]:
    """Policy codes named by ``benefits`` conditions."""
    codes: set[str] = set()
    for key in ("all", "any"):
        for child in rule.get(key, ()):
            codes |= rule_policy_codes(child)
    if "not" in rule:
        codes |= rule_policy_codes(rule["not"])
    if rule.get("field") == "benefits" and isinstance(rule.get("value"), str):
        codes.add(rule["value"])
    return codes


def _value_words(name: str, value: Any, labels: Mapping[str, str]) -> str:
    if isinstance(value, list):
        return "、".join(_value_words(name, v, labels) for v in value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if name == "tags":
        return str(TagKind(value).label) if value in TagKind.values else str(value)
    if name == "sex" and value in Sex.values:
        return str(Sex(value).label)
    if name == "hukou" and value in HukouStatus.values:
        return str(HukouStatus(value).label)
    if name == "benefits":
        return labels.get(value, value)
    return str(value)


def rule_describe(rule: Mapping[str, Any], *, policy_names: Mapping[str, str] | None = None) -> str:
    """The rule read aloud: "年龄≥80，且户籍类别为户籍人口"."""
    names = policy_names or {}
    if "all" in rule:
        return _("，且").join(_group(c, names) for c in rule["all"])
    if "any" in rule:
        return _("，或").join(_group(c, names) for c in rule["any"])
    if "not" in rule:
        return _("并非（%(r)s）") % {"r": rule_describe(rule["not"], policy_names=names)}
    if "event" in rule:
        kind = rule["event"]
        label = CareEventKind(kind).label if kind in CareEventKind.values else kind
        return _("%(d)s天内有%(e)s") % {"d": rule.get("within_days"), "e": label}
    name = str(rule.get("field"))
    spec = FIELDS.get(name)
    label = str(spec.label) if spec else name
    text = _OP_TEXT.get(str(rule.get("op")), gettext_lazy("%(f)s ? %(v)s"))
    return str(text) % {"f": label, "v": _value_words(name, rule.get("value"), names)}


def _group(child: Mapping[str, Any], names: Mapping[str, str]) -> str:
    text = rule_describe(child, policy_names=names)
    return f"（{text}）" if "all" in child or "any" in child else text


# --- per-person evaluation (one record; the database does the population) ---------------

@dataclass(frozen=True)
class PersonFacts:
    """What a rule may ask about one person on a day."""

    birth_date: date | None = None
    sex: str = ""
    hukou: str = ""
    ethnicity: str = ""
    is_deceased: bool = False
    tags: frozenset[str] = frozenset()
    household_size: int | None = None
    income_per_head: Decimal | None = None
    disability_grade: int | None = None
    bedridden: bool = False
    only_child_lost: bool = False
    benefits: frozenset[str] = frozenset()
    events: Mapping[str, date] = field(default_factory=dict)  # kind → latest date


def age_on(birth: date, on: date) -> int:
    """Full years on ``on``; someone born on 29 February ages on 1 March in common years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _fact(facts: PersonFacts, name: str, on: date) -> Any:
    if name == "age":
        return None if facts.birth_date is None else age_on(facts.birth_date, on)
    value = getattr(facts, name)
    if name in {"sex", "hukou", "ethnicity"} and value == "":
        return None
    return value


def _compare(op: str, actual: Any, expected: Any, kind: str) -> bool:
    if op == "known":
        return actual is not None
    if actual is None:
        return False
    if op == "in":
        return any(_compare("eq", actual, v, kind) for v in expected)
    if kind == DECIMAL:
        expected = Decimal(str(expected))
    result: bool = {
        "eq": lambda: actual == expected, "ne": lambda: actual != expected,
        "gt": lambda: actual > expected, "gte": lambda: actual >= expected,
        "lt": lambda: actual < expected, "lte": lambda: actual <= expected,
    }[op]()
    return result


def rule_evaluate(rule: Mapping[str, Any], facts: PersonFacts, *, on: date) -> bool:
    """Whether the rule holds for one person on a day (the reference for the compiler)."""
    if "all" in rule:
        return all(rule_evaluate(c, facts, on=on) for c in rule["all"])
    if "any" in rule:
        return any(rule_evaluate(c, facts, on=on) for c in rule["any"])
    if "not" in rule:
        return not rule_evaluate(rule["not"], facts, on=on)
    if "event" in rule:
        last = facts.events.get(rule["event"])
        return last is not None and on - timedelta(days=int(rule["within_days"])) <= last <= on
    name, op, value = rule["field"], rule["op"], rule.get("value")
    spec = FIELDS[name]
    if spec.type == SET:
        held = value in getattr(facts, name)
        return held if op == "has" else not held
    return _compare(op, _fact(facts, name, on), value, spec.type)


# --- dates -------------------------------------------------------------------------------

def shift_years(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# Ages at which an allowance starts: a prompt a month before (高龄津贴 80/90/100, 尊老金 70 …).
BIRTHDAY_WINDOW_DAYS = 30
ELDER_AGE = 60


def birthday_window(on: date, age: int, *, days: int = BIRTHDAY_WINDOW_DAYS) -> tuple[date, date]:
    """Birth dates of people who turn ``age`` between ``on`` and ``on + days`` (inclusive)."""
    return shift_years(on, age), shift_years(on + timedelta(days=days), age)


def birthday_threshold_age(rule: Mapping[str, Any]) -> int | None:
    """The lowest age a rule requires at its top level (``age gte N``), if any: the age at
    which a birthday prompt makes sense."""
    leaves: Sequence[Mapping[str, Any]] = rule.get("all", [rule])
    ages = [leaf["value"] for leaf in leaves
            if leaf.get("field") == "age" and leaf.get("op") == "gte" and _is_int(leaf.get("value"))]
    return max(ages) if ages else None


# An imported benefit naming several policies (``"zunlaojin|gaoling_80|gaoling_90"``): the
# person's age at the benefit's start picks one.
BENEFIT_CHOICE_SEPARATOR = "|"


def benefit_codes(code: str) -> tuple[str, ...]:
    """The policy codes an imported benefit names: one, or the candidates of an age band."""
    return tuple(c.strip() for c in code.split(BENEFIT_CHOICE_SEPARATOR) if c.strip())


def policy_by_age(*, birth_date: date | None, on: date, bands: Mapping[str, int]) -> str | None:
    """The policy of the age band a person is in on ``on``: of ``bands`` (policy code →
    minimum age), the one with the highest minimum not above their age — 86 → the 80–89
    allowance, 100 → the centenarian's. ``None`` without a birth date, or below every band.
    Ties (two policies of one minimum) pick the first code in sorted order."""
    if birth_date is None or birth_date > on:
        return None
    age = age_on(birth_date, on)
    fitting = sorted((-minimum, code) for code, minimum in bands.items() if minimum <= age)
    return fitting[0][1] if fitting else None


# --- colours and visits ------------------------------------------------------------------

COLOUR_ORDER: tuple[str, ...] = (Colour.RED, Colour.YELLOW, Colour.GREEN)
DEFAULT_VISIT_DAYS: dict[str, int] = {Colour.RED: 7, Colour.YELLOW: 30, Colour.GREEN: 90}
# A must-visit (三必到五必访) is due within this many days of the event.
MUST_VISIT_DAYS = 1


def colour_pick(held: Mapping[str, Sequence[str]]) -> tuple[str, list[str]]:
    """The first colour in red → yellow → green whose rules held, with their names; an elder
    no rule names is green ("others")."""
    for colour in COLOUR_ORDER:
        names = list(held.get(colour, ()))
        if names:
            return colour, names
    return Colour.GREEN, []


def elder_colour(level_rules: Sequence[tuple[str, str, Mapping[str, Any]]], facts: PersonFacts, *,
                 on: date) -> tuple[str, list[str]]:
    """One elder's colour and reasons from the level rules ``(colour, name, rule)`` in their
    order: the reference for the sweep's set-based levels step."""
    held: dict[str, list[str]] = {}
    for colour, name, rule in level_rules:
        if rule_evaluate(rule, facts, on=on):
            held.setdefault(colour, []).append(name)
    return colour_pick(held)


def next_visit_due(*, last_visit: date | None, every_days: int, on: date) -> date:
    """When the next planned visit falls: ``every_days`` after the last one, today at the
    latest if never visited or already late."""
    if last_visit is None:
        return on
    return max(on, last_visit + timedelta(days=every_days))


def expiry_deadline(*, ends_on: date, on: date) -> date:
    """A renewal work order is due a week before the benefit ends (today at the latest)."""
    return max(on, ends_on - timedelta(days=7))
