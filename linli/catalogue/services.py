"""Writes of the catalogue: publishing item versions, filing applications (atomic with their
uploads, idempotent), moving them through the workflow, the overdue sweep, appointments.

``application_transition`` (and the internal ``_apply`` it shares with submission) is the
only writer of ``Application.status``. Every write runs in one transaction with its audit
entry; audit entries carry field names, never personal values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.catalogue import workflow
from linli.catalogue.choices import (
    OPEN_STATUSES,
    ApplicationAction,
    ApplicationStatus,
    AppointmentStatus,
    CatalogueErrorCode,
    Channel,
    Decision,
    ItemKind,
    ItemLevel,
)
from linli.catalogue.errors import ApplicationConflict
from linli.catalogue.forms_schema import (
    SENSITIVE_TYPES,
    clean_form_data,
    form_fields,
    validate_form_definition,
)
from linli.catalogue.models import (
    Application,
    ApplicationEvent,
    ApplicationFile,
    Appointment,
    Notification,
    NumberSequence,
    ServiceItem,
    ServiceItemVersion,
    ServiceWindow,
)
from linli.catalogue.rules import age_on, evaluate, facts_used, validate_rule
from linli.catalogue.selectors import application_visible_to, window_slot_starts
from linli.catalogue.tasks import application_notify
from linli.catalogue.uploads import StoredUpload, UploadLike, upload_remove, upload_store
from linli.core import pii
from linli.core.actors import Actor, SystemActor, actor_label
from linli.core.calendar import (
    SHANGHAI,
    add_working_days,
    deadline_in_working_days,
    working_days_between,
)
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person, PersonTag
from linli.registry.selectors import person_get_for_user
from linli.registry.text import PII_ID_NUMBER, PII_PHONE
from linli.registry.validators import parse_phone

logger = logging.getLogger(__name__)

INSTANT_ACTOR = SystemActor("rule:instant")
SWEEP_ACTOR = SystemActor("job:overdue-sweep")
APPLICATION_TARGET = "catalogue.application"
_STAFF_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})
_MATERIAL_KEYS = {"code", "name", "required", "example", "accept"}
T = TypeVar("T")


def _role(actor: Actor) -> str:
    if isinstance(actor, User):
        return str(actor.role)
    return workflow.SYSTEM


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _next_value(key: str) -> int:
    """Increment a named counter under a row lock (inside the caller's transaction)."""
    NumberSequence.objects.bulk_create([NumberSequence(key=key, value=0)], ignore_conflicts=True)
    counter = NumberSequence.objects.select_for_update().get(key=key)
    counter.value = F("value") + 1
    counter.save(update_fields=["value"])
    counter.refresh_from_db(fields=["value"])
    return counter.value


# --- catalogue ------------------------------------------------------------------------------


def _require_catalogue_admin(actor: Actor) -> None:
    # Seed commands run as system actors; people need the district admin role.
    if isinstance(actor, SystemActor):
        return
    if _role(actor) != Role.DISTRICT_ADMIN:
        raise PermissionDenied(_("只有区级管理员可以维护事项目录"))


def item_create(
    *, actor: Actor, code: str, name: str, department: str, level: str, kind: str,
    search_keywords: str = "", request_id: str = "",
) -> ServiceItem:
    """A new (empty) catalogue item; its definition comes with ``item_publish_version``."""
    _require_catalogue_admin(actor)
    code, name, department = code.strip(), name.strip(), department.strip()
    if not code:
        raise ValidationFailed("code", _("请填写事项编码"))
    if not name:
        raise ValidationFailed("name", _("请填写事项名称"))
    if not department:
        raise ValidationFailed("department", _("请填写主管部门"))
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
    for key in ("name", "department"):
        if key in changes and not str(changes[key]).strip():
            raise ValidationFailed(key, _("不能为空"))
    with transaction.atomic():
        item = ServiceItem.objects.select_for_update().get(pk=item.pk)
        for key, value in changes.items():
            setattr(item, key, value.strip() if isinstance(value, str) else bool(value))
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


# --- facts and prefill ----------------------------------------------------------------------


def _community_of_grid(grid: Area | None) -> Area | None:
    if grid is None:
        return None
    if grid.level == AreaLevel.COMMUNITY:
        return grid
    ids = [int(p) for p in grid.path.strip("/").split("/") if p]
    return Area.objects.filter(pk__in=ids, level=AreaLevel.COMMUNITY).first()


def application_facts(
    *, person: Person | None, data: Mapping[str, Any], rule: Mapping[str, Any] | None = None,
    on: date | None = None,
) -> dict[str, Any]:
    """Facts for the rule engine: the registry's view of the applicant plus the form values.

    ``benefit.<code>`` is True for items the person holds an approved application of; for
    codes the ``rule`` reads it is False otherwise (a known person without the benefit).
    """
    on = on or timezone.localdate()
    facts: dict[str, Any] = {f"application.{k}": v for k, v in data.items() if not k.endswith("_enc")}
    if person is None:
        return facts
    community = _community_of_grid(person.grid) if person.grid_id else None
    tags = PersonTag.objects.filter(person=person, valid_from__lte=on).exclude(valid_to__lt=on)
    facts.update({
        "person.age": age_on(person.birth_date, on) if person.birth_date else None,
        "person.sex": person.sex or None,
        "person.hukou": person.hukou or None,
        "person.tags": sorted(set(tags.values_list("kind", flat=True))),
        "person.is_deceased": person.is_deceased,
        "person.community_code": community.code if community else None,
        "household.size": (
            person.household.members.filter(is_deceased=False).count() if person.household else None
        ),
    })
    held = set(
        Application.objects.filter(applicant=person, status=ApplicationStatus.APPROVED)
        .values_list("item_version__item__code", flat=True)
    )
    asked = {f.removeprefix("benefit.") for f in facts_used(rule) if f.startswith("benefit.")} if rule else set()
    for code in held | asked:
        facts[f"benefit.{code}"] = code in held
    return facts


def _person_address(person: Person) -> str:
    if person.room is not None and person.building is not None:
        return f"{person.building.address}{person.room.number}室"
    return person.building.address if person.building else ""


def application_prefill(*, user: Actor, version: ServiceItemVersion, person: Person) -> dict[str, Any]:
    """Initial form values from the registry for a known applicant; ID and phone masked.

    The user must be allowed to see the person. On submission with the same ``applicant``,
    a masked value left unchanged is replaced by the registry's full value.
    """
    if not isinstance(user, User):
        raise PermissionDenied()
    person = person_get_for_user(user=user, person_id=person.pk)
    values: dict[str, Any] = {}
    for f in form_fields(version.form):
        source = f.get("prefill")
        value: Any = None
        if source == "person.name":
            value = person.name
        elif source == "person.id_number":
            value = person.id_number_masked
        elif source == "person.phone":
            value = person.phone_masked
        elif source == "person.birth_date" and person.birth_date:
            value = person.birth_date.isoformat()
        elif source == "person.address":
            value = _person_address(person)
        if value:
            values[f["key"]] = value
    return values


def _unmask_from_person(defn: Mapping[str, Any], data: Mapping[str, Any], person: Person | None) -> dict[str, Any]:
    """Replace masked prefills (or blanks) of ID/phone fields by the person's real values."""
    out = dict(data)
    if person is None:
        return out
    for f in form_fields(defn):
        key, source = f["key"], f.get("prefill")
        given = out.get(key)
        if source == "person.id_number" and person.id_number_enc and (
            given in (None, "", person.id_number_masked)
        ):
            out[key] = pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER)
        elif source == "person.phone" and person.phone_enc and given in (None, "", person.phone_masked):
            out[key] = pii.decrypt(person.phone_enc, field=PII_PHONE)
    return out


