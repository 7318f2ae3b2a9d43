"""Registry pages: search, person (with reveal), household and building chart."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.care.selectors import person_care
from linli.care.services import care_access_record
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.devices.selectors import devices_of_person
from linli.geo.choices import AreaLevel
from linli.registry.choices import SENSITIVE_TAGS, VULNERABLE_TAGS, RoomUse, TagKind
from linli.registry.models import Person, PersonTag
from linli.registry.selectors import (
    BuildingChart,
    ChartCell,
    PersonFilter,
    PersonRow,
    area_list_for_user,
    building_chart,
    household_view_for_user,
    parse_person_filter,
    person_get_for_user,
    person_history,
    person_list_for_user,
    person_search_rows_page_for_user,
    person_tags_active,
    person_unplaced_list_for_user,
    room_find_for_user,
)
from linli.registry.services import (
    person_access_record,
    person_export,
    person_list_access_record,
    person_list_export,
    person_list_xlsx,
    person_place,
    person_reveal,
    person_search_by_id_record,
    sensitive_tags_shown_record,
)
from linli.web.access import StaffRequest, request_id_of, staff_required
from linli.web.audit_words import with_actor_names
from linli.web.forms import REVEAL_FIELDS, PersonListForm, PlaceForm, RevealForm, SearchForm

RevealField = Literal["id_number", "phone"]
SEARCH_LIMIT = 50
HISTORY_LIMIT = 100
LIST_PAGE_SIZE = 50


def _active_tag_kinds(persons: Sequence[Person | PersonRow]) -> dict[int, list[str]]:
    """Active tag kinds for a page of results in one query (person_tags_active is per person)."""
    today = timezone.localdate()
    kinds: dict[int, list[str]] = defaultdict(list)
    rows = (PersonTag.objects.filter(person_id__in=[p.pk for p in persons], valid_from__lte=today)
            .exclude(valid_to__lt=today).order_by("person_id", "kind")
            .values_list("person_id", "kind").distinct())
    for person_id, kind in rows:
        kinds[person_id].append(kind)
    return kinds


def _is_htmx_fragment(request: StaffRequest) -> bool:
    # A history restore needs the whole page, not the fragment.
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def _tag_named(query: str) -> tuple[str, str] | None:
    """(label, list URL) when the query names a key population ("独居老人"): its list is
    what the clerk is after, not persons of that name."""
    wanted = query.replace(" ", "").lower()
    for value, label in TagKind.choices:
        if wanted and wanted in (str(label).replace(" ", "").lower(), value):
            return str(label), f"{reverse('web:persons')}?{urlencode({'tag': value})}"
    return None


@staff_required
@require_GET
def search(request: StaffRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()  # a bad page number falls back to the first page, the query stays
    query = (form.cleaned_data.get("q") or "").strip()
    number: int = form.cleaned_data.get("page") or 1
    results: list[PersonRow] = []
    has_more = False
    error = ""
    if query:
        try:
            found = person_search_rows_page_for_user(user=request.user, query=query, limit=SEARCH_LIMIT,
                                                     offset=(number - 1) * SEARCH_LIMIT)
        except ValidationFailed as exc:
            error = exc.message
        else:
            results, has_more = found.items, found.has_more
            person_search_by_id_record(actor=request.user, query=query, found=results,
                                       request_id=request_id_of(request))
    kinds = _active_tag_kinds(results) if results else {}
    sensitive_tags_shown_record(actor=request.user, tags=kinds, where="search",
                                request_id=request_id_of(request))
    context = {
        "form": form, "query": query, "error": error,
        "rows": [(person, kinds.get(person.pk, [])) for person in results],
        "page_number": number, "has_more": has_more, "tag_list": _tag_named(query),
        "first_number": (number - 1) * SEARCH_LIMIT + 1,
        "last_number": (number - 1) * SEARCH_LIMIT + len(results),
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
    care = person_care(person=found)
    if request.method != "POST" and (care.benefits or care.level):
        care_access_record(actor=user, person=found, request_id=request_id_of(request))
    return render(request, "web/person.html", {
        "person": found,
        "care": care,
        "tags": tags,
        "history": with_actor_names(person_history(person=found, limit=HISTORY_LIMIT)),
        "reveal_form": form if can_reveal else None,
        "revealed": revealed,
        # The devices app's section (sensors bound to this person, as far as the user sees them).
        "devices": devices_of_person(user=user, person=found),
    })


@staff_required
@require_GET
def household(request: StaffRequest, household_id: int) -> HttpResponse:
    view = household_view_for_user(user=request.user, household_id=household_id)
    members = [(member, view.tags.get(member.pk, [])) for member in view.members]
    sensitive_tags_shown_record(
        actor=request.user, where=f"household:{household_id}", request_id=request_id_of(request),
        tags={pk: [tag.kind for tag in tags] for pk, tags in view.tags.items()})
    return render(request, "web/household.html", {
        "household": view.household, "head": view.head, "members": members, "others": view.others,
    })


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
    sensitive_tags_shown_record(actor=request.user, tags=chart.sensitive_tags,
                                where=f"building:{building_id}", request_id=request_id_of(request))
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


# --- key-population lists (重点人群名单) ---------------------------------------------------------


def _person_list_form(request: StaffRequest) -> PersonListForm:
    grids = [(a.pk, a.name) for a in area_list_for_user(user=request.user).filter(level=AreaLevel.GRID)]
    return PersonListForm(request.GET or None, tags=[(value, str(label)) for value, label in TagKind.choices], grids=grids)


def _person_filter(form: PersonListForm) -> PersonFilter | None:
    """The filters of a valid form (an empty form lists everyone in scope); else ``None``."""
    if not form.is_bound:
        return PersonFilter()
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return parse_person_filter(tag=data["tag"] or "", grid_id=data["grid"],
                                   age_min=data["age_min"], age_max=data["age_max"])
    except ValidationFailed as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@staff_required
@never_cache
@require_GET
def persons(request: StaffRequest) -> HttpResponse:
    """A scoped, paged list of persons by key population, grid and age: where the home
    page's tiles lead."""
    form = _person_list_form(request)
    return _persons_page(request, form, _person_filter(form))


