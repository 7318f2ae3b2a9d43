"""Writes of the case reference data a district administrator keeps: categories (大类/小类)
with their level and stage deadlines, and dispatch rules (category × area → department,
team or the grid's worker).

A person needs ``manage_rules``; a rule's area must lie in their scope (a rule for any area
is a district-wide rule, which every district administrator may keep). Seeds act as system
actors. Every write is audited; the change-stamp triggers make the next case in every
process see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.models import Department, User
from linli.accounts.selectors import AreaScope, scope_for
from linli.cases import workflow
from linli.cases.choices import CategoryDomain
from linli.cases.models import Category, DispatchRule
from linli.core.actors import Actor
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area

CATEGORY = "cases.category"
RULE = "cases.dispatchrule"


def _scope(actor: Actor) -> AreaScope | None:
    """The acting person's scope when they may keep the reference data; ``None`` for a
    system actor."""
    if not isinstance(actor, User):
        return None
    scope = scope_for(actor)
    if not scope.can(Permission.MANAGE_RULES):
        raise PermissionDenied(_("无权管理事件类别和派遣规则"))
    return scope


@dataclass(frozen=True)
class CategorySettings:
    """What an administrator sets on a category: name, level, deadlines, department."""

    name: str
    default_level: int
    register_hours: int
    dispatch_hours: int
    handle_amount: int
    handle_unit: str
    verify_hours: int
    close_hours: int
    department: Department | None
    active: bool = True

    def check(self) -> str:
        name = self.name.strip()
        if not name or len(name) > 50:
            raise ValidationFailed("name", _("类别名称须为1到50字"))
        workflow.validate_category_settings(
            default_level=self.default_level, register_hours=self.register_hours,
            dispatch_hours=self.dispatch_hours, handle_amount=self.handle_amount, handle_unit=self.handle_unit,
            verify_hours=self.verify_hours, close_hours=self.close_hours,
        )
        return name

    def values(self) -> dict[str, object]:
        return {"name": self.name.strip(), "default_level": self.default_level,
                "register_hours": self.register_hours, "dispatch_hours": self.dispatch_hours,
                "handle_amount": self.handle_amount, "handle_unit": self.handle_unit,
                "verify_hours": self.verify_hours, "close_hours": self.close_hours,
                "department_id": self.department.pk if self.department else None, "active": self.active}


def category_create(
    *, actor: Actor, parent: Category | None, code: str, domain: str, settings: CategorySettings,
    request_id: str = "",
) -> Category:
    """A new 大类 (no parent) or 小类 (under a 大类, in its domain)."""
    _scope(actor)
    code = code.strip()
    if not code or len(code) > 20 or not code.isascii() or not code.isalnum():
        raise ValidationFailed("code", _("类别编码须为1到20位字母或数字"))
    if parent is not None and parent.parent_id is not None:
        raise ValidationFailed("parent", _("小类只能建在大类之下"))
    if parent is not None:
        domain = parent.domain
    if domain not in CategoryDomain.values:
        raise ValidationFailed("domain", _("未知的领域"))
    settings.check()
    with transaction.atomic():
        if Category.objects.filter(code=code).exists():
            raise ValidationFailed("code", _("类别编码已存在"), code=ErrorCode.CONFLICT)
        order = Category.objects.filter(parent=parent).count()
        category = Category.objects.create(parent=parent, code=code, domain=domain, order=order, **settings.values())
        audit_record(actor=actor, action="category.create", target_type=CATEGORY, target_id=category.pk,
                     fields=["code", "parent", "domain", *settings.values()], request_id=request_id)
    return category


def category_update(*, actor: Actor, category: Category, settings: CategorySettings, request_id: str = "") -> Category:
    """Change a category's name, level, deadlines, department or whether it is in use. The
    deadlines apply to stages that start afterwards; running stages keep theirs."""
    _scope(actor)
    settings.check()
    with transaction.atomic():
        locked = Category.objects.select_for_update().get(pk=category.pk)
        values = settings.values()
        changed = [key for key, value in values.items() if getattr(locked, key) != value]
        if changed:
            for key in changed:
                setattr(locked, key, values[key])
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(actor=actor, action="category.update", target_type=CATEGORY, target_id=locked.pk,
                         fields=[key.removesuffix("_id") for key in changed], request_id=request_id)
    return locked


@dataclass(frozen=True)
class RuleSettings:
    """A dispatch rule as an administrator sets it (``None``: any category / any area)."""

    category: Category | None
    area: Area | None
    target: str
    department: Department | None
    priority: int = 100
    approval_min_level: int = workflow.APPROVAL_OFF
    active: bool = True

    def check(self, scope: AreaScope | None) -> None:
        workflow.validate_dispatch_rule(target=self.target, has_department=self.department is not None,
                                        priority=self.priority, approval_min_level=self.approval_min_level)
        if self.department is not None and not self.department.active:
            raise ValidationFailed("department", _("该部门已停用"))
        if scope is not None and self.area is not None and self.area.pk not in scope.area_ids:
            raise NotFound(_("区域不存在"))

    def values(self) -> dict[str, object]:
        return {"category_id": self.category.pk if self.category else None,
                "area_id": self.area.pk if self.area else None, "target": self.target,
                "department_id": self.department.pk if self.department else None, "priority": self.priority,
                "approval_min_level": self.approval_min_level, "active": self.active}


def _rule_in_scope(scope: AreaScope | None, rule: DispatchRule) -> None:
    if scope is not None and rule.area_id is not None and rule.area_id not in scope.area_ids:
        raise NotFound(_("派遣规则不存在"))


def dispatch_rule_create(*, actor: Actor, settings: RuleSettings, request_id: str = "") -> DispatchRule:
    """A new rule; the most specific matching rule wins (小类 over 大类 over any, the deeper
    area, then the higher priority)."""
    scope = _scope(actor)
    settings.check(scope)
    with transaction.atomic():
        rule = DispatchRule.objects.create(**settings.values())
        audit_record(actor=actor, action="dispatch_rule.create", target_type=RULE, target_id=rule.pk,
                     fields=[key.removesuffix("_id") for key in settings.values()], request_id=request_id)
    return rule


def dispatch_rule_update(*, actor: Actor, rule: DispatchRule, settings: RuleSettings, request_id: str = "") -> DispatchRule:
    """Change a rule (or switch it off: rules are kept, so past dispatches still name theirs)."""
    scope = _scope(actor)
    settings.check(scope)
    with transaction.atomic():
        locked = DispatchRule.objects.select_for_update().get(pk=rule.pk)
        _rule_in_scope(scope, locked)
        values = settings.values()
        changed = [key for key, value in values.items() if getattr(locked, key) != value]
        if changed:
            for key in changed:
                setattr(locked, key, values[key])
            locked.save(update_fields=[*changed, "updated_at"])
            audit_record(actor=actor, action="dispatch_rule.update", target_type=RULE, target_id=locked.pk,
                         fields=[key.removesuffix("_id") for key in changed], request_id=request_id)
    return locked

