"""Case pages: inbox, case page with its actions, report forms, statistics.

Views parse input, call one service or selector and render; refusals from services become
form errors or a message, never a half-done change. All reads are scoped by the selectors.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, ParamSpec

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.accounts.choices import Permission, Role
from linli.accounts.models import Department, User
from linli.accounts.selectors import display_names, grid_workers_of, scope_for
from linli.cases import selectors, services, workflow
from linli.cases.api import default_period
from linli.cases.choices import (
    ACTION_LABELS,
    OPEN_STATUSES,
    CaseAction,
    CaseSource,
    CaseStatus,
    level_label,
)
from linli.cases.errors import CaseRefused
from linli.cases.export import case_statistics_xlsx
from linli.cases.forms import (
    HotlineForm,
    PhoneRevealForm,
    PublicDescriptionForm,
    RegradeForm,
    ReportForm,
    StatisticsForm,
    TransitionForm,
)
from linli.cases.indicators import INDICATORS
from linli.cases.models import Case
from linli.cases.stats import GROUP_LABELS, case_statistics_for_user
from linli.core.actors import actor_words
from linli.core.errors import ApplicationError, ErrorCode, NotFound, ValidationFailed
from linli.core.stored_files import stored_file_response
from linli.registry.map_selectors import nearest_building

A = CaseAction
TARGET_ACTIONS = frozenset({A.DISPATCH, A.REASSIGN, A.SUBMIT_DISPATCH})
PHOTO_ACTIONS = frozenset({A.REPORT_BACK, A.VERIFY_PASS, A.VERIFY_FAIL})
# Actions shown as the page's main button (the next step of the loop), in this order.
PRIMARY_ACTIONS = (A.REGISTER, A.DISPATCH, A.APPROVE_DISPATCH, A.ACCEPT, A.REPORT_BACK,
                   A.VERIFY_PASS, A.CLOSE, A.EVALUATE, A.RESUME, A.APPROVE_EXTENSION)
LIST_LIMIT = 100
# The case list's page size and how far its count goes (see case_list).
LIST_PAGE = 50
LIST_COUNT_CAP = 1000
P = ParamSpec("P")


# Any staff role (residents use the portal); out of scope → 404, not yours → 403.
staff_required = staff_view()


def _has_static(path: str) -> bool:
    return finders.find(path) is not None


@dataclass
class ActionForm:
    """What one action's form on the case page needs."""

    action: str
    label: str
    primary: bool
    needs_reason: bool
    needs_target: bool
    needs_days: bool
    needs_rating: bool
    needs_photos: bool
    needs_into: bool


def _action_forms(actions: list[str]) -> list[ActionForm]:
    forms = [ActionForm(
        action=action, label=str(ACTION_LABELS.get(action, action)), primary=action in PRIMARY_ACTIONS,
        needs_reason=action in workflow.REASON_REQUIRED, needs_target=action in TARGET_ACTIONS,
        needs_days=action == A.REQUEST_EXTENSION, needs_rating=action == A.EVALUATE,
        needs_photos=action in PHOTO_ACTIONS, needs_into=action == A.MERGE,
    ) for action in actions]
    return sorted(forms, key=lambda f: (not f.primary, actions.index(f.action)))


def _targets(case: Case) -> list[tuple[str, str]]:
    """Dispatch targets: the grid's workers, then the active departments."""
    options: list[tuple[str, str]] = [("", _("按派遣规则自动选择"))]
    if case.grid is not None:
        options += [(f"user:{a.user_id}", _("网格员 %(name)s") % {"name": a.user})
                    for a in grid_workers_of(grid=case.grid)]
    options += [(f"dept:{d.code}", d.name) for d in Department.objects.filter(active=True).order_by("code")]
    return options


@staff_required
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    cases = selectors.case_inbox_for_user(user=request.user, limit=LIST_LIMIT, rows_only=True)
    return render(request, "cases/inbox.html", {"cases": cases, "can_report": _may_report(request.user)})


