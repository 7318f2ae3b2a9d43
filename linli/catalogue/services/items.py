"""Writes of the catalogue itself: items and their immutable published versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import Department
from linli.catalogue.choices import ItemKind, ItemLevel
from linli.catalogue.forms_schema import form_fields, validate_form_definition
from linli.catalogue.models import ServiceItem, ServiceItemVersion
from linli.catalogue.rules import facts_used, validate_rule
from linli.catalogue.services.shared import _role, _user
from linli.core.actors import Actor, SystemActor
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.services import audit_record

_MATERIAL_KEYS = {"code", "name", "required", "example", "accept"}


def _require_catalogue_admin(actor: Actor) -> None:
    # Seed commands run as system actors; people need the district admin role.
    if isinstance(actor, SystemActor):
        return
    if _role(actor) != Role.DISTRICT_ADMIN:
        raise PermissionDenied(_("只有区级管理员可以维护事项目录"))


def item_create(
    *, actor: Actor, code: str, name: str, department: Department, level: str, kind: str,
    search_keywords: str = "", request_id: str = "",
) -> ServiceItem:
    """A new (empty) catalogue item; its definition comes with ``item_publish_version``."""
    _require_catalogue_admin(actor)
    code, name = code.strip(), name.strip()
    if not code:
        raise ValidationFailed("code", _("请填写事项编码"))
    if not name:
        raise ValidationFailed("name", _("请填写事项名称"))
    if level not in ItemLevel.values:
        raise ValidationFailed("level", _("事项层级无效"))
    if kind not in ItemKind.values:
        raise ValidationFailed("kind", _("办件类型无效"))
    with transaction.atomic():
        if ServiceItem.objects.filter(code=code).exists():
            raise ValidationFailed("code", _("事项编码已存在"), code="conflict")
        item = ServiceItem.objects.create(
            code=code, name=name, department=department, level=level, kind=kind,
            search_keywords=search_keywords.strip(),
        )
        audit_record(actor=actor, action="catalogue.item.create", target_type="catalogue.item",
                     target_id=item.pk, fields=["code", "name", "department", "level", "kind"],
                     request_id=request_id)
    return item


def item_update(
    *, actor: Actor, item: ServiceItem, changes: Mapping[str, Any], request_id: str = "",
) -> ServiceItem:
    """Change an item's descriptive fields (name, department, level, kind, active, keywords)."""
    _require_catalogue_admin(actor)
    allowed = {"name", "department", "level", "kind", "active", "search_keywords"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], _("该字段不可修改"))
    if "level" in changes and changes["level"] not in ItemLevel.values:
        raise ValidationFailed("level", _("事项层级无效"))
    if "kind" in changes and changes["kind"] not in ItemKind.values:
        raise ValidationFailed("kind", _("办件类型无效"))
    if "name" in changes and not str(changes["name"]).strip():
        raise ValidationFailed("name", _("不能为空"))
    if "department" in changes and not isinstance(changes["department"], Department):
        raise ValidationFailed("department", _("请选择主管部门"))
    with transaction.atomic():
        item = ServiceItem.objects.select_for_update().get(pk=item.pk)
        for key, value in changes.items():
            setattr(item, key, value if isinstance(value, Department) else
                    value.strip() if isinstance(value, str) else bool(value))
        item.save()
        audit_record(actor=actor, action="catalogue.item.update", target_type="catalogue.item",
                     target_id=item.pk, fields=sorted(changes), request_id=request_id)
    return item


def validate_materials(materials: Any) -> list[str]:
    """Problems of a materials list ``[{code, name, required, example, accept}]``."""
    if not isinstance(materials, list):
        return [_("材料须为列表")]
    errors: list[str] = []
    codes: set[str] = set()
    for index, m in enumerate(materials):
        where = f"materials[{index}]"
        if not isinstance(m, Mapping):
            errors.append(_("%(w)s: 材料须为对象") % {"w": where})
            continue
        if set(m) - _MATERIAL_KEYS:
            errors.append(_("%(w)s: 未知键") % {"w": where})
        code = m.get("code")
        if not isinstance(code, str) or not code or code in codes:
            errors.append(_("%(w)s: 材料编码无效或重复") % {"w": where})
        else:
            codes.add(code)
        if not isinstance(m.get("name"), str) or not m.get("name"):
            errors.append(_("%(w)s: 缺少材料名称") % {"w": where})
        accept = m.get("accept", ["image", "pdf"])
        if not isinstance(accept, list) or not accept or not set(accept) <= {"image", "pdf"}:
            errors.append(_("%(w)s: accept 只能是 image / pdf") % {"w": where})
    return errors


def item_publish_version(
    *,
    actor: Actor,
    item: ServiceItem,
    time_limit_days: int,
    promised_days: int | None = None,
    conditions: str = "",
    materials: list[dict[str, Any]],
    fees: str = "不收费",
    legal_basis: str = "",
    steps: list[str],
    form: dict[str, Any],
    rules: dict[str, Any] | None = None,
    request_id: str = "",
) -> ServiceItemVersion:
    """Publish a new immutable version and make it current. District admins only.

    Applications keep the version they were filed under, so a change never rewrites
    what a resident already submitted.
    """
    _require_catalogue_admin(actor)
    promised = time_limit_days if promised_days is None else promised_days
    if not isinstance(time_limit_days, int) or isinstance(time_limit_days, bool) or not 0 <= time_limit_days <= 365:
        raise ValidationFailed("time_limit_days", _("法定时限须为0到365个工作日"))
    if not isinstance(promised, int) or isinstance(promised, bool) or not 0 <= promised <= time_limit_days:
        raise ValidationFailed("promised_days", _("承诺时限不能超过法定时限"))
    errors = validate_materials(materials)
    if errors:
        raise ValidationFailed("materials", "; ".join(errors))
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ValidationFailed("steps", _("办理流程须为文本列表"))
    errors = validate_form_definition(form)
    if errors:
        raise ValidationFailed("form", "; ".join(errors))
    codes = {m["code"] for m in materials}
    for f in form_fields(form):
        if f["type"] == "upload" and f["material"] not in codes:
            raise ValidationFailed("form", _("上传字段 %(key)s 引用了未列出的材料 %(m)s")
                                   % {"key": f["key"], "m": f["material"]})
    if rules is not None:
        errors = validate_rule(rules)
        if errors:
            raise ValidationFailed("rules", "; ".join(errors))
        keys = {f["key"] for f in form_fields(form)}
        for fact in facts_used(rules):
            if fact.startswith("application.") and fact.removeprefix("application.") not in keys:
                raise ValidationFailed("rules", _("规则引用了表单中没有的字段 %(f)s") % {"f": fact})
    with transaction.atomic():
        locked = ServiceItem.objects.select_for_update().get(pk=item.pk)
        last = locked.versions.order_by("-version").values_list("version", flat=True).first() or 0
        version = ServiceItemVersion.objects.create(
            item=locked, version=last + 1, time_limit_days=time_limit_days, promised_days=promised,
            conditions=conditions, materials=materials, fees=fees, legal_basis=legal_basis,
            steps=steps, form=form, rules=rules, created_by=_user(actor), published_at=timezone.now(),
        )
        locked.current_version = version
        locked.save(update_fields=["current_version", "updated_at"])
        audit_record(actor=actor, action="catalogue.item.publish", target_type="catalogue.item",
                     target_id=locked.pk, fields=["version", "form", "materials", "rules"],
                     reason=f"v{version.version}", request_id=request_id)
    item.current_version = version
    return version
