"""Accounts as the district administrator keeps them: create, change role and department,
deactivate, set a password, bind to areas (grid workers as A角/B角 of a grid).

A person acting needs ``manage_accounts`` and may only touch accounts whose areas all lie in
their own scope, and bind accounts only to areas in it; superusers are left to superusers.
System actors (commands, the demo, seeds) are not limited. Every write is audited with
field names only, never a password.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.accounts import workflow
from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.accounts.models import AreaAssignment, Department, LoginThrottle, User
from linli.accounts.selectors import AreaScope, scope_for
from linli.accounts.services.login import username_counters
from linli.accounts.workflow import ADMIN_ROLES
from linli.core.actors import Actor
from linli.core.errors import ErrorCode, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.models import Area

USER = "accounts.user"


def _manager_scope(actor: Actor) -> AreaScope | None:
    """The acting person's scope when they may manage accounts (``None`` for a system actor,
    which is not limited); :class:`PermissionDenied` otherwise."""
    if not isinstance(actor, User):
        return None
    scope = scope_for(actor)
    if not scope.can(Permission.MANAGE_ACCOUNTS):
        raise PermissionDenied(_("无权管理账号"))
    return scope


def _check_user(actor: Actor, scope: AreaScope | None, user: User) -> None:
    """The actor may manage ``user``: out of scope is :class:`NotFound`, as for a read."""
    if scope is None:
        return
    if user.is_superuser and not getattr(actor, "is_superuser", False):
        raise NotFound(_("账号不存在"))
    areas = set(AreaAssignment.objects.filter(user=user).values_list("area_id", flat=True))
    if not areas <= scope.area_ids:
        raise NotFound(_("账号不存在"))


def _check_area(scope: AreaScope | None, area: Area) -> None:
    if scope is not None and area.pk not in scope.area_ids:
        raise NotFound(_("区域不存在"))


def _check_department(role: str, department: Department | None) -> None:
    workflow.validate_department(role=role, has_department=department is not None)
    if department is not None and not department.active:
        raise ValidationFailed("department", _("该部门已停用"))


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as error:
        raise ValidationFailed("password", " ".join(error.messages)) from None


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    role: Role,
    display_name: str = "",
    department: Department | None = None,
    areas: Iterable[tuple[Area, AssignmentKind]] = (),
    is_superuser: bool = False,
    request_id: str = "",
) -> User:
    """Create a user bound to areas; ``password=None`` leaves the account unusable until set.

    A person's password must pass the site's validators (commands check their own)."""
    scope = _manager_scope(actor)
    username = username.strip()
    if not username:
        raise ValidationFailed("username", _("用户名不能为空"))
    if role not in Role.values:
        raise ValidationFailed("role", _("未知的角色"))
    if is_superuser and scope is not None and not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("只有超级管理员可以创建超级管理员"))
    _check_department(role, department)
    bindings = list(areas)
    for area, kind in bindings:
        _check_area(scope, area)
        workflow.validate_assignment(role=role, area_level=area.level, kind=kind)
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationFailed("username", _("用户名已存在"), code=ErrorCode.CONFLICT)
        # Only district admins and superusers may enter Django's admin.
        user = User(
            username=username, role=role, display_name=display_name.strip(), department=department,
            is_staff=is_superuser or role in ADMIN_ROLES, is_superuser=is_superuser,
        )
        if password is None:
            user.set_unusable_password()
        else:
            if scope is not None:
                _check_password(password, user)
            user.set_password(password)
        user.save()
        for area, kind in bindings:
            assignment_create(actor=actor, user=user, area=area, kind=kind, request_id=request_id)
        audit_record(actor=actor, action="user.create", target_type=USER, target_id=user.pk,
                     fields=["username", "role", *(["department"] if department else [])], request_id=request_id)
    return user


def user_update(
    *, actor: Actor, user: User, display_name: str, role: Role, department: Department | None,
    request_id: str = "",
) -> User:
    """Change a user's name, role and department. The role must suit the areas the user is
    bound to (change those first); nobody changes their own role."""
    scope = _manager_scope(actor)
    if role not in Role.values:
        raise ValidationFailed("role", _("未知的角色"))
    if department is None or department.pk != user.department_id:
        _check_department(role, department)
    else:  # keeping a department that was deactivated since is not a new choice
        workflow.validate_department(role=role, has_department=True)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _check_user(actor, scope, locked)
        if role != locked.role and actor.pk == locked.pk:
            raise ValidationFailed("role", _("不能修改自己的角色"))
        for assignment in AreaAssignment.objects.filter(user=locked).select_related("area"):
            try:
                workflow.validate_assignment(role=role, area_level=assignment.area.level, kind=assignment.kind)
            except ValidationFailed:
                raise ValidationFailed("role", _("该角色与账号已绑定的区域“%(area)s”不符,请先调整区域")
                                       % {"area": assignment.area.name}) from None
        values = {"display_name": display_name.strip(), "role": role, "department_id": department.pk if department else None}
        changed = [name for name, value in values.items() if getattr(locked, name) != value]
        if changed:
            for name, value in values.items():
                setattr(locked, name, value)
            if not locked.is_superuser:
                locked.is_staff = role in ADMIN_ROLES
            locked.save(update_fields=[*changed, "is_staff", "updated_at"])
            audit_record(actor=actor, action="user.update", target_type=USER, target_id=locked.pk,
                         fields=[name.removesuffix("_id") for name in changed], request_id=request_id)
    return locked


def user_set_active(*, actor: Actor, user: User, active: bool, request_id: str = "") -> User:
    """Deactivate an account (it keeps its history and may be reactivated) or reactivate it.
    An inactive account cannot log in and sees nothing; nobody deactivates themselves."""
    scope = _manager_scope(actor)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _check_user(actor, scope, locked)
        if not active and actor.pk == locked.pk:
            raise ValidationFailed("is_active", _("不能停用自己的账号"))
        if locked.is_active != active:
            locked.is_active = active
            locked.save(update_fields=["is_active", "updated_at"])
            audit_record(actor=actor, action="user.activate" if active else "user.deactivate",
                         target_type=USER, target_id=locked.pk, fields=["is_active"], request_id=request_id)
    return locked


def user_set_password(*, actor: Actor, user: User, password: str, request_id: str = "") -> User:
    """Set a new password (checked by the site's validators) and lift a login lock on the
    account, so that its owner can log in with it at once."""
    scope = _manager_scope(actor)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _check_user(actor, scope, locked)
        _check_password(password, locked)
        locked.set_password(password)
        locked.save(update_fields=["password", "updated_at"])
        LoginThrottle.objects.filter(username_counters(locked.get_username())).delete()
        audit_record(actor=actor, action="user.set_password", target_type=USER, target_id=locked.pk,
                     fields=["password"], request_id=request_id)
    return locked


def assignment_create(
    *, actor: Actor, user: User, area: Area, kind: AssignmentKind, request_id: str = "",
) -> AreaAssignment:
    """Bind a user to an area: a grid worker as the responsible (A角) or backup (B角) worker
    of a grid (one A角 per grid), everyone else as a member of an area of their level."""
    scope = _manager_scope(actor)
    _check_area(scope, area)
    workflow.validate_assignment(role=user.role, area_level=area.level, kind=kind)
    with transaction.atomic():
        if scope is not None:
            _check_user(actor, scope, user)
        try:
            with transaction.atomic():
                assignment = AreaAssignment.objects.create(user=user, area=area, kind=kind)
        except IntegrityError:
            raise ValidationFailed(
                "area", _("该区域已有主责网格员或该用户已绑定此区域"), code=ErrorCode.CONFLICT,
            ) from None
        audit_record(actor=actor, action="user.assign_area", target_type=USER,
                     target_id=user.pk, fields=["area", "kind"], request_id=request_id)
    return assignment


def assignment_delete(*, actor: Actor, assignment: AreaAssignment, request_id: str = "") -> None:
    """Unbind a user from an area (the user's history stays)."""
    scope = _manager_scope(actor)
    with transaction.atomic():
        locked = AreaAssignment.objects.select_for_update().select_related("user", "area").get(pk=assignment.pk)
        _check_user(actor, scope, locked.user)
        locked.delete()
        audit_record(actor=actor, action="user.unassign_area", target_type=USER,
                     target_id=locked.user_id, fields=["area", "kind"], request_id=request_id)
