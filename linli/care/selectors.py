"""Reads of the care app, each scoped like the registry: a person is seen through the grids
of the caller's scope, never outside them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from linli.accounts.choices import Permission
from linli.accounts.selectors import AreaScope, Principal, scope_for
from linli.care.choices import BenefitState, Colour, ItemStatus
from linli.care.models import (
    Benefit,
    CareEvent,
    CareProfile,
    DueVisit,
    ElderLevel,
    ElderLevelChange,
    Recommendation,
    ReviewItem,
    Visit,
    WorkOrder,
)
from linli.care.rules_query import benefits_held_q, rule_seek_q, rule_to_q
from linli.care.workflow import PersonFacts
from linli.core.errors import PermissionDenied
from linli.registry.models import Person, PersonTag

SAMPLE_SIZE = 10


def care_scope(user: Principal | None) -> AreaScope:
    scope = scope_for(user)
    if not scope.can(Permission.VIEW_REGISTRY):
        raise PermissionDenied()
    return scope


def _grids(scope: AreaScope) -> list[int]:
    return sorted(scope.grid_ids)


@dataclass(frozen=True)
class MatchCount:
    """How many living persons a rule selects, out of how many, and a few of them."""

    count: int
    total: int
    sample: list[Person]
    elapsed_ms: float
    matches_everyone: bool = False


def rule_match_count(*, rule: Mapping[str, Any], on: date | None = None, sample_from: AreaScope | None = None,
                     sample_size: int = SAMPLE_SIZE) -> MatchCount:
    """The live count for the rule editor (the whole population: a policy applies to all);
    the sample only from the caller's grids.

    The rule is the ``WHERE`` of its own count, so the database may read an age band from
    ``person_living_age_idx`` and join a profile or benefit condition from the small side
    (a ``count(*) FILTER (WHERE rule)`` beside the population count read the whole table
    for every keystroke). Whether the rule matches everyone is decided exactly — is there a
    living person it does not select? — which stops at the first such person."""
    day = on or timezone.localdate()
    started = time.perf_counter()
    living = Person.objects.order_by().filter(is_deceased=False)
    condition = rule_to_q(rule, on=day)
    count = living.filter(rule_seek_q(rule, on=day)).count()
    everyone = count > 0 and not living.filter(~condition).exists()
    total = max(living_total(), count)
    sample: list[Person] = []
    if sample_from is not None and count:
        sample = list(living.filter(condition, grid_id__in=_grids(sample_from))
                      .select_related("grid").order_by("pk")[:sample_size])
    return MatchCount(count, total, sample, (time.perf_counter() - started) * 1000, everyone)


# The living population shown beside a rule's count ("12 / 540,000"): counted once per
# process every few minutes, not per keystroke (it reads the whole table). Display only —
# ``matches_everyone`` does not depend on it.
LIVING_TOTAL_SECONDS = 300.0
_living_totals: dict[str, tuple[float, int]] = {}


def living_total() -> int:
    """How many living persons the registry holds (at most ``LIVING_TOTAL_SECONDS`` old)."""
    key = str(connection.settings_dict["NAME"])
    now = time.monotonic()
    cached = _living_totals.get(key)
    if cached is None or now - cached[0] > LIVING_TOTAL_SECONDS:
        cached = (now, Person.objects.order_by().filter(is_deceased=False).count())
        _living_totals[key] = cached
    return cached[1]


# --- a grid worker's day --------------------------------------------------------------------

@dataclass
class Today:
    due_visits: list[DueVisit]
    work_orders: list[WorkOrder]
    red_list: list[ElderLevel]
    overdue_count: int


def today_for_user(*, user: Principal, on: date | None = None, limit: int = 50) -> Today:
    """Visits due (overdue first), open work orders, and the red list of the caller's grids."""
    scope = care_scope(user)
    day = on or timezone.localdate()
    grids = _grids(scope)
    due = DueVisit.objects.filter(grid_id__in=grids, status=ItemStatus.OPEN, due_on__lte=day)
    orders = WorkOrder.objects.filter(grid_id__in=grids, status=ItemStatus.OPEN)
    red = ElderLevel.objects.filter(grid_id__in=grids, colour=Colour.RED)
    return Today(
        due_visits=list(due.select_related("person", "person__building").order_by("due_on", "id")[:limit]),
        work_orders=list(orders.select_related("person", "benefit__policy").order_by("due_on", "id")[:limit]),
        red_list=list(red.select_related("person", "person__building").order_by("person__name")[:limit]),
        overdue_count=due.filter(overdue=True).count(),
    )


def due_visit_list_for_user(*, user: Principal, on: date | None = None,
                            ahead_days: int = 7) -> QuerySet[DueVisit]:
    """Open visits of the caller's grids due by ``on`` + ``ahead_days``, overdue first."""
    day = on or timezone.localdate()
    return (DueVisit.objects.filter(grid_id__in=_grids(care_scope(user)), status=ItemStatus.OPEN,
                                    due_on__lte=day + timedelta(days=ahead_days))
            .select_related("person").order_by("-overdue", "due_on", "id"))


