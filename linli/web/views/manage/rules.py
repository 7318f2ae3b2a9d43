"""Dispatch rules and case categories with their deadlines."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.access import StaffRequest, request_id_of
from linli.accounts.selectors import areas_managed_by
from linli.cases.models import Category, DispatchRule
from linli.cases.selectors import (
    category_get,
    category_tree,
    dispatch_rule_get_for_user,
    dispatch_rule_list_for_user,
)
from linli.cases.services.reference import (
    CategorySettings,
    RuleSettings,
    category_create,
    category_update,
    dispatch_rule_create,
    dispatch_rule_update,
)
from linli.web.manage_forms import CategoryForm, RuleForm
from linli.web.views.manage import admin_required, submit

_SETTINGS = ("name", "default_level", "register_hours", "dispatch_hours", "handle_amount", "handle_unit",
             "verify_hours", "close_hours", "department", "active")


@admin_required
@require_GET
def rules(request: StaffRequest) -> HttpResponse:
    return render(request, "web/manage/rules.html", {"rules": dispatch_rule_list_for_user(user=request.user)})


def _rule_settings(data: dict[str, Any]) -> RuleSettings:
    return RuleSettings(category=data["category"], area=data["area"], target=data["target"],
                        department=data["department"], priority=data["priority"],
                        approval_min_level=data["approval_min_level"], active=data["active"])


@admin_required
@require_http_methods(["GET", "POST"])
def rule(request: StaffRequest, rule_id: int | None = None) -> HttpResponse:
    """A new rule (no ``rule_id``) or one to change."""
    found: DispatchRule | None = dispatch_rule_get_for_user(user=request.user, rule_id=rule_id) if rule_id else None
    initial: dict[str, Any] = {"active": True} if found is None else {
        "category": found.category_id, "area": found.area_id, "target": found.target,
        "department": found.department_id, "priority": found.priority,
        "approval_min_level": found.approval_min_level, "active": found.active}
    form = RuleForm(request.POST or None, initial=initial, areas=areas_managed_by(user=request.user))
    if request.method == "POST" and form.is_valid():
        settings = _rule_settings(form.cleaned_data)
        rid = request_id_of(request)
        saved = submit(form, lambda: dispatch_rule_update(actor=request.user, rule=found, settings=settings, request_id=rid)
                       if found is not None else
                       dispatch_rule_create(actor=request.user, settings=settings, request_id=rid))
        if saved is not None:
            messages.success(request, _("已保存派遣规则。"))
            return redirect("web:manage-rules")
    return render(request, "web/manage/rule.html", {"rule": found, "form": form})


@admin_required
@require_GET
def categories(request: StaffRequest) -> HttpResponse:
    return render(request, "web/manage/categories.html", {"nodes": category_tree(include_inactive=True)})


def _category_settings(data: dict[str, Any]) -> CategorySettings:
    return CategorySettings(**{name: data[name] for name in _SETTINGS})


@admin_required
@require_http_methods(["GET", "POST"])
def category(request: StaffRequest, category_id: int | None = None) -> HttpResponse:
    """A new category (no ``category_id``) or one to change."""
    found: Category | None = category_get(category_id=category_id) if category_id else None
    initial: dict[str, Any] = {"active": True}
    if found is not None:
        initial = {name: getattr(found, name) for name in _SETTINGS}
    elif request.GET.get("parent", "").isdigit():
        initial["parent"] = int(request.GET["parent"])
    form = CategoryForm(request.POST or None, initial=initial, creating=found is None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        settings = _category_settings(data)
        rid = request_id_of(request)
        saved = submit(form, lambda: category_update(actor=request.user, category=found, settings=settings, request_id=rid)
                       if found is not None else
                       category_create(actor=request.user, parent=data["parent"], code=data["code"],
                                       domain=data["domain"] or "", settings=settings, request_id=rid))
        if saved is not None:
            messages.success(request, _("已保存事件类别 %(name)s。") % {"name": saved.name})
            return redirect("web:manage-categories")
    return render(request, "web/manage/category.html", {"category": found, "form": form})
