"""Compile a care rule (see :mod:`linli.care.workflow`) into one ORM filter over
``registry.Person``: the whole population is selected by the database, never person by person.

Two-valued like the evaluator: every comparison on a nullable fact carries its own
``IS NOT NULL`` guard, so SQL's ``NOT`` over it is plain negation (``NOT (x IS NOT NULL AND
x > 1)`` is true for a NULL ``x``), and SQLite and PostgreSQL agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from linli.care.choices import BenefitState
from linli.care.models import Benefit, CareEvent, CareProfile
from linli.care.workflow import FIELDS, SET, rule_validate, shift_years
from linli.registry.models import Person, PersonTag

NOTHING = Q(pk__in=[])
EVERYTHING = ~Q(pk__in=[])


def _age_q(op: str, value: Any, on: date) -> Q:
    known = Q(birth_date__isnull=False)
    if op == "known":
        return known
    if op == "in":
        result = NOTHING
        for v in value:
            result |= _age_q("eq", v, on)
        return result

    def at_least(n: int) -> Q:  # age >= n ⟺ born on or before the same day n years ago
        return Q(birth_date__lte=shift_years(on, n))

    n = int(value)
    q = {
        "gte": lambda: at_least(n), "gt": lambda: at_least(n + 1),
        "lt": lambda: ~at_least(n), "lte": lambda: ~at_least(n + 1),
        "eq": lambda: at_least(n) & ~at_least(n + 1), "ne": lambda: ~(at_least(n) & ~at_least(n + 1)),
    }[op]()
    return known & q


def _column_q(column: str, op: str, value: Any, *, blank_is_missing: bool) -> Q:
    known = ~Q(**{column: ""}) if blank_is_missing else Q(**{f"{column}__isnull": False})
    if op == "known":
        return known
    if op == "in":
        return known & Q(**{f"{column}__in": list(value)})
    if op == "ne":
        return known & ~Q(**{column: value})
    lookup = column if op == "eq" else f"{column}__{op}"
    return known & Q(**{lookup: value})


def _profile_q(column: str, op: str, value: Any) -> Q:
    if isinstance(value, float | int | str) and FIELDS[column].type == "decimal" and op != "known":
        value = Decimal(str(value))
    inner = _column_q(column, op, value, blank_is_missing=False)
    return _held(CareProfile.objects.filter(inner))


def _household_size_q(op: str, value: Any) -> Q:
    sizes = (Person.objects.filter(is_deceased=False, household__isnull=False)
             .values("household_id").annotate(n=Count("pk")))
    known = Q(household__isnull=False)
    if op == "known":
        return known
    if op == "in":
        matching = sizes.filter(n__in=list(value))
    elif op == "ne":
        matching = sizes.exclude(n=value)
    else:
        matching = sizes.filter(**{"n" if op == "eq" else f"n__{op}": value})
    # A household whose members are all deceased has size 0: it is in no group above.
    if _holds_for_zero(op, value):
        empty = known & ~Q(household_id__in=sizes.values("household_id"))
        return (known & Q(household_id__in=matching.values("household_id"))) | empty
    return known & Q(household_id__in=matching.values("household_id"))


def _held(facts: QuerySet[Any, Any]) -> Q:
    """Persons with a row in ``facts``: ``id IN (SELECT person_id …)``, not a correlated
    ``EXISTS``. Uncorrelated, the subquery runs once per statement (PostgreSQL hashes it,
    SQLite materialises it into an index) wherever it sits in the rule — under ``any`` or
    ``not`` PostgreSQL ran a correlated ``EXISTS`` as a subplan per person (540,000 probes
    a leaf). ``person_id`` is never NULL, so ``NOT IN`` is plain negation."""
    return Q(pk__in=facts.order_by().values("person_id"))


def _holds_for_zero(op: str, value: Any) -> bool:
    if op == "in":
        return 0 in value
    holds: dict[str, bool] = {"eq": value == 0, "ne": value != 0, "gt": value < 0, "gte": value <= 0,
            "lt": value > 0, "lte": value >= 0}
    return holds[op]


def _set_q(name: str, op: str, value: str, on: date) -> Q:
    inner: QuerySet[Any, Any]
    if name == "tags":
        inner = PersonTag.objects.filter(
            Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)),
            kind=value)
    else:
        inner = Benefit.objects.filter(benefits_held_q(on), policy__code=value)
    held = _held(inner)
    return held if op == "has" else ~held


def benefits_held_q(on: date) -> Q:
    """Benefits being received on ``on``."""
    return Q(state=BenefitState.ACTIVE, starts_on__lte=on) & (Q(ends_on__isnull=True) | Q(ends_on__gte=on))


def _leaf(node: Mapping[str, Any], on: date) -> Q:
    if "event" in node:
        since = on - timedelta(days=int(node["within_days"]))
        return _held(CareEvent.objects.filter(kind=node["event"], occurred_on__gte=since, occurred_on__lte=on))
    name, op, value = node["field"], node["op"], node.get("value")
    if FIELDS[name].type == SET:
        return _set_q(name, op, str(value), on)
    if name == "age":
        return _age_q(op, value, on)
    if name == "household_size":
        return _household_size_q(op, value)
    if name in {"income_per_head", "disability_grade"}:
        return _profile_q(name, op, value)
    if name in {"bedridden", "only_child_lost"}:
        held = _held(CareProfile.objects.filter(**{name: True}))
        return held if value else ~held
    if name == "is_deceased":
        return Q(is_deceased=value)
    return _column_q(name, op, value, blank_is_missing=True)


def _compile(node: Mapping[str, Any], on: date) -> Q:
    if "all" in node:
        q = EVERYTHING
        for child in node["all"]:
            q &= _compile(child, on)
        return q
    if "any" in node:
        q = NOTHING
        for child in node["any"]:
            q |= _compile(child, on)
        return q
    if "not" in node:
        return ~_compile(node["not"], on)
    return _leaf(node, on)


def rule_to_q(rule: Mapping[str, Any], *, on: date) -> Q:
    """Persons for whom ``rule`` holds on ``on``; ``ValueError`` for an invalid rule."""
    check = rule_validate(rule)
    if not check.ok:
        raise ValueError("; ".join(check.errors))
    return _compile(rule, on)
