"""Registry pages: search, person (with reveal), household and building chart."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.registry.choices import SENSITIVE_TAGS, VULNERABLE_TAGS, RoomUse
from linli.registry.models import Person, PersonTag
from linli.registry.selectors import (
    BuildingChart,
    ChartCell,
    building_chart,
    household_get_for_user,
    household_members,
    person_get_for_user,
    person_history,
    person_search_for_user,
    person_tags_active,
)
from linli.registry.services import (
    person_access_record,
    person_export,
    person_reveal,
    person_search_by_id_record,
)
from linli.web.access import StaffRequest, request_id_of, staff_required
from linli.web.forms import REVEAL_FIELDS, RevealForm, SearchForm

RevealField = Literal["id_number", "phone"]
SEARCH_LIMIT = 50
HISTORY_LIMIT = 100


def _active_tag_kinds(persons: list[Person]) -> dict[int, list[str]]:
    """Active tag kinds for a page of results in one query (person_tags_active is per person)."""
    today = timezone.localdate()
    kinds: dict[int, list[str]] = defaultdict(list)
    rows = (PersonTag.objects.filter(person__in=persons, valid_from__lte=today)
            .exclude(valid_to__lt=today).order_by("person_id", "kind")
            .values_list("person_id", "kind").distinct())
    for person_id, kind in rows:
        kinds[person_id].append(kind)
    return kinds


def _is_htmx_fragment(request: StaffRequest) -> bool:
    # A history restore needs the whole page, not the fragment.
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


@staff_required
@require_GET
def search(request: StaffRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    results: list[Person] = []
    error = ""
    if query:
        try:
            results = person_search_for_user(user=request.user, query=query, limit=SEARCH_LIMIT)
            person_search_by_id_record(actor=request.user, query=query, found=results,
                                       request_id=str(getattr(request, "request_id", "")))
        except ValidationFailed as exc:
            error = exc.message
    kinds = _active_tag_kinds(results) if results else {}
    context = {
        "form": form, "query": query, "error": error,
        "rows": [(person, kinds.get(person.pk, [])) for person in results],
        "limit_reached": len(results) >= SEARCH_LIMIT,
    }
    template = "web/_search_results.html" if _is_htmx_fragment(request) else "web/search.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def person(request: StaffRequest, person_id: int) -> HttpResponse:
    user = request.user
    found = person_get_for_user(user=user, person_id=person_id)
    tags = list(person_tags_active(person=found))
    can_reveal = scope_for(user).can(Permission.REVEAL_PII)
    revealed: tuple[str, str] | None = None
    form: RevealForm | None = None
    if request.method == "POST":
        if not can_reveal:
            raise PermissionDenied
        form = RevealForm(request.POST)
        if form.is_valid():
            field: RevealField = form.cleaned_data["field"]
            try:
                value = person_reveal(
                    actor=user, person=found, field=field,
                    reason=form.cleaned_data["reason"], request_id=request_id_of(request),
                )
            except ValidationFailed as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                revealed = (str(dict(REVEAL_FIELDS)[field]), value)
                form = RevealForm()  # each reveal needs its own reason
    else:
        # Opening a person with health/income/justice tags is itself logged (PIPL art. 28).
        if any(tag.kind in SENSITIVE_TAGS for tag in tags):
            person_access_record(actor=user, person=found, request_id=request_id_of(request))
        form = RevealForm() if can_reveal else None
    return render(request, "web/person.html", {
        "person": found,
        "tags": tags,
        "history": person_history(person=found, limit=HISTORY_LIMIT),
        "reveal_form": form if can_reveal else None,
        "revealed": revealed,
    })


@staff_required
@require_GET
def household(request: StaffRequest, household_id: int) -> HttpResponse:
    found = household_get_for_user(user=request.user, household_id=household_id)
    members = [(member, list(person_tags_active(person=member)))
               for member in household_members(household=found)]
    return render(request, "web/household.html", {"household": found, "members": members})


@dataclass(frozen=True)
class ChartRow:
    """One floor of the chart table: for each unit (left to right), its rooms on that floor."""

    floor: int
    units: list[tuple[int, tuple[ChartCell, ...]]]


def _chart_rows(chart: BuildingChart) -> list[ChartRow]:
    # The selector groups rooms unit → floor; a table needs floor → unit.
    by_unit = {unit.unit_id: {f.floor: f.cells for f in unit.floors} for unit in chart.units}
    return [
        ChartRow(floor, [(unit.number, by_unit[unit.unit_id].get(floor, ())) for unit in chart.units])
        for floor in chart.floors
    ]


@staff_required
@require_GET
def building(request: StaffRequest, building_id: int) -> HttpResponse:
    chart = building_chart(user=request.user, building_id=building_id)
    uses = [(use, label, chart.use_counts.get(use, 0)) for use, label in RoomUse.choices]
    return render(request, "web/building.html", {
        "building": chart.building, "chart": chart, "rows": _chart_rows(chart), "uses": uses,
        "vulnerable_kinds": sorted(VULNERABLE_TAGS),
    })


# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


@staff_required
@never_cache
@require_GET
def grid_persons_csv(request: StaffRequest, grid_id: int) -> HttpResponse:
    """A grid's persons as CSV (masked values); UTF-8 with BOM so spreadsheet programs read it."""
    export = person_export(actor=request.user, grid_id=grid_id, request_id=request_id_of(request))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="persons-{export.grid.code}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(export.header)
    writer.writerows([_csv_cell(cell) for cell in row] for row in export.rows)
    return response