def _seal(defn: Mapping[str, Any], cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """ID numbers and phones: masked under the key, encrypted under ``<key>_enc``."""
    sealed = dict(cleaned)
    for f in form_fields(defn):
        key = f["key"]
        if f["type"] in SENSITIVE_TYPES and key in cleaned:
            value = str(cleaned[key])
            sealed[f"{key}_enc"] = pii.encrypt(value, field=f"application.{key}")
            sealed[key] = pii.mask_id_number(value) if f["type"] == "id_number" else pii.mask_phone(value)
    return sealed


# --- submission -----------------------------------------------------------------------------


def _resolve_community(*, actor: Actor, applicant: Person | None, community: Area | None) -> Area:
    role = _role(actor)
    chosen = community or (_community_of_grid(applicant.grid) if applicant is not None and applicant.grid_id else None)
    if chosen is None and role in _STAFF_ROLES:
        scope = scope_for(_user(actor))
        mine = list(Area.objects.filter(pk__in=scope.area_ids, level=AreaLevel.COMMUNITY)[:2])
        chosen = mine[0] if len(mine) == 1 else None
    if chosen is None or chosen.level != AreaLevel.COMMUNITY:
        raise ValidationFailed("community", _("请选择办理社区"))
    if role in _STAFF_ROLES and chosen.pk not in scope_for(_user(actor)).area_ids:
        raise NotFound(_("社区不存在"))
    return chosen


def _check_applicant(actor: Actor, applicant: Person | None) -> Person | None:
    if applicant is None:
        return None
    user = _user(actor)
    if user is None or user.role not in _STAFF_ROLES:
        # Residents cannot claim a registry person: prefill would leak their data.
        raise PermissionDenied(_("只有窗口工作人员可以关联实有人口"))
    return person_get_for_user(user=user, person_id=applicant.pk)


def _applicant_identity(defn: Mapping[str, Any], cleaned: Mapping[str, Any], applicant: Person | None,
                        applicant_name: str) -> tuple[str, str]:
    name, id_masked = "", ""
    for f in form_fields(defn):
        if f.get("prefill") == "person.name" and cleaned.get(f["key"]):
            name = str(cleaned[f["key"]])
        if f["type"] == "id_number" and f.get("prefill") == "person.id_number" and cleaned.get(f["key"]):
            id_masked = pii.mask_id_number(str(cleaned[f["key"]]))
    if applicant is not None:
        name = name or applicant.name
        id_masked = id_masked or applicant.id_number_masked
    name = (name or applicant_name).strip()
    if not name:
        raise ValidationFailed("applicant_name", _("请填写申请人姓名"))
    return name[:50], id_masked


def _current_version(version: ServiceItemVersion) -> ServiceItemVersion:
    item = version.item
    if not item.active or item.current_version_id != version.pk:
        raise ApplicationError(CatalogueErrorCode.NO_VERSION, _("该事项已更新或停用,请重新打开办事指南"),
                               field="item_version")
    return version


def _store_files(
    defn: Mapping[str, Any], materials: Sequence[Mapping[str, Any]], files: Mapping[str, Sequence[UploadLike]],
) -> list[tuple[str, StoredUpload]]:
    """Check and write every upload; on any refusal remove the ones already written."""
    accept = {m["code"]: m.get("accept") for m in materials}
    by_key = {f["key"]: f for f in form_fields(defn)}
    stored: list[tuple[str, StoredUpload]] = []
    try:
        for key, uploads in files.items():
            material = by_key[key]["material"]
            stored.extend(
                (material, upload_store(upload, field=key, accept=accept.get(material))) for upload in uploads
            )
    except BaseException:
        upload_remove(s for _m, s in stored)
        raise
    return stored


def _attach_files(
    application: Application, stored: list[tuple[str, StoredUpload]], actor: Actor,
) -> None:
    ApplicationFile.objects.bulk_create([
        ApplicationFile(
            application=application, material_code=material, file=s.name,
            original_name=s.original_name, content_type=s.content_type, size=s.size, sha256=s.sha256,
            uploaded_by=_user(actor),
        )
        for material, s in stored
    ])


def _kept_file_ids(defn: Mapping[str, Any], cleaned: Mapping[str, Any], application: Application | None) -> None:
    """File ids a resubmitted form keeps must belong to the same application."""
    ids = {
        v for f in form_fields(defn) if f["type"] == "upload"
        for v in cleaned.get(f["key"], []) if isinstance(v, int)
    }
    if not ids:
        return
    owned = set(ApplicationFile.objects.filter(application=application, pk__in=ids).values_list("pk", flat=True)) \
        if application is not None else set()
    if ids - owned:
        raise ValidationFailed("files", _("引用的材料文件不存在"))


def _with_files(stored: list[tuple[str, StoredUpload]], work: Callable[[], T]) -> T:
    try:
        return work()
    except BaseException:
        upload_remove(s for _m, s in stored)
        raise


def application_save_draft(
    *,
    actor: Actor,
    version: ServiceItemVersion,
    applicant: Person | None = None,
    data: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadLike]] | None = None,
    channel: str = Channel.WINDOW,
    community: Area | None = None,
    applicant_name: str = "",
    draft: Application | None = None,
    request_id: str = "",
) -> Application:
    """Create or update a draft: what is given is checked, "required" is not yet."""
    files = files or {}
    applicant = _check_applicant(actor, applicant)
    if draft is not None:
        draft = _visible_or_404(actor, draft)
        if draft.status != ApplicationStatus.DRAFT:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("只能修改草稿"), field="status")
        version = draft.item_version
    _current_version(version)
    raw = _unmask_from_person(version.form, data, applicant)
    cleaned = clean_form_data(version.form, raw, files=files, partial=True)
    _kept_file_ids(version.form, cleaned, draft)
    place = _resolve_community(actor=actor, applicant=applicant, community=community)
    name = (applicant.name if applicant else "") or applicant_name or _("(未填写)")
    stored = _store_files(version.form, version.materials, files)

    def work() -> Application:
        with transaction.atomic():
            if draft is None:
                app = Application.objects.create(
                    number=_new_number(), item_version=version, applicant=applicant, applicant_name=name[:50],
                    community=place, submitted_by=_user(actor), channel=channel,
                    status=ApplicationStatus.DRAFT, data=_seal(version.form, cleaned),
                )
            else:
                app = Application.objects.select_for_update().get(pk=draft.pk)
                app.data, app.applicant, app.applicant_name = _seal(version.form, cleaned), applicant, name[:50]
                app.version += 1
                app.save()
            _attach_files(app, stored, actor)
            audit_record(actor=actor, action="catalogue.application.draft", target_type=APPLICATION_TARGET,
                         target_id=app.pk, fields=sorted(cleaned), request_id=request_id)
            return app

    return _with_files(stored, work)