def work_order_list_for_user(*, user: Principal, status: str = ItemStatus.OPEN) -> QuerySet[WorkOrder]:
    """Work orders of the caller's grids (``status`` empty: all), earliest deadline first."""
    qs = WorkOrder.objects.filter(grid_id__in=_grids(care_scope(user)))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("person", "benefit__policy").order_by("due_on", "id")


def recommendation_list_for_user(*, user: Principal, area_id: int | None = None,
                                 policy_code: str = "") -> QuerySet[Recommendation]:
    """Eligible-but-not-receiving (and birthday prompts) in the caller's grids."""
    scope = care_scope(user)
    qs = Recommendation.objects.filter(status=ItemStatus.OPEN, person__grid_id__in=_grids(scope))
    if area_id is not None:
        qs = qs.filter(person__grid__path__contains=f"/{area_id}/")
    if policy_code:
        qs = qs.filter(policy__code=policy_code)
    return qs.select_related("person", "person__grid", "person__building", "policy").order_by("person__grid_id", "id")


def expiring_list_for_user(*, user: Principal, within_days: int = 60, on: date | None = None) -> QuerySet[Benefit]:
    """Benefits of the caller's grids ending within ``within_days``."""
    scope = care_scope(user)
    day = on or timezone.localdate()
    return (Benefit.objects.filter(state=BenefitState.ACTIVE, ends_on__gte=day,
                                   ends_on__lte=day + timedelta(days=within_days),
                                   person__grid_id__in=_grids(scope))
            .select_related("person", "person__grid", "policy").order_by("ends_on", "id"))


def review_list_for_user(*, user: Principal) -> QuerySet[ReviewItem]:
    scope = care_scope(user)
    return (ReviewItem.objects.filter(status=ItemStatus.OPEN, person__grid_id__in=_grids(scope))
            .select_related("person", "benefit__policy").order_by("-found_on", "id"))


@dataclass
class PersonCare:
    """The care section of a person's page."""

    benefits: list[Benefit]
    level: ElderLevel | None
    level_history: list[ElderLevelChange]
    recommendations: list[Recommendation]
    reviews: list[ReviewItem]
    visits: list[Visit]
    due: list[DueVisit]


def person_care(*, person: Person, on: date | None = None) -> PersonCare:
    """For a person the caller has already been allowed to open (``person_get_for_user``)."""
    day = on or timezone.localdate()
    return PersonCare(
        benefits=list(person.benefits.select_related("policy").order_by("-starts_on")),
        level=ElderLevel.objects.filter(person=person).first(),
        level_history=list(ElderLevelChange.objects.filter(person=person).order_by("-on", "-id")[:10]),
        recommendations=list(person.care_recommendations.filter(status=ItemStatus.OPEN).select_related("policy")),
        reviews=list(person.care_reviews.filter(status=ItemStatus.OPEN).select_related("benefit__policy")),
        visits=list(person.care_visits.select_related("visitor").prefetch_related("photos")[:20]),
        due=list(person.care_due_visits.filter(status=ItemStatus.OPEN, due_on__lte=day + timedelta(days=7))),
    )


# --- statistics ---------------------------------------------------------------------------

@dataclass
class GridCoverage:
    grid_id: int
    grid_name: str
    elders: int
    visited: int
    red: int
    yellow: int
    green: int
    overdue: int

    @property
    def rate(self) -> float:
        return self.visited / self.elders if self.elders else 0.0


def statistics_for_user(*, user: Principal, month: date | None = None) -> list[GridCoverage]:
    """Per grid of the caller: elders by colour, how many were visited this month, overdue."""
    scope = care_scope(user)
    first = (month or timezone.localdate()).replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    grids = _grids(scope)
    colours = {(g, c): n for g, c, n in ElderLevel.objects.filter(grid_id__in=grids)
               .values_list("grid_id", "colour").annotate(n=Count("pk")).values_list("grid_id", "colour", "n")}
    visited = dict(ElderLevel.objects.filter(
        grid_id__in=grids, person__care_visits__visited_at__date__gte=first,
        person__care_visits__visited_at__date__lt=nxt).values("grid_id")
        .annotate(n=Count("person_id", distinct=True)).values_list("grid_id", "n"))
    overdue = dict(DueVisit.objects.filter(grid_id__in=grids, status=ItemStatus.OPEN, overdue=True)
                   .values("grid_id").annotate(n=Count("pk")).values_list("grid_id", "n"))
    from linli.geo.models import Area

    rows = []
    for grid_id, name in Area.objects.filter(pk__in=grids).order_by("code").values_list("pk", "name"):
        red, yellow, green = (colours.get((grid_id, c), 0) for c in (Colour.RED, Colour.YELLOW, Colour.GREEN))
        rows.append(GridCoverage(grid_id, name, red + yellow + green, visited.get(grid_id, 0), red, yellow, green,
                                 overdue.get(grid_id, 0)))
    return rows


