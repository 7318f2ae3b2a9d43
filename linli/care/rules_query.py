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

from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

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
    return _held(CareProfile.objects.filter(_profile_inner(column, op, value)))


def _profile_inner(column: str, op: str, value: Any) -> Q:
    """The condition on ``CareProfile`` itself for a profile leaf."""
    if isinstance(value, float | int | str) and FIELDS[column].type == "decimal" and op != "known":
        value = Decimal(str(value))
    return _column_q(column, op, value, blank_is_missing=False)


_PROFILE_COLUMNS = frozenset({"income_per_head", "disability_grade"})
_PROFILE_FLAGS = frozenset({"bedridden", "only_child_lost"})


def _positive_profile(node: Mapping[str, Any]) -> Q | None:
    """A leaf that holds exactly when the person's care profile satisfies a condition —
    the condition, else ``None``. (``bedridden = false`` also holds without a profile.)"""
    name = node.get("field")
    if name in _PROFILE_COLUMNS:
        return _profile_inner(name, node["op"], node.get("value"))
    if name in _PROFILE_FLAGS and node.get("value") is True:
        return Q(**{name: True})
    return None


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
    if name in _PROFILE_COLUMNS:
        return _profile_q(name, op, value)
    if name in _PROFILE_FLAGS:
        held = _held(CareProfile.objects.filter(**{name: True}))
        return held if value else ~held
    if name == "is_deceased":
        return Q(is_deceased=value)
    return _column_q(name, op, value, blank_is_missing=True)


def _compile(node: Mapping[str, Any], on: date) -> Q:
    if "all" in node:
        # A person has at most one care profile, so the profile leaves of one ``all`` are one
        # subquery (``income ≥ 1280 and income < 1920``: one hashed set, not two).
        q, profile = EVERYTHING, None
        for child in node["all"]:
            inner = _positive_profile(child)
            if inner is None:
                q &= _compile(child, on)
            else:
                profile = inner if profile is None else profile & inner
        if profile is not None:
            q &= _held(CareProfile.objects.filter(profile))
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


def _driver(node: Mapping[str, Any], on: date) -> QuerySet[Any, Any] | None:
    """The fact rows (a ``person_id`` column) a positive fact leaf holds for, else ``None``."""
    if "event" in node:
        since = on - timedelta(days=int(node["within_days"]))
        return CareEvent.objects.filter(kind=node["event"], occurred_on__gte=since, occurred_on__lte=on)
    if node.get("op") == "has" and node.get("field") == "tags":
        return PersonTag.objects.filter(
            Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)), kind=str(node["value"]))
    if node.get("op") == "has" and node.get("field") == "benefits":
        return Benefit.objects.filter(benefits_held_q(on), policy__code=str(node["value"]))
    return None


_PERSON_COLUMNS = frozenset({"age", "sex", "hukou", "ethnicity", "is_deceased"})


def rule_seek_q(rule: Mapping[str, Any], *, on: date) -> Q:
    """:func:`rule_to_q` in a form that lets PostgreSQL start from the facts, for a rule that
    is a conjunction of person columns and required facts (a care profile condition, a tag,
    a benefit held, an event): the profile condition (else the first fact) becomes
    ``id = ANY(ARRAY(SELECT person_id …))`` — the subquery runs once and the persons are
    fetched by primary key. As ``id IN (SELECT …)`` the planner hashes the subquery and
    reads every living person (it rates 23,000 key probes far above that scan; measured
    it is the other way round). Any other rule is left as it is: the planner takes the
    array for a few rows and would nest a join of the rest (a household count, say) under
    every person. Same persons as :func:`rule_to_q`; only for a filter over persons (inside
    a ``CASE`` the array would be searched per person). SQLite drives ``rowid IN (SELECT
    …)`` from the subquery already."""
    q = rule_to_q(rule, on=on)
    if connection.vendor != "postgresql":
        return q
    children: list[Mapping[str, Any]] = list(rule["all"]) if "all" in rule else [rule]
    profile: Q | None = None
    for child in children:
        inner = _positive_profile(child)
        if inner is not None:
            profile = inner if profile is None else profile & inner
        elif _driver(child, on) is None and not (child.get("field") in _PERSON_COLUMNS and "op" in child):
            return q
    # The rule is (driving facts) and (the rest): the rest is compiled without them.
    rest: list[Mapping[str, Any]]
    facts: QuerySet[Any, Any] | None = None
    if profile is not None:
        facts = CareProfile.objects.filter(profile)
        rest = [child for child in children if _positive_profile(child) is None]
    else:
        for i, child in enumerate(children):
            facts = _driver(child, on)
            if facts is not None:
                rest = children[:i] + children[i + 1:]
                break
        if facts is None:
            return q
    sql, params = facts.order_by().values("person_id").query.sql_with_params()
    table = connection.ops.quote_name(Person._meta.db_table)
    seek = RawSQL(f"{table}.{connection.ops.quote_name('id')} = ANY(ARRAY({sql}))", params,  # noqa: S611 -- compiled here
                  output_field=BooleanField())
    return Q(seek) & _compile({"all": rest}, on) if rest else Q(seek)
