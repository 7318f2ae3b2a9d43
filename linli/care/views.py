"""Care pages (民生服务): a grid worker's day, visits, the community lists with their XLSX
exports, the rule editor with its live count, statistics.

Views parse, call one selector or service and render; every list is scoped by the selectors.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import xlsxwriter
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from linli.accounts.access import StaffRequest, staff_view
from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.care import selectors, services
from linli.care.choices import Colour
from linli.care.forms import LevelRuleForm, RuleForm, VisitForm
from linli.care.models import (
    Benefit,
    LevelRule,
    Policy,
    PolicyVersion,
    Recommendation,
    Visit,
    VisitPhoto,
    VisitPlan,
    WorkOrder,
)
from linli.care.services.sweep import versions_in_force
from linli.care.workflow import COLOUR_ORDER, DEFAULT_VISIT_DAYS, FIELDS, rule_describe
from linli.cases.models import Category
from linli.catalogue.views.access import WINDOW_ROLES
from linli.core.errors import ApplicationError, NotFound, ValidationFailed
from linli.core.services import audit_record
from linli.core.stored_files import stored_file_response
from linli.registry.map_selectors import nearest_building
from linli.registry.selectors import person_get_for_user

staff_required = staff_view()
LIST_LIMIT = 500


def _today_day(request: StaffRequest) -> date:
    return timezone.localdate()


@staff_required
def today(request: StaffRequest) -> HttpResponse:
    """The grid worker's phone page: visits due (overdue first), work orders, the red list."""
    day = _today_day(request)
    return render(request, "care/today.html", {
        "today": selectors.today_for_user(user=request.user, on=day), "day": day,
        "can_manage_rules": scope_for(request.user).can(Permission.MANAGE_RULES)})