@staff_required
@require_GET
def case_list(request: StaffRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    page_number = _page_number(request.GET.get("page", ""))
    filters = selectors.CaseFilters(q=query, status=[status] if status in CaseStatus.values else [])
    # Pages of 50 up to a counted cap: a count of every case in scope (millions for a
    # district) would cost more than the page; past the cap the pager says "more than".
    page = selectors.case_page_for_user(user=request.user, filters=filters, limit=LIST_PAGE,
                                        offset=(page_number - 1) * LIST_PAGE, count_cap=LIST_COUNT_CAP)
    last_page = max(1, -(-page.count // LIST_PAGE))
    return render(request, "cases/list.html", {
        "cases": page.items, "query": query, "status": status, "statuses": CaseStatus.choices,
        "page_number": page_number, "count": page.count, "count_capped": page.count_capped,
        "has_previous": page_number > 1, "has_next": page_number < last_page,
        "first_number": page.offset + 1, "last_number": page.offset + len(page.items),
    })


def _page_number(raw: str) -> int:
    """A page number in 1 … the counted cap's last page; anything else is the first page."""
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 1
    return min(max(number, 1), LIST_COUNT_CAP // LIST_PAGE)


def _transition(request: StaffRequest, case: Case) -> tuple[bool, str]:
    """Apply the posted action; ``(done, error message)``."""
    form = TransitionForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else None
        return False, f"{label or field}: {errors[0]}"
    try:
        services.case_transition(
            case=case, action=form.cleaned_data["action"], actor=request.user,
            expected_version=form.cleaned_data["expected_version"], note=form.cleaned_data["note"] or "",
            data=form.data_for_service(), photos=request.FILES.getlist("photos"),
            request_id=request_id_of(request),
        )
    except CaseRefused as refusal:
        if refusal.code == ErrorCode.CONFLICT:
            return False, _("这件事件刚刚已被他人处理,页面已刷新为最新状态,请确认后再操作。")
        return False, refusal.message
    except NotFound:
        raise
    except ApplicationError as error:
        return False, error.message
    return True, ""


def _timeline(case: Case) -> list[tuple[Any, str, str]]:
    """Events with their action and actor in words: people by display name, machines as
    "系统（事件）" (the stored label is a sign-in name or a code)."""
    events = selectors.case_timeline(case=case)
    names = display_names([e.actor_id for e in events if e.actor_id is not None])
    return [(e, _event_label(e),
             names.get(e.actor_id, e.actor_label) if e.actor_id is not None else actor_words(e.actor_label))
            for e in events]


def _event_label(event: Any) -> str:
    label = str(ACTION_LABELS.get(event.action, event.action))
    if event.action == workflow.REGRADE_EVENT:
        label += f" {level_label(event.data.get('from_level'))} → {level_label(event.data.get('to_level'))}"
    return label


@staff_required
@never_cache
@require_http_methods(["GET", "POST"])
def case_page(request: StaffRequest, case_id: int) -> HttpResponse:
    user = request.user
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    error = ""
    can_reveal = bool(case.callback_phone_enc) and scope_for(user).can(Permission.REVEAL_PII)
    public_form: PublicDescriptionForm | None = None
    if user.role != Role.RESIDENT:
        public_form = PublicDescriptionForm(initial={"public_description": case.public_description})
    reveal_form = PhoneRevealForm() if can_reveal else None
    can_regrade = user.role in workflow.REGRADE_ROLES and case.status in OPEN_STATUSES
    regrade_form = RegradeForm(initial={"regrade_level": case.level}) if can_regrade else None
    revealed = ""
    if request.method == "POST" and "regrade_level" in request.POST:
        if not can_regrade:
            raise PermissionDenied
        regrade_form = RegradeForm(request.POST)
        if regrade_form.is_valid():
            try:
                services.case_regrade(actor=user, case=case, level=regrade_form.cleaned_data["regrade_level"],
                                      reason=regrade_form.cleaned_data["regrade_reason"],
                                      request_id=request_id_of(request))
            except ValidationFailed as exc:
                regrade_form.add_error("regrade_level" if exc.field == "level" else "regrade_reason", exc.message)
            else:
                messages.success(request, _("事件等级已调整。"))
                return redirect("cases:case", case_id=case.pk)
    elif request.method == "POST" and "reveal_reason" in request.POST:
        # Shown in this response only: never redirected with, stored or logged.
        if not can_reveal:
            raise PermissionDenied
        reveal_form = PhoneRevealForm(request.POST)
        if reveal_form.is_valid():
            try:
                revealed = services.case_phone_reveal(
                    actor=user, case=case, reason=reveal_form.cleaned_data["reveal_reason"],
                    request_id=request_id_of(request),
                )
            except ValidationFailed as exc:
                reveal_form.add_error("reveal_reason", exc.message)
            else:
                reveal_form = PhoneRevealForm()  # each reveal needs its own reason
    elif request.method == "POST" and "public_description" in request.POST:
        public_form = PublicDescriptionForm(request.POST)
        if public_form.is_valid():
            try:
                services.case_public_description_set(
                    actor=user, case=case, text=public_form.cleaned_data["public_description"],
                    request_id=request_id_of(request))
            except ValidationFailed as exc:
                public_form.add_error("public_description", exc.message)
            else:
                messages.success(request, _("公开描述已保存。"))
                return redirect("cases:case", case_id=case.pk)
    elif request.method == "POST":
        done, error = _transition(request, case)
        if done:
            messages.success(request, _("操作已完成。"))
            return redirect("cases:case", case_id=case.pk)
        case = selectors.case_get_for_user(user=user, case_id=case_id)
    actions = selectors.case_actions_for_user(user=user, case=case)
    duplicates = selectors.case_duplicates(case=case) if A.MERGE in actions else []
    status = 409 if error else 200
    return render(request, "cases/case.html", {
        "case": case, "level": level_label(case.level),
        "timeline": _timeline(case),
        "photos": selectors.case_photos(case=case), "action_forms": _action_forms(actions),
        "targets": _targets(case) if any(a in TARGET_ACTIONS for a in actions) else [],
        "duplicates": duplicates, "error": error,
        "has_leaflet": _has_static("vendor/leaflet/leaflet.js") and case.lon is not None,
        "map_data": {"lon": case.lon, "lat": case.lat, "label": case.number},
        # Words for the place, never its numbers (issue 16 item 7).
        "map_place": (nearest_building(lat=case.lat, lon=case.lon, user=user)
                      if case.lon is not None and case.lat is not None else None),
        "reveal_form": reveal_form, "revealed_phone": revealed, "public_form": public_form,
        "regrade_form": regrade_form,
    }, status=status)


@staff_required
@require_GET
def photo(request: StaffRequest, case_id: int, photo_id: int) -> HttpResponseBase:
    case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    found = next((p for p in selectors.case_photos(case=case) if p.pk == photo_id), None)
    if found is None:
        raise NotFound
    return stored_file_response(found.file.open("rb"), content_type=found.content_type,
                                filename=f"case-{case.pk}-photo-{found.pk}")


def _may_report(user: User) -> bool:
    return any(workflow.may_open(source, user.role) for source in (CaseSource.PATROL, CaseSource.STAFF))


def _report_source(user: User) -> str:
    return CaseSource.PATROL if user.role == Role.GRID_WORKER else CaseSource.STAFF


def _open_from_form(request: StaffRequest, form: ReportForm, *, source: str, source_key: str = "") -> Case | None:
    data = form.cleaned_data
    try:
        case, _created = services.case_open(
            actor=request.user, source=source, category=data["category"], description=data["description"],
            lon=data.get("lon"), lat=data.get("lat"), address=data.get("address") or "",
            level=data.get("level"), reporter_name=data.get("reporter_name") or "",
            callback_phone=data.get("callback_phone") or "",
            handled_on_spot=bool(data.get("handled_on_spot")), source_key=source_key,
            photos=request.FILES.getlist("photos"), request_id=request_id_of(request),
            # Staff choose what is public: an empty field publishes no description.
            public_description=data.get("public_description") or "",
        )
    except ApplicationError as error:
        field = error.field if error.field in form.fields else None
        if error.field in {"lon", "lat"}:
            field = "address"
        form.add_error(field, error.message)
        return None
    return case


@staff_required
@require_http_methods(["GET", "POST"])
def report(request: StaffRequest) -> HttpResponse:
    user = request.user
    if not _may_report(user):
        raise ApplicationError(ErrorCode.PERMISSION_DENIED, _("当前角色不能上报事件"))
    on_spot = user.role == Role.GRID_WORKER
    tree = selectors.category_tree()
    form = ReportForm(request.POST or None, tree=tree, on_spot=on_spot)
    if request.method == "POST" and form.is_valid():
        case = _open_from_form(request, form, source=_report_source(user))
        if case is not None:
            messages.success(request, _("事件 %(number)s 已上报。") % {"number": case.number})
            return redirect("cases:case", case_id=case.pk)
    return render(request, "cases/report.html", {"form": form, "tree": tree, "hotline": False},
                  status=400 if form.errors else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def hotline(request: StaffRequest) -> HttpResponse:
    user = request.user
    if not workflow.may_open(CaseSource.HOTLINE, user.role):
        raise ApplicationError(ErrorCode.PERMISSION_DENIED, _("当前角色不能录入热线工单"))
    tree = selectors.category_tree()
    form = HotlineForm(request.POST or None, tree=tree, on_spot=False)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data.get("hotline_number") or ""
        case = _open_from_form(request, form, source=CaseSource.HOTLINE,
                               source_key=f"12345:{number}" if number else "")
        if case is not None:
            messages.success(request, _("热线工单已录入为事件 %(number)s。") % {"number": case.number})
            return redirect("cases:case", case_id=case.pk)
    return render(request, "cases/report.html", {"form": form, "tree": tree, "hotline": True},
                  status=400 if form.errors else 200)


def _cell(value: float | int | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:.1f}"
    return str(value)


def _cells(values: dict[str, float | int | None]) -> SafeString:
    """A row's cells as HTML, joined here: a street's table is ~600 cells, and one template
    variable per cell was most of the page's time once the table itself is kept."""
    cells = "".join(f'<td class="num">{html.escape(_cell(values.get(key), kind))}</td>' for key, _label, kind in INDICATORS)
    return mark_safe(cells)  # noqa: S308 -- every cell escaped on the line above


def _statistics(request: StaffRequest) -> tuple[StatisticsForm, Any]:
    form = StatisticsForm(request.GET or None)
    group_by, start, end, compare = form.period(default_period())
    table = case_statistics_for_user(user=request.user, group_by=group_by, start=start, end=end, compare=compare,
                                     kept=True)
    return form, table


@staff_required
@require_GET
def statistics(request: StaffRequest) -> HttpResponse:
    try:
        form, table = _statistics(request)
    except ApplicationError as error:
        form, table = StatisticsForm(), None
        messages.error(request, error.message)
    chart = None
    if table is not None:
        chart = {
            "labels": [row.label for row in table.rows],
            "series": [{"key": key, "name": label, "kind": kind,
                        "values": [row.values.get(key) for row in table.rows],
                        "previous": [row.previous.get(key) if row.previous else None for row in table.rows]}
                       for key, label, kind in INDICATORS],
            "compare": table.compare,
        }
    return render(request, "cases/statistics.html", {
        "form": form, "table": table, "indicators": INDICATORS, "chart": chart,
        "rows": [(row.label, _cells(row.values)) for row in table.rows] if table else [],
        "total": (table.total.label, _cells(table.total.values)) if table and table.total else None,
        "group_label": GROUP_LABELS.get(table.group_by, "") if table else "",
        "has_echarts": _has_static("vendor/echarts/echarts.min.js"),
        "query": request.GET.urlencode(),
    })


@staff_required
@require_GET
def statistics_xlsx(request: StaffRequest) -> HttpResponse:
    _form, table = _statistics(request)
    title = _("事件统计 %(start)s 至 %(end)s") % {"start": table.start, "end": table.end}
    body = case_statistics_xlsx(table, title=title)
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="case-statistics-{stamp}.xlsx"'
    return response
