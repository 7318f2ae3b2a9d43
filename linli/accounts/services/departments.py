"""Departments (民政办, 残联, 城管执法中队 …): the one identity that staff, cases, dispatch
rules, case categories and service items share. Created and changed by a person who may
manage accounts, or by seeds as a system actor; deactivated, never deleted (cases keep it)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from linli.accounts.choices import DepartmentKind, Permission
from linli.accounts.departments_seed import seed_department_for
from linli.accounts.models import Department, User
from linli.accounts.selectors import scope_for
from linli.core.actors import Actor
from linli.core.errors import ErrorCode, PermissionDenied, ValidationFailed
from linli.core.services import audit_record

DEPARTMENT = "accounts.department"


def _require_manager(actor: Actor) -> None:
    if isinstance(actor, User) and not scope_for(actor).can(Permission.MANAGE_ACCOUNTS):
        raise PermissionDenied(_("无权管理部门"))


def _clean(name: str, kind: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("请填写部门名称"))
    if len(name) > 100:
        raise ValidationFailed("name", _("部门名称不能超过100字"))
    if kind not in DepartmentKind.values:
        raise ValidationFailed("kind", _("未知的部门类型"))
    return name


def department_create(*, actor: Actor, code: str, name: str, kind: str = DepartmentKind.AGENCY,
                      request_id: str = "") -> Department:
    """A new department; its code (letters, digits, ``-``/``_``) never changes afterwards."""
    _require_manager(actor)
    code = code.strip()
    if not code or len(code) > 50 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise ValidationFailed("code", _("部门编码须为1到50位字母、数字、-或_"))
    name = _clean(name, kind)
    with transaction.atomic():
        if Department.objects.filter(code=code).exists():
            raise ValidationFailed("code", _("部门编码已存在"), code=ErrorCode.CONFLICT)
        department = Department.objects.create(code=code, name=name, kind=kind)
        audit_record(actor=actor, action="department.create", target_type=DEPARTMENT, target_id=department.pk,
                     fields=["code", "name", "kind"], request_id=request_id)
    return department


def department_update(*, actor: Actor, department: Department, name: str, kind: str, active: bool,
                      request_id: str = "") -> Department:
    """Rename a department, change its kind, or (de)activate it: an inactive department is
    offered to nobody for dispatch or for new staff, and keeps its cases and items."""
    _require_manager(actor)
    name = _clean(name, kind)
    with transaction.atomic():
        locked = Department.objects.select_for_update().get(pk=department.pk)
        values = {"name": name, "kind": kind, "active": active}
        changed = [key for key, value in values.items() if getattr(locked, key) != value]
        if changed:
            for key in changed:
                setattr(locked, key, values[key])
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(actor=actor, action="department.update", target_type=DEPARTMENT, target_id=locked.pk,
                         fields=changed, request_id=request_id)
    return locked


def department_named(*, actor: Actor, text: str) -> Department:
    """The department ``text`` names — by code, name, or a seed department's short name
    (条线: "民政" is 民政办) — created from the seed list when a seed department is missing.
    For seeds and the demo, which write service items and accounts by short name."""
    text = text.strip()
    found = Department.objects.filter(code=text).first() or Department.objects.filter(name=text).first()
    if found is not None:
        return found
    seed = seed_department_for(text)
    if seed is None:
        raise ValidationFailed("department", _("部门“%(name)s”不存在") % {"name": text})
    existing = Department.objects.filter(code=seed.code).first()
    if existing is not None:
        return existing
    return department_create(actor=actor, code=seed.code, name=seed.name, kind=seed.kind)
