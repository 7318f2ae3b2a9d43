"""Filing applications: drafts, submission (atomic with its uploads, idempotent) and the
resubmission of a returned one (补正). Status changes go through ``transitions._apply``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.selectors import scope_for
from linli.catalogue import workflow
from linli.catalogue.choices import (
    ApplicationAction,
    ApplicationStatus,
    CatalogueErrorCode,
    Channel,
    ItemKind,
)
from linli.catalogue.forms_schema import SENSITIVE_TYPES, clean_form_data, form_fields
from linli.catalogue.models import Application, ApplicationFile, ServiceItemVersion
from linli.catalogue.rules import evaluate
from linli.catalogue.services.facts import (
    _community_of_grid,
    _seal,
    _unmask_from_person,
    application_facts,
)
from linli.catalogue.services.shared import (
    _STAFF_ROLES,
    APPLICATION_TARGET,
    INSTANT_ACTOR,
    _next_value,
    _role,
    _user,
)
from linli.catalogue.services.transitions import _apply, _conflict, _is_owner, _visible_or_404
from linli.catalogue.uploads import StoredUpload, UploadLike, upload_remove, upload_store
from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person
from linli.registry.selectors import person_get_for_user

T = TypeVar("T")


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


def _check_applicant(actor: Actor, applicant: Person | None, bound_person: Person | None = None) -> Person | None:
    if applicant is None:
        return None
    user = _user(actor)
    if (user is not None and user.role == Role.RESIDENT and bound_person is not None
            and bound_person.pk == applicant.pk):
        # The portal has verified that this resident's account is this person (and shows
        # them only their own data): they apply for themselves.
        return applicant
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
    bound_person: Person | None = None,
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
    applicant = _check_applicant(actor, applicant, bound_person)
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


def _unmask_from_application(
    defn: Mapping[str, Any], data: Mapping[str, Any], application: Application,
) -> dict[str, Any]:
    """A correction that leaves an ID number or phone as shown (masked) keeps the value the
    application already holds: the applicant never sees it in clear on the correction form."""
    out = dict(data)
    stored = application.data or {}
    for f in form_fields(defn):
        key = f["key"]
        token = stored.get(f"{key}_enc")
        if f["type"] in SENSITIVE_TYPES and token and out.get(key) == stored.get(key):
            out[key] = pii.decrypt(token, field=f"application.{key}")
    return out


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
    raw = _unmask_from_person(version.form, _unmask_from_application(version.form, data, application),
                              application.applicant)
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