def visit_coverage_by_month_for_user(*, user: Principal, months: int = 6,
                                     on: date | None = None) -> list[tuple[str, int, int]]:
    """The last ``months`` months, oldest first, in the caller's grids: (``YYYY-MM``, elders,
    elders visited at least once that month). The elders are today's (the colours keep no
    past population), so an old month's rate reads "of today's elders, how many were seen"."""
    scope = care_scope(user)
    grids = _grids(scope)
    last = (on or timezone.localdate()).replace(day=1)
    firsts = [last]
    for _i in range(months - 1):
        firsts.insert(0, (firsts[0] - timedelta(days=1)).replace(day=1))
    elders = ElderLevel.objects.filter(grid_id__in=grids)
    total = elders.count()
    start = timezone.make_aware(datetime.combine(firsts[0], datetime.min.time()))
    # Months in local time (TruncMonth uses the current time zone on both databases).
    seen = {f"{month:%Y-%m}": n for month, n in Visit.objects.order_by().filter(
        grid_id__in=grids, visited_at__gte=start, person_id__in=elders.values("person_id"),
    ).annotate(month=TruncMonth("visited_at")).values("month").annotate(n=Count("person_id", distinct=True))
        .values_list("month", "n")}
    return [(f"{first:%Y-%m}", total, seen.get(f"{first:%Y-%m}", 0)) for first in firsts]


def visit_application_items(*, person_id: int) -> list[tuple[str, str, str]]:
    """The catalogue items a visit may start an application of: those linked to the policies
    the person is recommended (eligible, or reaching the age soon), published and active —
    (item code, item name, policy name). The caller has already opened the visit (scope)."""
    from linli.catalogue.models import ServiceItem

    linked = dict(Recommendation.objects.filter(person_id=person_id, status=ItemStatus.OPEN)
                  .exclude(policy__catalogue_item_code="").order_by("policy__name")
                  .values_list("policy__catalogue_item_code", "policy__name"))
    items = ServiceItem.objects.filter(code__in=sorted(linked), active=True, current_version__isnull=False)
    return sorted((code, name, linked[code]) for code, name in items.values_list("code", "name"))


def benefit_coverage_for_user(*, user: Principal, on: date | None = None) -> list[tuple[str, int, int]]:
    """Per policy: (name, receiving, eligible-not-receiving) in the caller's grids."""
    scope = care_scope(user)
    day = on or timezone.localdate()
    grids = _grids(scope)
    held = dict(Benefit.objects.filter(benefits_held_q(day), person__grid_id__in=grids)
                .values("policy__name").annotate(n=Count("pk")).values_list("policy__name", "n"))
    recs = dict(Recommendation.objects.filter(status=ItemStatus.OPEN, kind="eligible", person__grid_id__in=grids)
                .values("policy__name").annotate(n=Count("pk")).values_list("policy__name", "n"))
    return [(name, held.get(name, 0), recs.get(name, 0)) for name in sorted(set(held) | set(recs))]


def q_in_grids(scope: AreaScope) -> Q:
    return Q(grid_id__in=_grids(scope))


def person_facts(*, person: Person, on: date) -> PersonFacts:
    """What a rule may ask about one person, read one query at a time: the reference the
    compiled rules are tested against, and the naive baseline of the benchmark."""
    profile = CareProfile.objects.filter(person=person).first()
    tags = PersonTag.objects.filter(person=person, valid_from__lte=on).exclude(valid_to__lt=on)
    held = Benefit.objects.filter(benefits_held_q(on), person=person)
    events: dict[str, date] = {}
    for kind, day in CareEvent.objects.filter(person=person, occurred_on__lte=on).values_list("kind", "occurred_on"):
        events[kind] = max(events.get(kind, day), day)
    size = (Person.objects.filter(household_id=person.household_id, is_deceased=False).count()
            if person.household_id else None)
    return PersonFacts(
        birth_date=person.birth_date, sex=person.sex, hukou=person.hukou, ethnicity=person.ethnicity,
        is_deceased=person.is_deceased, tags=frozenset(tags.values_list("kind", flat=True)),
        household_size=size, income_per_head=profile.income_per_head if profile else None,
        disability_grade=profile.disability_grade if profile else None,
        bedridden=bool(profile and profile.bedridden), only_child_lost=bool(profile and profile.only_child_lost),
        benefits=frozenset(held.values_list("policy__code", flat=True)), events=events)


# --- residents' own view (the portal decides whose persons these are) -----------------------

def benefit_list_for_persons(*, person_ids: list[int], policy_codes: list[str] | None = None,
                             current_only: bool = False) -> QuerySet[Benefit]:
    """The benefits of the given persons (the portal passes only the members of the signed-in
    resident's own household), optionally of some policies and only active or suspended."""
    qs = Benefit.objects.filter(person_id__in=person_ids)
    if policy_codes is not None:
        qs = qs.filter(policy__code__in=policy_codes)
    if current_only:
        qs = qs.filter(state__in=[BenefitState.ACTIVE, BenefitState.SUSPENDED])
    return qs.select_related("policy", "person").order_by("person_id", "policy__code", "-starts_on", "id")