def _new_number() -> str:
    today = timezone.localdate()
    return f"SQ-{today:%Y%m%d}-{_next_value(f'application:{today:%Y%m%d}'):04d}"


def application_submit(
    *,
    actor: Actor,
    version: ServiceItemVersion,
    applicant: Person | None,
    data: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadLike]] | None = None,
    channel: str = Channel.WINDOW,
    idempotency_key: str = "",
    request_id: str = "",
    community: Area | None = None,
    applicant_name: str = "",
    draft: Application | None = None,
) -> tuple[Application, bool]:
    """File an application with its uploads; ``(application, created)``.

    Uploads are checked and written first, then one transaction creates the application,
    its files, events and audit entries; if it fails, the files written are removed. The
    same ``idempotency_key`` from the same submitter returns the first application with
    ``created=False`` (double click, network retry). Instant items with a rule are decided
    at once against the registry, and the explanation is kept in ``rule_result``.
    """
    files = files or {}
    key = idempotency_key.strip()[:64]
    user = _user(actor)
    if key and user is not None:
        existing = Application.objects.filter(submitted_by=user, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    if channel not in Channel.values:
        raise ValidationFailed("channel", _("渠道无效"))
    applicant = _check_applicant(actor, applicant)
    if draft is not None:
        draft = _visible_or_404(actor, draft)
        version = draft.item_version
        if draft.status != ApplicationStatus.DRAFT:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("该申请已提交"), field="status")
    version = _current_version(version)
    if _role(actor) not in workflow.roles_for(ApplicationStatus.DRAFT, ApplicationAction.SUBMIT,
                                              item_level=version.item.level):
        raise PermissionDenied(_("无权提交申请"))
    raw = _unmask_from_person(version.form, data, applicant)
    cleaned = clean_form_data(version.form, raw, files=files)
    _kept_file_ids(version.form, cleaned, draft)
    place = draft.community if draft is not None else _resolve_community(
        actor=actor, applicant=applicant, community=community)
    name, id_masked = _applicant_identity(version.form, cleaned, applicant, applicant_name)
    stored = _store_files(version.form, version.materials, files)

    def work() -> Application:
        with transaction.atomic():
            now = timezone.now()
            if draft is None:
                app = Application.objects.create(
                    number=_new_number(), item_version=version, applicant=applicant, applicant_name=name,
                    applicant_id_masked=id_masked, community=place, submitted_by=user, channel=channel,
                    status=ApplicationStatus.DRAFT, data=_seal(version.form, cleaned), idempotency_key=key,
                )
            else:
                app = Application.objects.select_for_update().get(pk=draft.pk)
                app.applicant, app.applicant_name, app.applicant_id_masked = applicant, name, id_masked
                app.data, app.idempotency_key, app.channel = _seal(version.form, cleaned), key, channel
                app.save()
            _attach_files(app, stored, actor)
            _apply(app, action=ApplicationAction.SUBMIT, actor=actor, now=now, request_id=request_id,
                   fields=sorted(cleaned))
            if version.item.kind == ItemKind.INSTANT and version.rules:
                decision = evaluate(version.rules, application_facts(
                    person=applicant, data=cleaned, rule=version.rules, on=timezone.localdate(now)))
                app.rule_result = decision.as_dict()
                reasons = "；".join(r.message for r in (decision.failed or decision.undecided))
                note = {True: _("符合条件,即时办结"), False: reasons,
                        None: _("无法从数据库自动判定,转人工预受理：") + reasons}[decision.passed]
                _apply(app, action=ApplicationAction.INSTANT_DECIDE, actor=INSTANT_ACTOR, now=now,
                       rule_passed=decision.passed, note=note, request_id=request_id)
            return app

    try:
        return _with_files(stored, work), True
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its application.
        if key and user is not None:
            existing = Application.objects.filter(submitted_by=user, idempotency_key=key).first()
            if existing is not None:
                return existing, False
        raise