def _persons_page(request: StaffRequest, form: PersonListForm, filters: PersonFilter | None,
                  error: str = "", status: int = 200) -> HttpResponse:
    page = None
    kinds: dict[int, list[str]] = {}
    if filters is not None:
        listed = person_list_for_user(user=request.user, filters=filters)  # checks the permission
        if filters.tag in SENSITIVE_TAGS:
            person_list_access_record(actor=request.user, filters=filters, request_id=request_id_of(request))
        page = Paginator(listed, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
        kinds = _active_tag_kinds(list(page.object_list))
    return render(request, "web/persons.html", {
        "form": form, "page": page, "error": error,
        "rows": [(p, kinds.get(p.pk, [])) for p in page.object_list] if page else [],
        "can_export": scope_for(request.user).can(Permission.EXPORT_REGISTRY),
        "title": _list_title(filters),
    }, status=status)


def _list_title(filters: PersonFilter | None) -> str:
    if filters is not None and filters.tag:
        return str(TagKind(filters.tag).label)
    if filters is not None and filters.age_min is not None and filters.age_max is None:
        return gettext("%(age)d岁以上") % {"age": filters.age_min}
    return gettext("人员名单")


@staff_required
@never_cache
@require_GET
def persons_xlsx(request: StaffRequest) -> HttpResponse:
    """The filtered list as a spreadsheet (masked values); refused without the export right.
    Bad filters or too long a list: the list page with the reason (400)."""
    form = _person_list_form(request)
    filters = _person_filter(form)
    if filters is None:
        return _persons_page(request, form, None, status=400)
    try:
        export = person_list_export(actor=request.user, filters=filters, request_id=request_id_of(request))
    except ValidationFailed as exc:
        return _persons_page(request, form, filters, error=exc.message, status=400)
    response = HttpResponse(
        person_list_xlsx(export),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="persons-{filters.tag or "all"}-{stamp}.xlsx"'
    return response


# --- not yet placed (待落位) ---------------------------------------------------------------


@staff_required
@never_cache
@require_GET
def unplaced(request: StaffRequest) -> HttpResponse:
    """Persons an import could not place in a room, for the clerk to place."""
    page = Paginator(person_unplaced_list_for_user(user=request.user), LIST_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "web/unplaced.html", {
        "page": page, "can_place": scope_for(request.user).can(Permission.EDIT_REGISTRY),
        "form": PlaceForm(), "failed": None,
    })


@staff_required
@require_POST
def person_place_view(request: StaffRequest, person_id: int) -> HttpResponse:
    found = person_get_for_user(user=request.user, person_id=person_id)
    form = PlaceForm(request.POST)
    if form.is_valid():
        try:
            room = room_find_for_user(user=request.user, address=form.cleaned_data["address"])
            person_place(actor=request.user, person=found, room=room, request_id=request_id_of(request))
        except ValidationFailed as exc:
            form.add_error("address", exc.message)
        else:
            messages.success(request, gettext("%(name)s 已落位到 %(room)s") % {
                "name": found.name, "room": f"{room.building.address} {room.unit.number}-{room.number}"})
            return redirect("web:unplaced")
    page = Paginator(person_unplaced_list_for_user(user=request.user), LIST_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "web/unplaced.html", {
        "page": page, "can_place": True, "form": PlaceForm(), "failed": (found.pk, form),
    }, status=400)
