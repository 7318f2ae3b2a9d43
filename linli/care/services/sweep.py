"""The nightly sweep (民生服务 夜间巡检): policies over the whole population, expiring
benefits, birthdays, three colours, visit plans, overdue visits.

Each step is one transaction that also records itself in ``SweepRun.steps_done``: a crash
loses at most the step it was in, and the next run of the same day resumes after the last
finished step. Every step is idempotent on its own too (partial unique indexes on the open
items, inserts that skip what exists), so running a day again creates nothing new.
Populations are selected by the database (rules compiled to queries) and written back with
``INSERT … SELECT`` — no person is loaded to decide a policy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Model as DjangoModel
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.care.choices import (
    BenefitState,
    Colour,
    ItemStatus,
    RecommendationKind,
    ReviewReason,
    SweepStatus,
    VisitReason,
    WorkOrderKind,
)
from linli.care.models import (
    Benefit,
    BenefitEvent,
    CareEvent,
    DueVisit,
    ElderLevel,
    ElderLevelChange,
    LevelRule,
    Policy,
    PolicyVersion,
    Recommendation,
    ReviewItem,
    SweepChange,
    SweepRun,
    Visit,
    VisitPlan,
    WorkOrder,
)
from linli.care.rules_query import benefits_held_q, rule_to_q
from linli.care.services import (
    complaints_record,
    overdue_visits_notification_send,
    work_order_notification_send,
)
from linli.care.workflow import (
    COLOUR_ORDER,
    DEFAULT_VISIT_DAYS,
    ELDER_AGE,
    birthday_threshold_age,
    birthday_window,
    expiry_deadline,
    next_visit_due,
    rule_describe,
    shift_years,
)
from linli.core.actors import Actor, SystemActor
from linli.core.bulk import bulk_insert, column_of
from linli.core.services import audit_record
from linli.registry.models import Person, PersonTag

logger = logging.getLogger(__name__)
SWEEP_ACTOR = SystemActor("job:care_sweep")
# Planned visits are put on a worker's list this many days ahead.
VISIT_LOOKAHEAD_DAYS = 7


def versions_in_force(on: date) -> list[PolicyVersion]:
    """The newest version of each active policy in force on ``on``."""
    rows = (PolicyVersion.objects.select_related("policy")
            .filter(policy__is_active=True, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
            .order_by("policy_id", "-number"))
    seen: dict[int, PolicyVersion] = {}
    for version in rows:
        seen.setdefault(version.policy_id, version)
    return list(seen.values())


def _insert_select(model: type[DjangoModel], qs: QuerySet[Any, Any]) -> int:
    """``INSERT INTO model (…) SELECT …``: ``qs`` is annotated with ``c_<column>`` for each
    target column; Django 5.2 selects ``values()`` in the order given."""
    columns = [name for name in qs.query.annotations if name.startswith("c_")]
    names = [name.removeprefix("c_") for name in columns]
    sql, params = qs.values(*columns).query.sql_with_params()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, names))}) {sql}",
                       params)
        return max(int(cursor.rowcount), 0)


def _insert_rows(model: type[DjangoModel], fields: list[str], rows: Sequence[Sequence[object]]) -> int:
    """Plain tuples already in database form (see :func:`_db`): COPY on PostgreSQL, one
    ``executemany`` on SQLite (``core.bulk`` converts cell by cell, too slow for 10⁵ rows)."""
    if connection.vendor == "postgresql" or not rows:
        return bulk_insert(model, fields, rows)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column_of(model, f)) for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})",  # noqa: S608 -- names from the model
                           rows)  # type: ignore[arg-type]
    return len(rows)


def _db(value: date | Any) -> Any:
    """A date or datetime as this database stores it (once per sweep, not per cell)."""
    if connection.vendor == "postgresql":
        return value
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    return connection.ops.adapt_datetimefield_value(value)


def _stamp(now: Any) -> dict[str, Any]:
    return {"c_created_at": Value(now, output_field=DateTimeField()),
            "c_updated_at": Value(now, output_field=DateTimeField())}


# --- scope: the whole population, or only what can have changed -------------------------

# The temporary table of the persons an incremental run sweeps (set per step by sweep_run;
# unset: every person — a full sweep, and the steps called on their own).
SCOPE_TABLE = "care_sweep_scope"
_scoped: ContextVar[bool] = ContextVar("care_sweep_scoped", default=False)
# More changed persons than this share of the population: sweeping everyone is cheaper.
FULL_ABOVE_SHARE = 0.25
_SCOPE_SELECT = "SELECT person_id FROM care_sweep_scope"


def _in_scope(column: str = "pk") -> Q:
    """Rows whose person is in this run's scope (everything in a full sweep)."""
    if not _scoped.get():
        return Q()
    return Q(**{f"{column}__in": RawSQL(_SCOPE_SELECT, [])})  # noqa: S611 -- constant