# --- workflow -------------------------------------------------------------------------------


def _visible_or_404(actor: Actor, application: Application) -> Application:
    if isinstance(actor, SystemActor):
        return application
    if not application_visible_to(user=_user(actor), application_id=application.pk):
        raise NotFound(_("申请不存在"))
    return application


def _is_owner(actor: Actor, application: Application) -> bool:
    return isinstance(actor, User) and application.submitted_by_id == actor.pk


def _shift_due(due_at: datetime, days: int) -> datetime:
    local = due_at.astimezone(SHANGHAI)
    return datetime.combine(add_working_days(local.date(), days), local.timetz())


def _notice_text(app: Application, event: ApplicationEvent) -> str:
    item = app.item_version.item.name
    label = ApplicationStatus(event.to_status).label
    text = _("【邻里】您的申请%(number)s(%(item)s)状态：%(status)s。") % {
        "number": app.number, "item": item, "status": label,
    }
    if event.missing:
        text += _("请补正：") + "、".join(event.missing)
    elif event.to_status == ApplicationStatus.REJECTED and event.note:
        text += _("原因：") + event.note
    return text


def _recipient_phone(app: Application) -> str:
    for f in form_fields(app.item_version.form):
        token = app.data.get(f"{f['key']}_enc") if f["type"] == "phone" else None
        if token:
            return pii.decrypt(token, field=f"application.{f['key']}")
    if app.applicant is not None and app.applicant.phone_enc:
        return pii.decrypt(app.applicant.phone_enc, field=PII_PHONE)
    return ""


