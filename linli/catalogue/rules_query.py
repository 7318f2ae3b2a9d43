"""Compile a rule into ORM filters over ``registry.Person`` to select a whole population.

The evaluator in :mod:`linli.catalogue.rules` is three-valued; so is this compiler: every
node becomes a pair ``(true, false)`` of filters selecting the persons for whom the node is
definitely true / definitely false. A person with a missing fact is in neither, exactly as
per-person evaluation answers "undecidable". ``compile_to_q`` returns the *true* side.
Negation swaps the pair, so SQL's ``NOT`` never meets a NULL column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from linli.catalogue.choices import ApplicationStatus
from linli.catalogue.models import Application
from linli.catalogue.rules import validate_rule
from linli.geo.models import Area
from linli.registry.models import PersonTag

_NOTHING = Q(pk__in=[])
_EVERYTHING = ~Q(pk__in=[])


class NotCompilable(ValueError):  # noqa: N818 -- reads as a sentence
    """The rule reads a fact that has no column (application.*, household.size)."""


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _age_at_least(n: int, on: date) -> tuple[Q, Q]:
    """age >= n ⟺ born on or before the same calendar day n years earlier."""
    cutoff = _shift_years(on, n)
    return Q(birth_date__lte=cutoff), Q(birth_date__gt=cutoff)


def _age_leaf(op: str, value: Any, on: date) -> tuple[Q, Q]:
    if op == "exists":
        return Q(birth_date__isnull=False), Q(birth_date__isnull=True)
    if op in {"in", "not_in"}:
        true_q, false_q = _NOTHING, _EVERYTHING
        for v in value:
            t, f = _age_leaf("eq", v, on)
            true_q, false_q = true_q | t, false_q & f
        false_q &= Q(birth_date__isnull=False)
        return (true_q, false_q) if op == "in" else (false_q, true_q)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # Evaluation treats incomparable values as false for known ages.
        known = Q(birth_date__isnull=False)
        if op in {"ne"}:
            return known, _NOTHING
        return _NOTHING, known
    if value != int(value):
        # Ages are whole numbers: age >= 79.5 ⟺ age >= 80, age > 79.5 ⟺ age >= 80.
        at_least = math.ceil(value)
        if op in {"gte", "gt"}:
            return _age_at_least(at_least, on)
        if op in {"lte", "lt"}:
            t, f = _age_at_least(at_least, on)
            return f, t
        return (_NOTHING, Q(birth_date__isnull=False)) if op == "eq" else (Q(birth_date__isnull=False), _NOTHING)
    n = int(value)
    if op == "gte":
        return _age_at_least(n, on)
    if op == "gt":
        return _age_at_least(n + 1, on)
    if op == "lt":
        t, f = _age_at_least(n, on)
        return f, t
    if op == "lte":
        t, f = _age_at_least(n + 1, on)
        return f, t
    lower_t, lower_f = _age_at_least(n, on)
    upper_t, upper_f = _age_at_least(n + 1, on)
    eq_true, eq_false = lower_t & upper_f, lower_f | upper_t
    if op == "eq":
        return eq_true, eq_false
    if op == "ne":
        return eq_false, eq_true
    raise NotCompilable(f"op {op} on person.age")


def _text_column_leaf(column: str, op: str, value: Any) -> tuple[Q, Q]:
    """Columns where the empty string means "not recorded"."""
    present = ~Q(**{column: ""})
    if op == "exists":
        return present, ~present
    if op == "eq":
        t = Q(**{column: value}) if isinstance(value, str) and value else _NOTHING
        return t & present, present & ~t
    if op == "ne":
        t, f = _text_column_leaf(column, "eq", value)
        return f, t
    if op in {"in", "not_in"}:
        values = [v for v in value if isinstance(v, str) and v]
        t = Q(**{f"{column}__in": values}) & present
        f = present & ~Q(**{f"{column}__in": values})
        return (t, f) if op == "in" else (f, t)
    if op in {"gte", "gt", "lte", "lt"}:
        if not isinstance(value, str):
            return _NOTHING, present
        t = Q(**{f"{column}__{op}": value}) & present
        return t, present & ~t
    raise NotCompilable(f"op {op} on {column}")


def _tag_leaf(op: str, value: Any, on: date) -> tuple[Q, Q]:
    if op == "exists":
        return _EVERYTHING, _NOTHING
    active = PersonTag.objects.filter(
        Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)),
        person=OuterRef("pk"), kind=value,
    )
    has = Q(Exists(active))
    if op == "has_tag":
        return has, ~has
    if op == "not_has_tag":
        return ~has, has
    raise NotCompilable(f"op {op} on person.tags")


def _bool_leaf(column: str, op: str, value: Any) -> tuple[Q, Q]:
    if op == "exists":
        return _EVERYTHING, _NOTHING
    if op in {"eq", "ne"}:
        t = Q(**{column: value}) if isinstance(value, bool) else _NOTHING
        return (t, ~t) if op == "eq" else (~t, t)
    if op in {"in", "not_in"}:
        values = [v for v in value if isinstance(v, bool)]
        t = Q(**{f"{column}__in": values}) if values else _NOTHING
        return (t, ~t) if op == "in" else (~t, t)
    # Booleans are not ordered: the evaluator answers false.
    return _NOTHING, _EVERYTHING


def _community_leaf(op: str, value: Any) -> tuple[Q, Q]:
    known = Q(grid__isnull=False)
    if op == "exists":
        return known, ~known
    if op not in {"eq", "ne", "in", "not_in"}:
        raise NotCompilable(f"op {op} on person.community_code")
    codes = value if op in {"in", "not_in"} else [value]
    inside = _NOTHING
    for area in Area.objects.filter(code__in=[c for c in codes if isinstance(c, str)]):
        inside |= Q(grid__path__startswith=area.path)
    t, f = inside & known, known & ~inside
    return (t, f) if op in {"eq", "in"} else (f, t)


def _benefit_leaf(code: str, op: str, value: Any) -> tuple[Q, Q]:
    granted = Q(Exists(Application.objects.filter(
        applicant=OuterRef("pk"), status=ApplicationStatus.APPROVED, item_version__item__code=code,
    )))
    if op == "exists":
        return granted, ~granted
    if op in {"eq", "ne"} and isinstance(value, bool):
        t = granted if value else ~granted
        return (t, ~t) if op == "eq" else (~t, t)
    raise NotCompilable(f"op {op} on benefit.{code}")


def _leaf(node: Mapping[str, Any], on: date) -> tuple[Q, Q]:
    fact, op, value = node["fact"], node["op"], node.get("value")
    if fact == "person.age":
        return _age_leaf(op, value, on)
    if fact == "person.sex":
        return _text_column_leaf("sex", op, value)
    if fact == "person.hukou":
        return _text_column_leaf("hukou", op, value)
    if fact == "person.tags":
        return _tag_leaf(op, value, on)
    if fact == "person.is_deceased":
        return _bool_leaf("is_deceased", op, value)
    if fact == "person.community_code":
        return _community_leaf(op, value)
    if fact.startswith("benefit."):
        return _benefit_leaf(fact.removeprefix("benefit."), op, value)
    raise NotCompilable(f"fact {fact} has no registry column")


def _compile(node: Mapping[str, Any], on: date) -> tuple[Q, Q]:
    if "all" in node:
        parts = [_compile(c, on) for c in node["all"]]
        true_q, false_q = _EVERYTHING, _NOTHING
        for t, f in parts:
            true_q, false_q = true_q & t, false_q | f
        return true_q, false_q
    if "any" in node:
        parts = [_compile(c, on) for c in node["any"]]
        true_q, false_q = _NOTHING, _EVERYTHING
        for t, f in parts:
            true_q, false_q = true_q | t, false_q & f
        return true_q, false_q
    if "not" in node:
        t, f = _compile(node["not"], on)
        return f, t
    return _leaf(node, on)


def compile_to_q(rule: Mapping[str, Any], *, on: date | None = None) -> Q:
    """Persons for whom ``rule`` is definitely true on ``on`` (default: today).

    Raises ``ValueError`` for an invalid rule and :class:`NotCompilable` for facts without
    a registry column.
    """
    errors = validate_rule(rule)
    if errors:
        raise ValueError("; ".join(errors))
    return _compile(rule, on or timezone.localdate())[0]