def _leaves(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    children: list[Mapping[str, Any]] = list(node.get("all", node.get("any", [])))
    if "not" in node:
        children.append(node["not"])
    if not children and "all" not in node and "any" not in node:
        yield node
    for child in children:
        yield from _leaves(child)


def _thresholds(rules: Sequence[Mapping[str, Any]]) -> tuple[set[int], set[int]]:
    """The ages ``n`` whose ``age ≥ n`` some rule's ``age`` leaf turns on (the elder age
    too: the levels), and the ``within_days`` of every event leaf."""
    ages, windows = {ELDER_AGE}, set()
    for rule in rules:
        for leaf in _leaves(rule):
            if "event" in leaf:
                windows.add(int(leaf["within_days"]))
            elif leaf.get("field") == "age" and leaf.get("op") != "known":
                values = leaf["value"] if leaf["op"] == "in" else [leaf["value"]]
                # age > n ⟺ age ≥ n+1; age = n ⟺ age ≥ n and not age ≥ n+1 (``_age_q``)
                ages.update(n for v in values for n in (int(v), int(v) + 1))
    return ages, windows


def rules_key(on: date) -> str:
    """What the rules are on ``on``: a run after a rule, a colour rule or a policy in force
    changed sweeps everyone (a rule change moves persons no change stamp names)."""
    versions = sorted((v.pk, v.policy_id, json.dumps(v.rule, sort_keys=True)) for v in versions_in_force(on))
    levels = list(LevelRule.objects.order_by("pk").values_list("pk", "colour", "name", "rule", "position"))
    text = json.dumps([[list(v) for v in versions], [list(r) for r in levels]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _date_crossed(since: date, on: date) -> set[int]:
    """Persons a rule can judge differently on ``on`` than on ``since`` with no write at all:
    an age threshold crossed (any age: a birthday), a tag or benefit starting or ending, an
    event entering or leaving a rule's "within N days"."""
    rules = [v.rule for v in versions_in_force(on)] + [r.rule for r in LevelRule.objects.all()]
    thresholds, windows = _thresholds(rules)
    ages = Q()
    for n in sorted(thresholds):
        ages |= Q(birth_date__gt=shift_years(since, n), birth_date__lte=shift_years(on, n))
    # The dead are judged by no rule (their benefits go to review whatever their age).
    found = set(Person.objects.order_by().filter(ages, is_deceased=False).values_list("pk", flat=True))
    found.update(PersonTag.objects.order_by().filter(
        Q(valid_from__gt=since, valid_from__lte=on) | Q(valid_to__gte=since, valid_to__lt=on),
    ).values_list("person_id", flat=True))
    found.update(Benefit.objects.order_by().filter(
        Q(starts_on__gt=since, starts_on__lte=on) | Q(ends_on__gte=since, ends_on__lt=on),
    ).values_list("person_id", flat=True))
    events = Q(occurred_on__gt=since, occurred_on__lte=on)
    for days in windows:
        events |= Q(occurred_on__gte=since - timedelta(days=days), occurred_on__lt=on - timedelta(days=days))
    found.update(CareEvent.objects.order_by().filter(events).values_list("person_id", flat=True))
    return found


def _scope_persons(run: SweepRun) -> list[int]:
    """The persons an incremental run sweeps: changed up to the run's mark, or crossed a date."""
    since = run.since or run.on
    changed = set(SweepChange.objects.order_by().filter(pk__lte=run.changes_upto or 0)
                  .values_list("person_id", flat=True).distinct())
    return sorted(changed | _date_crossed(since, run.on))


def _plan(run: SweepRun) -> list[int] | None:
    """Fix the run's scope before its first step: the mark of the change stamps it consumes
    and whether it sweeps everyone (no finished run before, the rules changed, more than a
    year passed, or too many changes)."""
    with transaction.atomic():
        locked = SweepRun.objects.select_for_update().get(pk=run.pk)
        if locked.changes_upto is not None:  # another worker planned it meanwhile
            run.full, run.since, run.changes_upto, run.rules_key = (locked.full, locked.since, locked.changes_upto,
                                                                    locked.rules_key)
            return None if run.full else _scope_persons(run)
        if connection.vendor == "postgresql":
            # Waits for the writers whose stamps are not committed yet: a stamp committed
            # later with a lower id would be deleted at the end of this run unread.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {SweepChange._meta.db_table} IN EXCLUSIVE MODE")
        mark = SweepChange.objects.aggregate(m=Max("pk"))["m"] or 0
        key = rules_key(run.on)
        last = SweepRun.objects.filter(status=SweepStatus.DONE).exclude(pk=run.pk).order_by("-on").first()
        run.full, run.since, run.changes_upto, run.rules_key = True, None, mark, key
        persons = None
        if last is not None and last.on < run.on and last.rules_key == key and (run.on - last.on).days <= 366:
            run.full, run.since = False, last.on
            persons = _scope_persons(run)
            if len(persons) > FULL_ABOVE_SHARE * Person.objects.count():
                run.full, run.since, persons = True, None, None
        run.save(update_fields=["full", "since", "changes_upto", "rules_key", "updated_at"])
    return persons


@contextmanager
def _scope(persons: list[int] | None) -> Iterator[None]:
    """In an incremental run, the scope's persons in a temporary table for the step's
    statements (``_in_scope``); dropped at the end of the step's transaction."""
    if persons is None:
        yield
        return
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")
        if pg:
            cursor.execute(f"CREATE TEMPORARY TABLE {SCOPE_TABLE} (person_id bigint PRIMARY KEY) ON COMMIT DROP")
            cursor.execute(f"INSERT INTO {SCOPE_TABLE} SELECT unnest(%s::bigint[])", [persons])
            cursor.execute(f"ANALYZE {SCOPE_TABLE}")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {SCOPE_TABLE} (person_id integer PRIMARY KEY)")
            cursor.executemany(f"INSERT INTO {SCOPE_TABLE} VALUES (%s)", [(p,) for p in persons])  # noqa: S608 -- constant
    token = _scoped.set(True)
    try:
        yield
    finally:
        _scoped.reset(token)
        if not pg:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")


def _step_forget(on: date, actor: Actor) -> int:
    """The change stamps this run has consumed go (the mark: see ``_plan``)."""
    run = SweepRun.objects.get(on=on)
    return SweepChange.objects.filter(pk__lte=run.changes_upto or 0).delete()[0]


# --- steps -------------------------------------------------------------------------------

def _step_expire(on: date, actor: Actor) -> int:
    """Active benefits past their end date become expired (with a history row each)."""
    ended = list(Benefit.objects.filter(state=BenefitState.ACTIVE, ends_on__lt=on).values_list("pk", flat=True))
    if not ended:
        return 0
    label = actor.get_username()
    BenefitEvent.objects.bulk_create([
        BenefitEvent(benefit_id=pk, action="expire", from_state=BenefitState.ACTIVE, to_state=BenefitState.EXPIRED,
                     reason=_("已过截止日期"), actor_label=label) for pk in ended], batch_size=2000)
    return Benefit.objects.filter(pk__in=ended, state=BenefitState.ACTIVE).update(
        state=BenefitState.EXPIRED, updated_at=timezone.now())


def _policy_names() -> dict[str, str]:
    return dict(Policy.objects.values_list("code", "name"))


def _step_policies(on: date, actor: Actor) -> int:
    """Eligible-but-not-receiving → recommendations; receiving-but-not-eligible and dead
    holders → review items; recommendations no longer true are closed.

    One scan of the population evaluates every policy's compiled rule at once
    (:func:`matches_by_rule`); the differences with the holders and the open items are set
    operations here. (One scan per policy read the population 14 times; as correlated
    subqueries, PostgreSQL rebuilt the rule's hashed subplans per row.)"""
    names, written = _policy_names(), 0
    now, day = _db(timezone.now()), _db(on)
    versions = versions_in_force(on)
    matches = matches_by_rule(Person.objects.order_by().filter(_in_scope(), is_deceased=False),
                              [v.rule for v in versions], on=on)
    # The holders, open recommendations and open reviews of every policy: three queries,
    # not three per policy (each joined or scanned again).
    held_by: dict[int, list[tuple[int, int, bool]]] = {}
    for policy_id, pk, person_id, dead in Benefit.objects.order_by().filter(
            benefits_held_q(on), _in_scope("person_id"), policy_id__in=[v.policy_id for v in versions]).values_list(
            "policy_id", "pk", "person_id", "person__is_deceased").iterator(chunk_size=50000):
        held_by.setdefault(policy_id, []).append((pk, person_id, dead))
    open_by: dict[int, dict[int, int]] = {}
    for policy_id, person_id, pk in Recommendation.objects.order_by().filter(
            _in_scope("person_id"), kind=RecommendationKind.ELIGIBLE, status=ItemStatus.OPEN).values_list(
            "policy_id", "person_id", "pk").iterator(chunk_size=50000):
        open_by.setdefault(policy_id, {})[person_id] = pk
    open_reviews = set(ReviewItem.objects.order_by().filter(_in_scope("person_id"), status=ItemStatus.OPEN)
                       .values_list("benefit_id", "reason_kind").iterator(chunk_size=50000))
    fresh: list[tuple[object, ...]] = []
    reviews: list[tuple[object, ...]] = []
    stale: list[int] = []
    for version, eligible in zip(versions, matches, strict=True):
        policy = version.policy
        held = held_by.get(policy.pk, [])
        receiving = {person_id for _pk, person_id, _dead in held}
        candidates = eligible - receiving
        open_recs = open_by.get(policy.pk, {})
        described = rule_describe(version.rule, policy_names=names)
        reason = (_("符合《%(p)s》条件（%(r)s），但未享受") % {"p": policy.name, "r": described})[:500]
        fresh += [(pk, policy.pk, str(RecommendationKind.ELIGIBLE), reason, str(ItemStatus.OPEN), day, now, now)
                  for pk in sorted(candidates - open_recs.keys())]
        stale += [pk for person_id, pk in open_recs.items() if person_id not in candidates]
        not_eligible = (_("享受《%(p)s》，但已不符合条件（%(r)s）") % {"p": policy.name, "r": described})[:500]
        dead_reason = _("享受《%(p)s》，但本人已故") % {"p": policy.name}
        for pk, person_id, dead in held:
            kind, text = ((ReviewReason.DECEASED, dead_reason) if dead else
                          (ReviewReason.NOT_ELIGIBLE, not_eligible) if person_id not in eligible else (None, ""))
            if kind is not None and (pk, kind) not in open_reviews:
                reviews.append((person_id, pk, str(kind), text, str(ItemStatus.OPEN), day, now, now))
    written += _insert_rows(Recommendation, ["person", "policy", "kind", "reason", "status", "found_on",
                                             "created_at", "updated_at"], fresh)
    for first in range(0, len(stale), 5000):
        Recommendation.objects.filter(pk__in=stale[first:first + 5000]).update(
            status=ItemStatus.DONE, updated_at=timezone.now())
    written += _insert_rows(ReviewItem, ["person", "benefit", "reason_kind", "reason", "status", "found_on",
                                         "created_at", "updated_at"], reviews)
    return written


def matches_by_rule(persons: QuerySet[Person, Person], rules: Sequence[Mapping[str, Any]], *, on: date,
                    ) -> list[set[int]]:
    """For each rule, the ids of ``persons`` it holds for — in one scan: every rule is a
    ``CASE`` adding its bit to one integer per person, so the population is read once,
    whatever the number of rules (each rule's subqueries are hashed once per statement)."""
    found: list[set[int]] = [set() for _rule in rules]
    for first in range(0, len(rules), _RULES_PER_SCAN):
        batch = rules[first:first + _RULES_PER_SCAN]
        mask: Any = Value(0)
        for bit, rule in enumerate(batch):
            mask = mask + Case(When(rule_to_q(rule, on=on), then=Value(1 << bit)), default=Value(0))
        rows = persons.annotate(rule_mask=ExpressionWrapper(mask, output_field=IntegerField())).values_list(
            "pk", "rule_mask")
        sql, params = rows.query.sql_with_params()
        # Only persons some rule selects come back (most select none). ``OFFSET 0`` keeps
        # PostgreSQL from inlining the mask into the outer WHERE (it would compute it twice).
        fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
        bits = list(enumerate(found[first:first + _RULES_PER_SCAN]))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}{fence}) s WHERE s.rule_mask <> 0", params)  # noqa: S608 -- compiled here
            while chunk := cursor.fetchmany(50000):
                for pk, value in chunk:
                    for bit, ids in bits:
                        if value >> bit & 1:
                            ids.add(pk)
    return found


# Bits of one integer column (a 64-bit integer on both databases; a margin below the sign).
_RULES_PER_SCAN = 60


def _step_birthdays(on: date, actor: Actor) -> int:
    """Persons who reach a policy's age within a month and do not receive it → a prompt."""
    now, written = timezone.now(), 0
    for version in versions_in_force(on):
        age = birthday_threshold_age(version.rule)
        if age is None or age < ELDER_AGE:
            continue
        first, last = birthday_window(on, age)
        policy = version.policy
        reason = _("30天内年满%(a)s周岁，可申请《%(p)s》") % {"a": age, "p": policy.name}
        turning = Person.objects.order_by().filter(birth_date__gt=first, birth_date__lte=last, is_deceased=False).exclude(
            Exists(Benefit.objects.filter(benefits_held_q(on), person=OuterRef("pk"), policy=policy))).exclude(
            Exists(Recommendation.objects.filter(person=OuterRef("pk"), policy=policy,
                                                 kind=RecommendationKind.BIRTHDAY, status=ItemStatus.OPEN)))
        written += _insert_select(Recommendation, turning.annotate(
            c_person_id=Cast("pk", IntegerField()), c_policy_id=Value(policy.pk), c_kind=Value(RecommendationKind.BIRTHDAY),
            c_reason=Value(reason), c_status=Value(ItemStatus.OPEN), c_found_on=Value(on, output_field=DateField()),
            **_stamp(now)))
    return written


def grid_workers(grid_ids: set[int]) -> dict[int, int]:
    """grid id → its primary (A角) grid worker's user id."""
    return dict(AreaAssignment.objects.filter(
        area_id__in=grid_ids, kind=AssignmentKind.PRIMARY, user__role=Role.GRID_WORKER, user__is_active=True,
    ).values_list("area_id", "user_id"))


def _step_expiry(on: date, actor: Actor) -> int:
    """Benefits ending within their policy's notice → a work order to the grid worker."""
    rows = list(Benefit.objects.filter(state=BenefitState.ACTIVE, ends_on__gte=on)
                .exclude(Exists(WorkOrder.objects.filter(benefit=OuterRef("pk"), kind=WorkOrderKind.BENEFIT_EXPIRY,
                                                         status=ItemStatus.OPEN)))
                .filter(ends_on__lte=on + timedelta(days=366))
                .values_list("pk", "person_id", "person__grid_id", "ends_on", "policy__name",
                             "policy__expiry_notice_days"))
    rows = [r for r in rows if r[3] is not None and r[3] <= on + timedelta(days=r[5])]
    workers = grid_workers({r[2] for r in rows if r[2]})
    orders = [WorkOrder(
        person_id=person_id, benefit_id=pk, kind=WorkOrderKind.BENEFIT_EXPIRY, grid_id=grid_id,
        assignee_id=workers.get(grid_id) if grid_id else None, due_on=expiry_deadline(ends_on=ends_on or on, on=on),
        reason=_("《%(p)s》将于%(d)s到期，请联系本人办理续期或复核") % {"p": name, "d": ends_on.isoformat() if ends_on else ""},
    ) for pk, person_id, grid_id, ends_on, name, _days in rows]
    created = WorkOrder.objects.bulk_create(orders, batch_size=2000)
    ids = [o.pk for o in created if o.pk is not None]
    if ids:
        work_order_notification_send(work_order_ids=ids)  # in the step's transaction (outbox)
    return len(orders)


def _step_levels(on: date, actor: Actor) -> int:
    """Each living elder's colour from the level rules; changes kept as history.

    Set-based: one ``INSERT … SELECT`` computes every elder's colour and reasons into a
    temporary table (:func:`levels_select_sql`: the colour rules, which are data, become
    ``CASE`` expressions); then one statement each writes the history of changed colours,
    updates the levels that changed, inserts the new ones and deletes those of persons no
    longer elders. An unchanged elder costs no write. The reference is
    :func:`linli.care.workflow.elder_colour` (``tests/test_levels_sql.py`` compares them)."""
    level_rules = [(r.colour, r.name, r.rule) for r in LevelRule.objects.all()]
    select_sql, params = levels_select_sql(level_rules, on=on)
    pg = connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    level, change = quote(ElderLevel._meta.db_table), quote(ElderLevelChange._meta.db_table)
    target = "care_level_target"
    day, now = _db(on), _db(timezone.now())
    # ``IS DISTINCT FROM`` (SQLite < 3.39 knows only ``IS NOT``).
    distinct = "IS DISTINCT FROM" if pg else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {target}")
        if pg:
            cursor.execute(f"CREATE TEMPORARY TABLE {target} (person_id bigint PRIMARY KEY, grid_id bigint, "
                           "colour varchar(8) NOT NULL, reasons jsonb NOT NULL) ON COMMIT DROP")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {target} (person_id integer PRIMARY KEY, grid_id integer, "
                           "colour text NOT NULL, reasons text NOT NULL)")
        try:
            cursor.execute(f"INSERT INTO {target} (person_id, grid_id, colour, reasons) {select_sql}", params)
            if pg:
                # Statistics for both sides of the diff. With ``care_elderlevel``'s saying
                # "empty" (a new deployment, or emptied since the last ANALYZE) PostgreSQL
                # ran the new levels' NOT EXISTS as a scan of that table per elder — over
                # the pages this very INSERT was adding: quadratic, 14 minutes at 540,000.
                cursor.execute(f"ANALYZE {target}")
                if not _scoped.get():
                    cursor.execute(f"ANALYZE {level}")
            # History first: it reads the colour before the update.
            cursor.execute(
                f"INSERT INTO {change} (person_id, from_colour, to_colour, reasons, {quote('on')}) "  # noqa: S608 -- names from the models
                f"SELECT t.person_id, COALESCE(l.colour, ''), t.colour, t.reasons, %s FROM {target} t "
                f"LEFT JOIN {level} l ON l.person_id = t.person_id WHERE l.id IS NULL OR l.colour <> t.colour",
                [day])
            cursor.execute(
                f"UPDATE {level} SET colour = t.colour, reasons = t.reasons, grid_id = t.grid_id, "  # noqa: S608
                f"since = CASE WHEN {level}.colour <> t.colour THEN %s ELSE {level}.since END, updated_at = %s "
                f"FROM {target} t WHERE {level}.person_id = t.person_id AND ({level}.colour <> t.colour "
                f"OR {level}.reasons <> t.reasons OR {level}.grid_id {distinct} t.grid_id)",
                [day, now])
            updated = max(int(cursor.rowcount), 0)
            cursor.execute(
                f"INSERT INTO {level} (person_id, grid_id, colour, reasons, since, created_at, updated_at) "  # noqa: S608
                f"SELECT t.person_id, t.grid_id, t.colour, t.reasons, %s, %s, %s FROM {target} t "
                # Uncorrelated: hashed once from the snapshot, whatever the statistics say.
                f"WHERE t.person_id NOT IN (SELECT l.person_id FROM {level} l)",
                [day, now, now])
            created = max(int(cursor.rowcount), 0)
            # No longer an elder on the list (died, moved out): the level goes, the history stays.
            if _scoped.get():
                # Of the scope only; uncorrelated (as a correlated NOT EXISTS beside the
                # scope, PostgreSQL took 51 s for 44 rows at 540,000).
                cursor.execute(f"DELETE FROM {level} WHERE person_id IN (SELECT s.person_id "  # noqa: S608
                               f"FROM ({_SCOPE_SELECT}) s WHERE s.person_id NOT IN (SELECT t.person_id FROM {target} t))")
            else:
                cursor.execute(f"DELETE FROM {level} WHERE NOT EXISTS "  # noqa: S608
                               f"(SELECT 1 FROM {target} t WHERE t.person_id = {level}.person_id)")
        finally:
            if not pg:
                cursor.execute(f"DROP TABLE IF EXISTS {target}")
    return created + updated


def levels_select_sql(level_rules: Sequence[tuple[str, str, Mapping[str, Any]]], *, on: date,
                      ) -> tuple[str, list[Any]]:
    """``SELECT person_id, grid_id, colour, reasons`` for every living elder on ``on``.

    Each rule is a 0/1 column of an inner select over the elders (compiled by
    ``rule_to_q``); the outer select picks the first colour of red → yellow → green with a
    rule that held (:func:`linli.care.workflow.colour_pick`) and writes the names of those
    rules as a JSON array, exactly as ``json.dumps(names, ensure_ascii=False)`` does."""
    elders = Person.objects.order_by().filter(_in_scope(), birth_date__lte=shift_years(on, ELDER_AGE),
                                              is_deceased=False)
    columns = {f"r{i}": Case(When(rule_to_q(rule, on=on), then=Value(1)), default=Value(0),
                             output_field=IntegerField())
               for i, (_colour, _name, rule) in enumerate(level_rules)}
    inner = elders.annotate(lp=F("pk"), lg=F("grid_id"), **columns).values("lp", "lg", *columns)
    inner_sql, inner_params = inner.query.sql_with_params()
    params: list[Any] = []

    def held(colour: str) -> str:
        bits = [f"e.r{i} = 1" for i, (c, _n, _r) in enumerate(level_rules) if c == colour]
        return " OR ".join(bits) if bits else "1 = 0"

    def names(colour: str) -> str:
        # '[' || substr(', "a", "b"', 3) || ']' = '["a", "b"]'; no rule held: '[]'.
        parts = []
        for i, (c, name, _rule) in enumerate(level_rules):
            if c == colour:
                parts.append(f"CASE WHEN e.r{i} = 1 THEN %s ELSE '' END")
                params.append(", " + json.dumps(name, ensure_ascii=False))
        joined = " || ".join(parts) if parts else "''"
        return f"'[' || SUBSTR({joined}, 3) || ']'"

    colour_case: list[str] = []
    reasons_case: list[str] = []
    colour_params: list[Any] = []
    for colour in COLOUR_ORDER[:-1]:
        colour_case.append(f"WHEN {held(colour)} THEN %s")
        colour_params.append(str(colour))
    reasons_case.extend(f"WHEN {held(colour)} THEN {names(colour)}" for colour in COLOUR_ORDER[:-1])
    reasons_else = names(COLOUR_ORDER[-1])
    reasons = f"CASE {' '.join(reasons_case)} ELSE {reasons_else} END"
    if connection.vendor == "postgresql":
        reasons = f"CAST({reasons} AS jsonb)"
    sql = (f"SELECT e.lp, e.lg, CASE {' '.join(colour_case)} ELSE %s END, {reasons} "  # noqa: S608 -- built here
           f"FROM ({inner_sql}) e")
    return sql, [*colour_params, str(COLOUR_ORDER[-1]), *params, *inner_params]


def _step_visits(on: date, actor: Actor) -> int:
    """Each elder's next planned visit by colour, put on the list a week ahead.

    Elders never visited are due today: one ``INSERT … SELECT`` (the first night, every
    elder). Those visited before are due ``every_days`` after the last visit's local day
    (``next_visit_due``), computed here for the few without an open planned visit."""
    every = {**DEFAULT_VISIT_DAYS, **dict(VisitPlan.objects.values_list("colour", "every_days"))}
    reasons = {colour: _("%(c)s老人例行走访（每%(n)s天）") % {"c": Colour(colour).label, "n": days}
               for colour, days in every.items()}
    # Elders without an open planned visit: an uncorrelated ``NOT IN`` (hashed once). As a
    # correlated ``NOT EXISTS`` PostgreSQL probed the due visits once per elder, and with
    # the table's statistics not yet refreshed after the day's inserts it rescanned it per
    # elder (70 s for 32,000 elders, 3 rows written).
    has_open = DueVisit.objects.order_by().filter(reason_kind=VisitReason.PLAN, status=ItemStatus.OPEN)
    unplanned = ElderLevel.objects.order_by().exclude(person_id__in=has_open.values("person_id"))
    visited = Visit.objects.order_by().values("person_id")
    now = timezone.now()
    written = _insert_select(DueVisit, unplanned.exclude(person_id__in=visited).annotate(
        c_person_id=F("person_id"), c_grid_id=F("grid_id"), c_reason_kind=Value(str(VisitReason.PLAN)),
        c_reason=Case(*(When(colour=colour, then=Value(text)) for colour, text in reasons.items()),
                      output_field=CharField()),
        c_due_on=Value(on, output_field=DateField()), c_status=Value(str(ItemStatus.OPEN)),
        c_overdue=Value(value=False, output_field=BooleanField()), **_stamp(now)))
    again = unplanned.filter(person_id__in=visited)
    rows = list(again.values_list("person_id", "grid_id", "colour").iterator(chunk_size=20000))
    last_visits = dict(Visit.objects.order_by().filter(person_id__in=again.values("person_id"))
                       .values("person_id").annotate(last=Max("visited_at")).values_list("person_id", "last"))
    horizon, stamp = on + timedelta(days=VISIT_LOOKAHEAD_DAYS), _db(now)
    due: list[tuple[object, ...]] = []
    for person_id, grid_id, colour in rows:
        last = last_visits.get(person_id)
        due_on = next_visit_due(last_visit=timezone.localtime(last).date() if last else None,
                                every_days=every[colour], on=on)
        if due_on <= horizon:
            due.append((person_id, grid_id, str(VisitReason.PLAN), reasons[colour], _db(due_on), str(ItemStatus.OPEN),
                        False, stamp, stamp))
    _insert_rows(DueVisit, ["person", "grid", "reason_kind", "reason", "due_on", "status", "overdue", "created_at",
                           "updated_at"], due)
    return written + len(due)


def _step_overdue(on: date, actor: Actor) -> int:
    """Due visits past their day are flagged (supervision), once: a conditional update; the
    grid workers are told how many of theirs became overdue (one grouped count first)."""
    newly = DueVisit.objects.filter(status=ItemStatus.OPEN, overdue=False, due_on__lt=on)
    per_grid = dict(newly.order_by().filter(grid__isnull=False).values("grid_id").annotate(n=Count("id"))
                    .values_list("grid_id", "n"))
    flagged = newly.update(overdue=True, updated_at=timezone.now())
    if per_grid:
        overdue_visits_notification_send(per_grid=per_grid, on=on)  # in the step's transaction (outbox)
    return flagged


def _step_complaints(on: date, actor: Actor) -> int:
    """12345 complaints by cared-for persons → must-visits (``complaints_record``)."""
    return complaints_record(on=on, actor=actor)


STEPS: tuple[tuple[str, Callable[[date, Actor], int]], ...] = (
    ("expire", _step_expire),
    ("policies", _step_policies),
    ("birthdays", _step_birthdays),
    ("expiry", _step_expiry),
    ("levels", _step_levels),
    ("visits", _step_visits),
    ("overdue", _step_overdue),
    ("complaints", _step_complaints),
    ("forget", _step_forget),
)
# The steps that read the scope (the others select by date windows or open items).
SCOPED_STEPS = frozenset({"policies", "levels"})


def _sweep_memory() -> None:
    """PostgreSQL: room for the rule's hashed subqueries in this transaction. A hash that
    does not fit ``work_mem`` (4 MB by default: ~10⁵ ids) makes the planner fall back to
    rescanning the subquery per person."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")


def sweep_run(*, on: date | None = None, actor: Actor = SWEEP_ACTOR) -> SweepRun:
    """Run (or resume) the day's sweep; a finished day is left alone."""
    day = on or timezone.localdate()
    run, _created = SweepRun.objects.get_or_create(on=day)
    if run.status == SweepStatus.DONE:
        return run
    # Resumed: the same persons (the stamps up to the mark stay until the last step).
    resumed = run.changes_upto is not None
    persons = _plan(run) if not resumed else None if run.full else _scope_persons(run)
    for name, step in STEPS:
        if name in run.steps_done:
            continue
        with transaction.atomic():
            locked = SweepRun.objects.select_for_update().get(pk=run.pk)
            if name in locked.steps_done:  # another worker finished it meanwhile
                run = locked
                continue
            _sweep_memory()
            started = time.perf_counter()
            with _scope(persons if name in SCOPED_STEPS else None):
                count = step(day, actor)
            logger.info("care sweep %s %s: %d rows in %.2f s", day, name, count, time.perf_counter() - started)
            locked.steps_done = [*locked.steps_done, name]
            locked.counts = {**locked.counts, name: count}
            locked.save(update_fields=["steps_done", "counts", "updated_at"])
            audit_record(actor=actor, action=f"care.sweep.{name}", target_type="care.sweeprun",
                         target_id=locked.pk, reason=str(count))
            run = locked
    SweepRun.objects.filter(pk=run.pk).update(status=SweepStatus.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run