def _queue_notice(app: Application, event: ApplicationEvent) -> None:
    phone = _recipient_phone(app)
    notice = Notification.objects.create(
        application=app, event=event, recipient_masked=pii.mask_phone(phone) if phone else "",
        phone_enc=pii.encrypt(phone, field="notification.phone") if phone else "",
        message=_notice_text(app, event),
    )
    transaction.on_commit(lambda: application_notify.enqueue(notice.pk))


def _apply(
    app: Application, *, action: str, actor: Actor, now: datetime, note: str = "",
    missing: Sequence[str] | None = None, rule_passed: bool | None = None, request_id: str = "",
    fields: Sequence[str] = (),
) -> ApplicationEvent:
    """Move a locked application one step; the caller holds the transaction."""
    before = app.status
    after = workflow.next_status(before, action, rule_passed=rule_passed, missing=missing)
    clean_missing = [m.strip() for m in (missing or []) if isinstance(m, str) and m.strip()]
    if action == ApplicationAction.SUBMIT:
        app.submitted_at = now
        app.due_at = deadline_in_working_days(now, app.item_version.time_limit_days)
    if workflow.pauses_clock(action):
        app.paused_at = now
    if workflow.resumes_clock(action) and app.paused_at is not None:
        paused = max(working_days_between(app.paused_at.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()), 0)
        app.paused_working_days += paused
        if app.due_at is not None and paused:
            app.due_at = _shift_due(app.due_at, paused)
        app.paused_at = None
    if after in {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}:
        app.decided_at = now
        app.decision = Decision.APPROVED if after == ApplicationStatus.APPROVED else Decision.REJECTED
        app.decision_reason = note
    if after == ApplicationStatus.WITHDRAWN:
        app.paused_at = None
    app.status = after
    app.version += 1
    app.save()
    event = ApplicationEvent.objects.create(
        application=app, action=action, from_status=before, to_status=after, actor=_user(actor),
        actor_label=actor_label(actor)[:150], note=note, missing=clean_missing, at=now,
    )
    audit_record(actor=actor, action=f"catalogue.application.{action}", target_type=APPLICATION_TARGET,
                 target_id=app.pk, fields=["status", *fields], reason=f"{before}->{after}",
                 request_id=request_id)
    _queue_notice(app, event)
    return event


def _conflict(app: Application, actor: Actor, message: str) -> ApplicationConflict:
    return ApplicationConflict(message, extra={
        "status": app.status, "version": app.version,
        "allowed_actions": workflow.allowed_actions(
            app.status, _role(actor), item_level=app.item_version.item.level, is_owner=_is_owner(actor, app)),
    })


