"""Accounts and departments: list, create, change role and department, (de)activate, set a
password, bind to areas (grid workers as A角/B角)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts import services
from linli.accounts.access import StaffRequest, request_id_of
from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.accounts.selectors import (
    areas_managed_by,
    assignments_of,
    department_get,
    department_list,
    user_get_for_user,
    user_list_for_user,
)
from linli.core.errors import NotFound, ValidationFailed
from linli.web.manage_forms import (
    AccountCreateForm,
    AccountEditForm,
    AssignmentForm,
    DepartmentForm,
    PasswordForm,
)
from linli.web.views.manage import admin_required, submit

PAGE_SIZE = 50


@admin_required
@require_GET
def accounts(request: StaffRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    role = request.GET.get("role", "")
    role = role if role in Role.values else ""
    department = request.GET.get("department", "")
    status = request.GET.get("status", "")
    rows = user_list_for_user(
        user=request.user, q=q, role=role, department_id=int(department) if department.isdigit() else None,
        active={"active": True, "inactive": False}.get(status),
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/manage/accounts.html", {
        "page": page, "q": q, "role": role, "roles": Role.choices, "department": department,
        "departments": department_list(), "status": status,
    })


@admin_required
@require_http_methods(["GET", "POST"])
def account_new(request: StaffRequest) -> HttpResponse:
    areas = areas_managed_by(user=request.user)
    form = AccountCreateForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        bindings = [(data["area"], AssignmentKind(data["kind"]))] if data["area"] else []
        user = submit(form, lambda: services.user_create(
            actor=request.user, username=data["username"], password=data["password1"], role=Role(data["role"]),
            display_name=data["display_name"], department=data["department"], areas=bindings,
            request_id=request_id_of(request),
        ))
        if user is not None:
            messages.success(request, _("已创建账号 %(name)s。") % {"name": user.username})
            return redirect("web:manage-account", user_id=user.pk)
    return render(request, "web/manage/account_new.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def account(request: StaffRequest, user_id: int) -> HttpResponse:
    """One account: its identity, status, password and areas, each a form of its own."""
    target = user_get_for_user(user=request.user, user_id=user_id)
    areas = areas_managed_by(user=request.user)
    rid = request_id_of(request)
    edit = AccountEditForm(initial={"display_name": target.display_name, "role": target.role,
                                    "department": target.department})
    password, assign = PasswordForm(), AssignmentForm(areas=areas)
    action = request.POST.get("form", "")
    if request.method == "POST":
        done: object | None = None
        if action == "edit":
            edit = AccountEditForm(request.POST)
            if edit.is_valid():
                data = edit.cleaned_data
                done = submit(edit, lambda: services.user_update(
                    actor=request.user, user=target, display_name=data["display_name"], role=Role(data["role"]),
                    department=data["department"], request_id=rid))
        elif action == "password":
            password = PasswordForm(request.POST)
            if password.is_valid():
                done = submit(password, lambda: services.user_set_password(
                    actor=request.user, user=target, password=password.cleaned_data["password1"], request_id=rid))
        elif action == "assign":
            assign = AssignmentForm(request.POST, areas=areas)
            if assign.is_valid():
                data = assign.cleaned_data
                done = submit(assign, lambda: services.assignment_create(
                    actor=request.user, user=target, area=data["area"], kind=AssignmentKind(data["kind"]),
                    request_id=rid))
        elif action in ("activate", "deactivate"):
            done = _set_active(request, target.pk, active=action == "activate")
        if done is not None:
            messages.success(request, _("已保存。"))
            return redirect("web:manage-account", user_id=target.pk)
    return render(request, "web/manage/account.html", {
        "target": target, "assignments": assignments_of(user=target), "edit": edit, "password": password,
        "assign": assign, "is_self": target.pk == request.user.pk,
    })


def _set_active(request: StaffRequest, user_id: int, *, active: bool) -> object | None:
    target = user_get_for_user(user=request.user, user_id=user_id)
    try:
        return services.user_set_active(actor=request.user, user=target, active=active,
                                        request_id=request_id_of(request))
    except ValidationFailed as refusal:  # deactivating oneself: said on the page
        messages.error(request, refusal.message)
        return None


@admin_required
@require_POST
def assignment_remove(request: StaffRequest, user_id: int, assignment_id: int) -> HttpResponse:
    target = user_get_for_user(user=request.user, user_id=user_id)
    assignment = AreaAssignment.objects.filter(pk=assignment_id, user=target).first()
    if assignment is None:
        raise NotFound(_("区域授权不存在"))
    services.assignment_delete(actor=request.user, assignment=assignment, request_id=request_id_of(request))
    messages.success(request, _("已解除 %(area)s 的授权。") % {"area": assignment.area.name})
    return redirect("web:manage-account", user_id=target.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def departments(request: StaffRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = submit(form, lambda: services.department_create(
            actor=request.user, code=data["code"], name=data["name"], kind=data["kind"],
            request_id=request_id_of(request)))
        if created is not None:
            messages.success(request, _("已新建部门 %(name)s。") % {"name": created.name})
            return redirect("web:manage-departments")
    return render(request, "web/manage/departments.html", {"departments": department_list(), "form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def department(request: StaffRequest, department_id: int) -> HttpResponse:
    found = department_get(department_id=department_id)
    form = DepartmentForm(request.POST or None, initial={
        "code": found.code, "name": found.name, "kind": found.kind, "active": found.active})
    form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = submit(form, lambda: services.department_update(
            actor=request.user, department=found, name=data["name"], kind=data["kind"], active=data["active"],
            request_id=request_id_of(request)))
        if saved is not None:
            messages.success(request, _("已保存。"))
            return redirect("web:manage-departments")
    return render(request, "web/manage/department.html", {"department": found, "form": form,
                                                           "staff_count": found.staff.count()})
