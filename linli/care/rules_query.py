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
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from linli.care.choices import BenefitState
from linli.care.models import Benefit, CareEvent, CareProfile
from linli.care.workflow import FIELDS, SET, rule_validate, shift_years
from linli.registry.models import Household, Person, PersonTag

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
    """Household size from ``Household.living_members`` (kept by the registry's triggers), as
    an uncorrelated ``household_id IN (SELECT id …)`` read from ``household_living_idx``: no
    count of every household's members per statement (a ``GROUP BY`` over all persons, most of
    a live count's time). A household whose members are all deceased has size 0."""
    known = Q(household__isnull=False)
    if op == "known":
        return known
    if op == "in":
        condition = Q(living_members__in=list(value))
    elif op == "ne":
        condition = ~Q(living_members=value)
    else:
        condition = Q(**{"living_members" if op == "eq" else f"living_members__{op}": value})
    return known & Q(household_id__in=Household.objects.filter(condition).order_by().values("pk"))


def _held(facts: QuerySet[Any, Any]) -> Q:
    """Persons with a row in ``facts``: ``id IN (SELECT person_id …)``, not a correlated
    ``EXISTS``. Uncorrelated, the subquery runs once per statement (PostgreSQL hashes it,
    SQLite materialises it into an index) wherever it sits in the rule — under ``any`` or
    ``not`` PostgreSQL ran a correlated ``EXISTS`` as a subplan per person (540,000 probes
    a leaf). ``person_id`` is never NULL, so ``NOT IN`` is plain negation."""
    return Q(pk__in=facts.order_by().values("person_id"))


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


def _facts_sql(facts: QuerySet[Any, Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = facts.order_by().values("person_id").query.sql_with_params()
    return sql, tuple(params)


# (SQL, parameters, worth seeking on its own, exactly the persons the node selects)
_Set = tuple[str, tuple[Any, ...], bool, bool]


def _seek_set(node: Mapping[str, Any], on: date) -> _Set | None:
    """SQL of person ids that hold every person ``node`` selects (a superset, from the fact
    tables alone; exact when the node is made of fact leaves only), else ``None``. A
    positive fact leaf is its rows; ``any`` the ``UNION`` of its children's sets (each must
    have one) — not worth seeking alone: measured, the union of a few large fact sets (every
    child with a 低保 benefit or a disability: 60,000 persons) costs more in key probes than
    the scan it saves; ``all`` the ``INTERSECT`` of the sets its children have (its profile
    leaves as one condition on the profile), worth it when one of them is."""
    if "all" in node:
        parts: list[_Set] = []
        profile: Q | None = None
        exact = True
        for child in node["all"]:
            inner = _positive_profile(child)
            if inner is not None:
                profile = inner if profile is None else profile & inner
                continue
            part = _seek_set(child, on)
            if part is None:
                exact = False
            else:
                parts.append(part)
        if profile is not None:
            parts.insert(0, (*_facts_sql(CareProfile.objects.filter(profile)), True, True))
        if not parts:
            return None
        return _combine(parts, "INTERSECT", worth=any(p[2] for p in parts), exact=exact and all(p[3] for p in parts))
    if "any" in node:
        parts = []
        for child in node["any"]:
            part = _seek_set(child, on)
            if part is None:
                return None
            parts.append(part)
        if not parts:
            return None
        return _combine(parts, "UNION", worth=len(parts) == 1 and parts[0][2], exact=all(p[3] for p in parts))
    if "not" in node:
        return None
    inner = _positive_profile(node)
    if inner is not None:
        return (*_facts_sql(CareProfile.objects.filter(inner)), True, True)
    facts = _driver(node, on)
    return (*_facts_sql(facts), True, True) if facts is not None else None


def _combine(parts: list[_Set], operator: str, *, worth: bool, exact: bool) -> _Set:
    if len(parts) == 1:
        return parts[0][0], parts[0][1], worth, exact
    return (f" {operator} ".join(f"({p[0]})" for p in parts), tuple(v for p in parts for v in p[1]), worth, exact)


def rule_seek_q(rule: Mapping[str, Any], *, on: date) -> Q:
    """:func:`rule_to_q` in a form that lets PostgreSQL start from the facts, for a rule whose
    every match must have some fact rows (a care profile condition, a tag, a benefit held, an
    event — through ``all`` and ``any``): the persons those facts name (:func:`_seek_set`:
    低保's and 特困's profiles below the line; 独居 ``INTERSECT`` (grade 1–2 ``UNION``
    bedridden) for the red colour) become
    ``id = ANY(ARRAY(SELECT …))`` — the set is computed once and the persons fetched by
    primary key, and what the set does not hold exactly is the filter over them. As ``id IN (SELECT …)``
    the planner hashes the subquery and reads every living person (it rates 23,000 key probes
    far above that scan; measured it is the other way round). Any other rule (an age band, a
    negation) is left as it is. Same persons as :func:`rule_to_q` (the set holds all of
    them); only for a filter over persons (inside a ``CASE`` the array would be searched per
    person). SQLite drives ``rowid IN (SELECT …)`` from the subquery already."""
    q = rule_to_q(rule, on=on)
    if connection.vendor != "postgresql":
        return q
    found = _seek_set(rule, on)
    if found is None or not found[2]:
        return q
    sql, params, _worth, _exact = found
    table = connection.ops.quote_name(Person._meta.db_table)
    seek = Q(RawSQL(f"{table}.{connection.ops.quote_name('id')} = ANY(ARRAY({sql}))", params,  # noqa: S611 -- compiled here
                    output_field=BooleanField()))
    # The rest of the rule, without the conditions the set holds exactly (低保's income is the
    # set itself: not a second hashed pass over the profiles for every person fetched).
    children: list[Mapping[str, Any]] = list(rule["all"]) if "all" in rule else [rule]
    rest = [child for child in children
            if _positive_profile(child) is None and not ((part := _seek_set(child, on)) is not None and part[3])]
    return seek & _compile({"all": rest}, on) if rest else seek