def application_transition(
    *,
    application: Application,
    action: str,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    missing: Sequence[str] | None = None,
    request_id: str = "",
) -> Application:
    """Take one workflow step; the only writer of ``Application.status``.

    Locks the row; a stale ``expected_version`` is refused as a conflict carrying the
    current status and the actions still allowed. Correction pauses the legal clock, the
    resubmission resumes it and moves ``due_at`` by the working days paused.
    """
    if action not in ApplicationAction.values:
        raise ValidationFailed("action", _("未知操作"))
    if action == ApplicationAction.INSTANT_DECIDE:
        raise PermissionDenied(_("即时判定只能由规则执行"))
    _visible_or_404(actor, application)
    if action == ApplicationAction.REJECT and not note.strip():
        raise ValidationFailed("note", _("不予办理须说明理由"))
    with transaction.atomic():
        app = (Application.objects.select_for_update(of=("self",))
               .select_related("item_version__item").get(pk=application.pk))
        if expected_version is not None and expected_version != app.version:
            raise _conflict(app, actor, _("该申请已被他人处理,请刷新后重试"))
        level = app.item_version.item.level
        if (app.status, action) not in workflow.TRANSITIONS:
            refused = _conflict(app, actor, "")
            raise ApplicationError(
                CatalogueErrorCode.ILLEGAL_TRANSITION,
                _("当前状态“%(s)s”不能执行该操作") % {"s": app.get_status_display()},
                field="action", extra=refused.extra,
            )
        if not workflow.can_act(_role(actor), app.status, action, item_level=level, is_owner=_is_owner(actor, app)):
            raise PermissionDenied(_("无权执行该操作"))
        _apply(app, action=action, actor=actor, now=timezone.now(), note=note.strip(), missing=missing,
               request_id=request_id)
    return app


def application_correct(
    *,
    actor: Actor,
    application: Application,
    data: Mapping[str, Any],
    files: Mapping[str, Sequence[UploadLike]] | None = None,
    expected_version: int | None = None,
    request_id: str = "",
) -> Application:
    """Resubmit a returned application with corrected values and materials (补正)."""
    files = files or {}
    _visible_or_404(actor, application)
    version = application.item_version
    raw = _unmask_from_person(version.form, data, application.applicant)
    cleaned = clean_form_data(version.form, raw, files=files)
    _kept_file_ids(version.form, cleaned, application)
    stored = _store_files(version.form, version.materials, files)

    def work() -> Application:
        with transaction.atomic():
            app = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
            if expected_version is not None and expected_version != app.version:
                raise _conflict(app, actor, _("该申请已被他人处理,请刷新后重试"))
            if not workflow.can_act(_role(actor), app.status, ApplicationAction.RESUBMIT,
                                    item_level=version.item.level, is_owner=_is_owner(actor, app)):
                if (app.status, ApplicationAction.RESUBMIT) not in workflow.TRANSITIONS:
                    raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("当前状态不能补正"),
                                           field="action", extra=_conflict(app, actor, "").extra)
                raise PermissionDenied(_("无权执行该操作"))
            app.data = _seal(version.form, cleaned)
            _attach_files(app, stored, actor)
            _apply(app, action=ApplicationAction.RESUBMIT, actor=actor, now=timezone.now(),
                   request_id=request_id, fields=sorted(cleaned))
            return app

    return _with_files(stored, work)