@staff_required
@require_http_methods(["GET", "POST"])
def visit_new(request: StaffRequest, person_id: int) -> HttpResponseBase:
    person = person_get_for_user(user=request.user, person_id=person_id)
    form = VisitForm(request.POST or None, initial={"visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            visit = services.visit_record(
                actor=request.user, person_id=person.pk, visited_at=data["visited_at"], findings=form.findings(),
                notes=data["notes"], needs=data["needs"], met=data["met"], place=data["place"],
                lon=data["lon"], lat=data["lat"], photos=request.FILES.getlist("photos"))
        except ValidationFailed as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            messages.success(request, _("走访记录已保存"))
            return redirect("care:visit", visit.pk)
    return render(request, "care/visit_form.html", {"person": person, "form": form})


def _visit_for_user(request: StaffRequest, visit_id: int) -> Visit:
    visit = Visit.objects.select_related("person", "visitor").filter(
        pk=visit_id, grid_id__in=sorted(selectors.care_scope(request.user).grid_ids)).first()
    if visit is None:
        raise NotFound()
    return visit


@staff_required
def visit_page(request: StaffRequest, visit_id: int) -> HttpResponse:
    visit = _visit_for_user(request, visit_id)
    categories = Category.objects.filter(parent__isnull=False, active=True).order_by("code")
    # Where it happened in words (the nearest building), never the recorded coordinates.
    near = (nearest_building(lat=visit.lat, lon=visit.lon, user=request.user)
            if visit.lat is not None and visit.lon is not None else None)
    # Only the window's staff may file for a registered person (the catalogue's rule).
    may_apply = request.user.role in WINDOW_ROLES
    return render(request, "care/visit.html", {
        "visit": visit, "photos": list(visit.photos.all()), "categories": categories, "near": near,
        "may_apply": may_apply, "apply_items": selectors.visit_application_items(person_id=visit.person_id)})


@staff_required
@require_POST
def visit_application(request: StaffRequest, visit_id: int) -> HttpResponseBase:
    """One click: a draft application for the visited person, continued in the window's form."""
    visit = _visit_for_user(request, visit_id)
    try:
        application = services.visit_application_start(
            visit=visit, actor=request.user, item_code=request.POST.get("item", ""),
            request_id=str(getattr(request, "request_id", "")))
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("care:visit", visit.pk)
    return redirect("catalogue:application_fill", application.pk)


@staff_required
def visit_photo(request: StaffRequest, visit_id: int, photo_id: int) -> FileResponse:
    visit = _visit_for_user(request, visit_id)
    photo = VisitPhoto.objects.filter(pk=photo_id, visit=visit).first()
    if photo is None:
        raise Http404
    return stored_file_response(photo.file.open("rb"), content_type=photo.content_type,
                                filename=f"visit-{visit.pk}-photo-{photo.pk}")


@staff_required
@require_POST
def visit_case(request: StaffRequest, visit_id: int) -> HttpResponseBase:
    """One click: a case from the visit's needs."""
    visit = _visit_for_user(request, visit_id)
    try:
        case_id = services.visit_case_open(visit=visit, actor=request.user,
                                           category=request.POST.get("category", ""))
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("care:visit", visit.pk)
    return redirect("cases:case", case_id)


@staff_required
@require_POST
def work_order_done(request: StaffRequest, order_id: int) -> HttpResponseBase:
    grids = sorted(selectors.care_scope(request.user).grid_ids)
    order = WorkOrder.objects.filter(pk=order_id, grid_id__in=grids).first()
    if order is None:
        raise NotFound()
    try:
        services.work_order_close(work_order=order, actor=request.user)
    except ValidationFailed as error:
        messages.error(request, str(error.message))
    return redirect("care:today")


# --- community lists -----------------------------------------------------------------------

def _xlsx(title: str, header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    for col, text in enumerate(header):
        sheet.write(0, col, text, bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            sheet.write(r, col, "" if value is None else str(value))
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _export_allowed(request: StaffRequest, what: str, count: int) -> None:
    """Exports need the registry's export permission and are audited (masked columns only)."""
    if not scope_for(request.user).can(Permission.EXPORT_REGISTRY):
        raise PermissionDenied
    from django.db import transaction

    with transaction.atomic():
        audit_record(actor=request.user, action=f"care.export.{what}", target_type="care.list", reason=str(count))


def _download(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_required
def recommendations(request: StaffRequest) -> HttpResponse:
    """Eligible but not receiving (and birthday prompts), per grid."""
    code = request.GET.get("policy", "")
    rows: QuerySet[Recommendation] = selectors.recommendation_list_for_user(user=request.user, policy_code=code)
    if request.GET.get("format") == "xlsx":
        listed = list(rows[:50000])
        _export_allowed(request, "recommendations", len(listed))
        return _download(_xlsx(_("符合条件未享受"), [
            _("网格"), _("姓名"), _("身份证号"), _("地址"), _("政策"), _("原因"), _("发现日期")],
            [[r.person.grid.name if r.person.grid else "", r.person.name, r.person.id_number_masked,
              r.person.building.address if r.person.building else "", r.policy.name, r.reason, r.found_on]
             for r in listed]), "recommendations.xlsx")
    return render(request, "care/recommendations.html", {
        "rows": rows[:LIST_LIMIT], "count": rows.count(), "policies": Policy.objects.all(), "policy": code})


@staff_required
def expiring(request: StaffRequest) -> HttpResponse:
    rows: QuerySet[Benefit] = selectors.expiring_list_for_user(user=request.user)
    if request.GET.get("format") == "xlsx":
        listed = list(rows[:50000])
        _export_allowed(request, "expiring", len(listed))
        return _download(_xlsx(_("即将到期"), [_("网格"), _("姓名"), _("身份证号"), _("政策"), _("截止日期")],
                               [[b.person.grid.name if b.person.grid else "", b.person.name,
                                 b.person.id_number_masked, b.policy.name, b.ends_on] for b in listed]),
                         "expiring.xlsx")
    return render(request, "care/expiring.html", {"rows": rows[:LIST_LIMIT], "count": rows.count(),
                                                  "reviews": selectors.review_list_for_user(user=request.user)[:100]})


@staff_required
def statistics(request: StaffRequest) -> HttpResponse:
    grids = selectors.statistics_for_user(user=request.user)
    totals = {k: sum(getattr(g, k) for g in grids) for k in ("elders", "visited", "red", "yellow", "green", "overdue")}
    months = selectors.visit_coverage_by_month_for_user(user=request.user)
    chart = {
        "months": {"labels": [m for m, _e, _v in months], "visited": [v for _m, _e, v in months],
                   "rates": [round(100 * v / e, 1) if e else 0 for _m, e, v in months]},
        "colours": [{"key": c, "name": str(Colour(c).label), "value": totals[str(c)]} for c in COLOUR_ORDER],
    }
    return render(request, "care/statistics.html", {
        "grids": grids, "totals": totals, "coverage": selectors.benefit_coverage_for_user(user=request.user),
        "rate": totals["visited"] / totals["elders"] if totals["elders"] else 0.0, "months": months, "chart": chart})


# --- rule editor ------------------------------------------------------------------------------

def _require_rules(request: StaffRequest) -> None:
    if not scope_for(request.user).can(Permission.MANAGE_RULES):
        raise PermissionDenied


@staff_required
def rules(request: StaffRequest) -> HttpResponse:
    _require_rules(request)
    names = dict(Policy.objects.values_list("code", "name"))
    current = {v.policy_id: v for v in versions_in_force(timezone.localdate())}
    rows = [(p, current.get(p.pk), rule_describe(current[p.pk].rule, policy_names=names) if p.pk in current else "")
            for p in Policy.objects.all()]
    return render(request, "care/rules.html", {"rows": rows})


@staff_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: StaffRequest, code: str = "") -> HttpResponseBase:
    """Edit a policy's rule (a new version) or, without a code, write a new policy."""
    _require_rules(request)
    policy = Policy.objects.filter(code=code).first() if code else None
    if code and policy is None:
        raise Http404
    last: PolicyVersion | None = policy.versions.order_by("-number").first() if policy else None
    initial = {"rule": json.dumps(last.rule if last else {"all": [{"field": "age", "op": "gte", "value": 80}]},
                                  ensure_ascii=False, indent=2),
               "effective_from": timezone.localdate() + timedelta(days=1), "amount": last.amount if last else None}
    form = RuleForm(request.POST or None, initial=initial)
    new_code, new_name = request.POST.get("code", ""), request.POST.get("name", "")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        effective = data["effective_from"] or timezone.localdate()
        try:
            if policy is None:
                policy = services.policy_create(code=new_code, name=new_name, rule=data["rule"], effective_from=effective,
                                                actor=request.user, amount=data["amount"],
                                                allow_everyone=data["allow_everyone"])
            else:
                services.policy_version_create(policy=policy, rule=data["rule"], effective_from=effective,
                                               actor=request.user, amount=data["amount"], note=data["note"],
                                               allow_everyone=data["allow_everyone"])
        except ValidationFailed as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            messages.success(request, _("规则已保存，将在下一次夜间巡检生效"))
            return redirect("care:rules")
    return render(request, "care/rule_edit.html", {
        "policy": policy, "form": form, "fields": FIELDS, "versions": policy.versions.all() if policy else [],
        "new_code": new_code, "new_name": new_name})


@staff_required
@require_POST
def rule_count(request: StaffRequest) -> HttpResponse:
    """The live count (htmx): how many living persons the rule selects now, and a sample."""
    _require_rules(request)
    context: dict[str, object] = {}
    try:
        rule = json.loads(request.POST.get("rule", ""))
        services.policy_rule_check(rule)
    except json.JSONDecodeError as error:
        context["errors"] = [_("不是有效的JSON：第%(line)s行第%(col)s列") % {"line": error.lineno, "col": error.colno}]
    except ValidationFailed as error:
        context["errors"] = str(error.message).split("；")
    else:
        counted = selectors.rule_match_count(rule=rule, sample_from=scope_for(request.user))
        context.update(counted=counted, described=rule_describe(rule, policy_names=dict(
            Policy.objects.values_list("code", "name"))))
    return render(request, "care/_rule_count.html", context)


# --- three-colour rules -----------------------------------------------------------------------

@staff_required
def levels(request: StaffRequest) -> HttpResponse:
    """The 三色预警 rules in words, red first: an elder takes the first colour whose rule holds."""
    _require_rules(request)
    names = dict(Policy.objects.values_list("code", "name"))
    rows = [(rule, rule_describe(rule.rule, policy_names=names)) for rule in LevelRule.objects.all()]
    return render(request, "care/levels.html", {"rows": rows, "plans": _plans()})


def _plans() -> list[tuple[str, str, int]]:
    """(colour, its label, every N days) red → yellow → green, the defaults where unsaved."""
    saved = dict(VisitPlan.objects.values_list("colour", "every_days"))
    return [(str(c), str(Colour(c).label), saved.get(c, DEFAULT_VISIT_DAYS[c])) for c in COLOUR_ORDER]


@staff_required
@require_POST
def visit_plans(request: StaffRequest) -> HttpResponseBase:
    """Change the visit frequency of each colour (audited; the next sweep plans with it)."""
    _require_rules(request)
    wanted: dict[str, int] = {}
    for colour in COLOUR_ORDER:
        raw = request.POST.get(f"every_days_{colour}", "").strip()
        if not raw.isdigit():
            messages.error(request, _("走访周期须为1到366天"))
            return redirect("care:levels")
        wanted[str(colour)] = int(raw)
    try:
        services.visit_plans_update(every_days=wanted, actor=request.user)
    except ValidationFailed as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("走访频次已保存，将在下一次夜间巡检生效"))
    return redirect("care:levels")


@staff_required
@require_http_methods(["GET", "POST"])
def level_edit(request: StaffRequest, rule_id: int | None = None) -> HttpResponseBase:
    """Add a colour rule, or change one's colour, name and condition, with the live count;
    the next sweep applies it."""
    _require_rules(request)
    level_rule = None
    initial: dict[str, object] = {"colour": "red", "rule": "{}"}
    if rule_id is not None:
        level_rule = LevelRule.objects.filter(pk=rule_id).first()
        if level_rule is None:
            raise Http404
        initial = {"colour": level_rule.colour, "name": level_rule.name,
                   "rule": json.dumps(level_rule.rule, ensure_ascii=False, indent=2)}
    form = LevelRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if level_rule is None:
                services.level_rule_create(colour=data["colour"], name=data["name"], rule=data["rule"],
                                           actor=request.user)
            else:
                services.level_rule_update(level_rule=level_rule, rule=data["rule"], name=data["name"],
                                           colour=data["colour"] or level_rule.colour, actor=request.user)
        except ValidationFailed as error:
            form.add_error("rule" if error.field == "rule" else None, str(error.message))
        else:
            messages.success(request, _("三色规则已保存，将在下一次夜间巡检生效"))
            return redirect("care:levels")
    return render(request, "care/level_edit.html", {"level_rule": level_rule, "form": form, "fields": FIELDS})


@staff_required
@require_POST
def level_delete(request: StaffRequest, rule_id: int) -> HttpResponseBase:
    _require_rules(request)
    level_rule = LevelRule.objects.filter(pk=rule_id).first()
    if level_rule is None:
        raise Http404
    services.level_rule_delete(level_rule=level_rule, actor=request.user)
    messages.success(request, _("三色规则已删除，将在下一次夜间巡检生效"))
    return redirect("care:levels")


@staff_required
@require_POST
def level_move(request: StaffRequest, rule_id: int) -> HttpResponseBase:
    _require_rules(request)
    level_rule = LevelRule.objects.filter(pk=rule_id).first()
    if level_rule is None:
        raise Http404
    services.level_rule_move(level_rule=level_rule, up=request.POST.get("direction") != "down", actor=request.user)
    return redirect("care:levels")