def application_overdue_sweep(*, now: datetime) -> int:
    """Mark open applications past their deadline (clock running) as overdue and supervised.

    Idempotent: each application is marked once, by a compare-and-swap on ``overdue_at``;
    two sweeps running at once never mark or audit the same one twice.
    """
    candidates = list(
        Application.objects.filter(
            status__in=sorted(OPEN_STATUSES), due_at__lt=now, paused_at__isnull=True, overdue_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    marked = 0
    for pk in candidates:
        with transaction.atomic():
            won = Application.objects.filter(pk=pk, overdue_at__isnull=True).update(
                overdue_at=now, supervised_at=now, updated_at=now)
            if won:
                audit_record(actor=SWEEP_ACTOR, action="catalogue.application.overdue",
                             target_type=APPLICATION_TARGET, target_id=pk, fields=["overdue_at", "supervised_at"])
                marked += 1
    if marked:
        logger.info("overdue sweep marked %s applications", marked)
    return marked


# --- appointments ---------------------------------------------------------------------------


def _staff_in_scope(actor: Actor, community_id: int) -> bool:
    user = _user(actor)
    return user is not None and user.role in _STAFF_ROLES and community_id in scope_for(user).area_ids


def _check_slot(window: ServiceWindow, slot_start: datetime, now: datetime) -> None:
    if timezone.is_naive(slot_start):
        raise ValidationFailed("slot_start", _("预约时间须带时区"))
    local = slot_start.astimezone(SHANGHAI)
    if slot_start <= now:
        raise ApplicationError(CatalogueErrorCode.SLOT_UNAVAILABLE, _("不能预约已过去的时段"), field="slot_start")
    if local not in window_slot_starts(window=window, day=local.date()):
        raise ApplicationError(CatalogueErrorCode.SLOT_UNAVAILABLE, _("该时段不开放预约"), field="slot_start")


def _live(window: ServiceWindow, slot_start: datetime) -> Any:
    return Appointment.objects.filter(window=window, slot_start=slot_start).exclude(
        status=AppointmentStatus.CANCELLED)


def _duplicate_booking(window: ServiceWindow, slot_start: datetime, person: Person | None, phone_bidx: str) -> bool:
    if person is not None and Appointment.objects.filter(slot_start=slot_start, person=person).exclude(
            status=AppointmentStatus.CANCELLED).exists():
        return True
    return bool(phone_bidx) and _live(window, slot_start).filter(phone_bidx=phone_bidx).exists()


def _take_seat(
    *, window: ServiceWindow, slot_start: datetime, person: Person | None, phone_bidx: str,
    create: Callable[[int], Appointment],
) -> Appointment:
    """Insert with the lowest free seat; a lost race on a seat retries the next one."""
    for _attempt in range(window.capacity_per_slot + 5):
        if _duplicate_booking(window, slot_start, person, phone_bidx):
            raise ApplicationError(CatalogueErrorCode.DOUBLE_BOOKING, _("该时段已有您的预约"), field="slot_start")
        taken = set(_live(window, slot_start).values_list("seat", flat=True))
        free = [s for s in range(1, window.capacity_per_slot + 1) if s not in taken]
        if not free:
            raise ApplicationError(CatalogueErrorCode.SLOT_FULL, _("该时段已约满"), field="slot_start")
        try:
            return create(free[0])
        except IntegrityError:
            continue
    raise ApplicationError(CatalogueErrorCode.SLOT_FULL, _("该时段已约满"), field="slot_start")


def appointment_book(
    *,
    actor: Actor,
    window: ServiceWindow,
    slot_start: datetime,
    person: Person | None = None,
    name: str,
    phone: str,
    item: ServiceItem | None = None,
    request_id: str = "",
) -> Appointment:
    """Book one seat of a slot. Capacity holds under concurrency by the seat constraint."""
    if not window.active:
        raise NotFound(_("窗口不存在"))
    if person is not None:
        if not _staff_in_scope(actor, window.community_id):
            raise PermissionDenied(_("只有窗口工作人员可以关联实有人口"))
        person = person_get_for_user(user=actor, person_id=person.pk)  # type: ignore[arg-type]
    name = name.strip()
    if not name:
        raise ValidationFailed("name", _("请填写姓名"))
    number = parse_phone(phone, field="phone")
    if item is not None and window.items.exists() and not window.items.filter(pk=item.pk).exists():
        raise ValidationFailed("item", _("该窗口不办理此事项"))
    _check_slot(window, slot_start, timezone.now())
    bidx = pii.blind_index(number, field="appointment.phone")

    def create(seat: int) -> Appointment:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                window=window, slot_start=slot_start, seat=seat, person=person, name=name[:50],
                phone_enc=pii.encrypt(number, field="appointment.phone"), phone_bidx=bidx,
                phone_masked=pii.mask_phone(number), item=item, booked_by=_user(actor),
            )
            audit_record(actor=actor, action="catalogue.appointment.book", target_type="catalogue.appointment",
                         target_id=appointment.pk, fields=["slot_start", "name", "phone"], request_id=request_id)
            return appointment

    return _take_seat(window=window, slot_start=slot_start, person=person, phone_bidx=bidx, create=create)


def _may_manage(actor: Actor, appointment: Appointment) -> bool:
    user = _user(actor)
    return (user is not None and appointment.booked_by_id == user.pk) or _staff_in_scope(
        actor, appointment.window.community_id)


def _locked_booking(actor: Actor, appointment: Appointment) -> Appointment:
    locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
    if not _may_manage(actor, locked):
        raise NotFound(_("预约不存在"))
    if locked.status != AppointmentStatus.BOOKED:
        raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("该预约已%(s)s") % {
            "s": locked.get_status_display()}, field="status")
    return locked


def appointment_cancel(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    with transaction.atomic():
        locked = _locked_booking(actor, appointment)
        locked.status = AppointmentStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.cancel", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status"], request_id=request_id)
    return locked


def appointment_change(
    *, actor: Actor, appointment: Appointment, slot_start: datetime, request_id: str = "",
) -> Appointment:
    """Move a booking to another slot of the same window: the new seat is taken and the old
    one released in one transaction, so a full slot leaves the old booking in place."""
    window = appointment.window
    _check_slot(window, slot_start, timezone.now())
    if slot_start == appointment.slot_start:
        return appointment

    def create(seat: int) -> Appointment:
        with transaction.atomic():
            old = _locked_booking(actor, appointment)
            old.status = AppointmentStatus.CANCELLED
            old.cancelled_at = timezone.now()
            old.save(update_fields=["status", "cancelled_at", "updated_at"])
            new = Appointment.objects.create(
                window=window, slot_start=slot_start, seat=seat, person=old.person, name=old.name,
                phone_enc=old.phone_enc, phone_bidx=old.phone_bidx, phone_masked=old.phone_masked,
                item=old.item, booked_by=old.booked_by,
            )
            audit_record(actor=actor, action="catalogue.appointment.change", target_type="catalogue.appointment",
                         target_id=new.pk, fields=["slot_start"], reason=f"from #{old.pk}", request_id=request_id)
            return new

    return _take_seat(window=window, slot_start=slot_start, person=appointment.person,
                      phone_bidx=appointment.phone_bidx, create=create)


def appointment_check_in(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    """The resident arrives: give the next queue number of the window for today."""
    with transaction.atomic():
        locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
        if not _staff_in_scope(actor, locked.window.community_id):
            raise NotFound(_("预约不存在"))
        if locked.status != AppointmentStatus.BOOKED:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("该预约不能取号"), field="status")
        now = timezone.now()
        today = timezone.localdate(now)
        seq = _next_value(f"queue:{locked.window_id}:{today:%Y%m%d}")
        locked.status, locked.checked_in_at, locked.queue_day = AppointmentStatus.CHECKED_IN, now, today
        locked.number = f"A{seq:03d}"
        locked.save(update_fields=["status", "checked_in_at", "queue_day", "number", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.check_in", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status", "number"], request_id=request_id)
    return locked


def appointment_serve(*, actor: Actor, appointment: Appointment, request_id: str = "") -> Appointment:
    """The clerk calls the number and serves the resident (ends the waiting time)."""
    with transaction.atomic():
        locked = Appointment.objects.select_for_update(of=("self",)).select_related("window").get(pk=appointment.pk)
        if not _staff_in_scope(actor, locked.window.community_id):
            raise NotFound(_("预约不存在"))
        if locked.status != AppointmentStatus.CHECKED_IN:
            raise ApplicationError(CatalogueErrorCode.ILLEGAL_TRANSITION, _("请先取号"), field="status")
        locked.status, locked.served_at = AppointmentStatus.DONE, timezone.now()
        locked.save(update_fields=["status", "served_at", "updated_at"])
        audit_record(actor=actor, action="catalogue.appointment.serve", target_type="catalogue.appointment",
                     target_id=locked.pk, fields=["status"], request_id=request_id)
    return locked


def window_create(
    *, actor: Actor, code: str, name: str, community: Area, opening_hours: Mapping[str, Any],
    slot_minutes: int = 30, capacity_per_slot: int = 2, items: Sequence[ServiceItem] = (), request_id: str = "",
) -> ServiceWindow:
    """A service window of a community (staff of that community or a district admin)."""
    if not isinstance(actor, SystemActor) and not _staff_in_scope(actor, community.pk):
        raise PermissionDenied(_("无权设置该社区的窗口"))
    _validate_hours(opening_hours)
    if not 5 <= slot_minutes <= 240:
        raise ValidationFailed("slot_minutes", _("时段长度须为5到240分钟"))
    if not 1 <= capacity_per_slot <= 100:
        raise ValidationFailed("capacity_per_slot", _("每时段名额须为1到100"))
    with transaction.atomic():
        window = ServiceWindow.objects.create(
            code=code, name=name, community=community, opening_hours=dict(opening_hours),
            slot_minutes=slot_minutes, capacity_per_slot=capacity_per_slot,
        )
        window.items.set(items)
        audit_record(actor=actor, action="catalogue.window.create", target_type="catalogue.window",
                     target_id=window.pk, fields=["code", "opening_hours", "capacity_per_slot"],
                     request_id=request_id)
    return window


def _validate_hours(hours: Mapping[str, Any]) -> None:
    for day, periods in hours.items():
        if day not in {"1", "2", "3", "4", "5", "6", "7"} or not isinstance(periods, list):
            raise ValidationFailed("opening_hours", _("开放时间格式无效"))
        for period in periods:
            try:
                start, end = (time.fromisoformat(p) for p in period)
            except (TypeError, ValueError):
                raise ValidationFailed("opening_hours", _("开放时间格式无效")) from None
            if start >= end:
                raise ValidationFailed("opening_hours", _("开放时间段须先开始后结束"))


__all__ = [
    "INSTANT_ACTOR",
    "application_correct",
    "application_facts",
    "application_overdue_sweep",
    "application_prefill",
    "application_save_draft",
    "application_submit",
    "application_transition",
    "appointment_book",
    "appointment_cancel",
    "appointment_change",
    "appointment_check_in",
    "appointment_serve",
    "item_create",
    "item_publish_version",
    "item_update",
    "window_create",
]
