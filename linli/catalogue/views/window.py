"""The window (一窗受理): find the resident, choose the item, fill the guided form, submit.

The guided form is generated from the item version's form definition. Each step is a plain
POST that saves the draft (``application_save_draft``), so a clerk can stop and resume;
``when`` conditions are evaluated on the server from the answers saved so far. Personal
numbers are only ever rendered masked: a masked value posted back unchanged is replaced by
the stored one before saving.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from linli.accounts.selectors import scope_for
from linli.catalogue.choices import ApplicationStatus, Channel
from linli.catalogue.forms_schema import visible_steps
from linli.catalogue.models import Application, ApplicationFile, ServiceItemVersion
from linli.catalogue.selectors import application_get_for_user, item_get
from linli.catalogue.services import application_prefill, application_save_draft, application_submit
from linli.catalogue.uploads import ACCEPT_KINDS
from linli.catalogue.views.access import StaffRequest, request_id_of, window_only
from linli.catalogue.views.items import search_results
from linli.core import pii
from linli.core.errors import ApplicationError, NotFound, ValidationFailed
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person
from linli.registry.selectors import person_get_for_user, person_search_for_user
from linli.registry.services import person_search_by_id_record

PERSON_LIMIT = 20
NAV_ACTIONS = frozenset({"prev", "save", "next", "submit"})
_HTML_ACCEPT = {"image": "image/jpeg,image/png,image/webp", "pdf": "application/pdf"}


@dataclass
class FieldView:
    """One generated input of the guided form."""

    key: str
    label: str
    type: str
    required: bool
    help: str
    options: list[dict[str, Any]]
    value: Any
    error: str = ""
    prefilled: bool = False
    files: list[ApplicationFile] = field(default_factory=list)
    accept: str = ""
    min: Any = None
    max: Any = None
    max_length: int | None = None

    @property
    def values(self) -> list[str]:
        """For multiselect: the chosen option values."""
        return [str(v) for v in self.value] if isinstance(self.value, list) else []


# --- the start page -------------------------------------------------------------------------


def _communities_of(request: StaffRequest) -> list[Area]:
    scope = scope_for(request.user)
    return list(Area.objects.filter(pk__in=sorted(scope.area_ids), level=AreaLevel.COMMUNITY).order_by("code"))


@window_only
@require_http_methods(["GET"])
def window_home(request: StaffRequest) -> HttpResponse:
    """Step 0 at the window: who is the applicant, and what do they need."""
    query = request.GET.get("q", "").strip()[:100]
    item_query = request.GET.get("iq", "").strip()[:200]
    person: Person | None = None
    persons: list[Person] = []
    error = ""
    person_id = request.GET.get("person", "")
    if person_id.isdigit():
        person = person_get_for_user(user=request.user, person_id=int(person_id))
    elif query:
        try:
            persons = person_search_for_user(user=request.user, query=query, limit=PERSON_LIMIT)
            person_search_by_id_record(actor=request.user, query=query, found=persons,
                                       request_id=str(getattr(request, "request_id", "")))
        except ValidationFailed as exc:
            error = exc.message
    unknown = request.GET.get("unknown") == "1"
    return render(request, "catalogue/window.html", {
        "query": query, "persons": persons, "person": person, "error": error, "unknown": unknown,
        "item_query": item_query, "hits": search_results(item_query) if item_query else [],
        "communities": _communities_of(request) if unknown else [],
    })


# --- guided form ----------------------------------------------------------------------------


def _clear_values(application: Application) -> dict[str, Any]:
    """The draft's answers in clear text, for the server only; upload fields as file ids."""
    data = application.data or {}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_enc"):
            continue
        token = data.get(f"{key}_enc")
        values[key] = pii.decrypt(token, field=f"application.{key}") if token else value
    form = application.item_version.form
    files = list(application.files.all())
    for step in form.get("steps", []):
        for f in step.get("fields", []):
            if f.get("type") == "upload":
                ids = [row.pk for row in files if row.material_code == f.get("material")]
                if ids:
                    values[f["key"]] = ids
                else:
                    values.pop(f["key"], None)
    return values


def _posted_step(request: StaffRequest, step: Mapping[str, Any], masked: Mapping[str, Any],
                 clear: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[UploadedFile]]]:
    """This step's answers and new uploads from the POST; unchanged masked values restored."""
    values: dict[str, Any] = {}
    uploads: dict[str, list[UploadedFile]] = {}
    for f in step.get("fields", []):
        key, kind = f["key"], f["type"]
        if kind == "upload":
            new = request.FILES.getlist(key)
            if new:
                uploads[key] = new
            if clear.get(key):
                values[key] = clear[key]
            continue
        if kind == "multiselect":
            values[key] = request.POST.getlist(key)
        elif kind == "boolean":
            values[key] = "true" if request.POST.get(key) in {"true", "on", "1"} else "false"
        else:
            raw = request.POST.get(key, "").strip()
            if raw and key in clear and raw == masked.get(key) and raw != clear[key]:
                raw = str(clear[key])
            values[key] = raw
    return values, uploads


def _field_views(step: Mapping[str, Any], shown: Mapping[str, Any], *, errors: Mapping[str, str],
                 files: list[ApplicationFile], prefilled: set[str],
                 materials: Mapping[str, Mapping[str, Any]]) -> list[FieldView]:
    views: list[FieldView] = []
    for f in step.get("fields", []):
        kind = f["type"]
        attached = [row for row in files if row.material_code == f.get("material")] if kind == "upload" else []
        accept = materials.get(f.get("material", ""), {}).get("accept") or list(ACCEPT_KINDS)
        views.append(FieldView(
            key=f["key"], label=f["label"], type=kind, required=bool(f.get("required")),
            help=f.get("help") or "", options=list(f.get("options") or []), value=shown.get(f["key"], ""),
            error=errors.get(f["key"], ""), prefilled=f["key"] in prefilled, files=attached,
            accept=",".join(_HTML_ACCEPT.get(a, "") for a in accept),
            min=f.get("min"), max=f.get("max"), max_length=f.get("max_length"),
        ))
    return views


@dataclass
class Guided:
    """Everything one render of the guided form needs."""

    version: ServiceItemVersion
    person: Person | None
    draft: Application | None
    community: Area | None
    clear: dict[str, Any]  # server side only, never rendered
    shown: dict[str, Any]  # what the inputs show: masked where needed
    prefilled: set[str]


def _masked_view(application: Application | None, clear: Mapping[str, Any]) -> dict[str, Any]:
    if application is None:
        return dict(clear)
    shown = {k: v for k, v in (application.data or {}).items() if not k.endswith("_enc")}
    for key, value in clear.items():
        shown.setdefault(key, value)
    return shown


def _step_url(application: Application, step_key: str) -> str:
    return f"{reverse('catalogue:application_fill', args=[application.pk])}?step={step_key}"


def _render(request: StaffRequest, guided: Guided, step: Mapping[str, Any], steps: list[dict[str, Any]],
            errors: Mapping[str, str], shown: Mapping[str, Any] | None = None, status: int = 200) -> HttpResponse:
    version = guided.version
    index = next((i for i, s in enumerate(steps) if s["key"] == step["key"]), 0)
    files = list(guided.draft.files.all()) if guided.draft is not None else []
    materials = {m["code"]: m for m in version.materials}
    return render(request, "catalogue/guided_form.html", {
        "item": version.item, "version": version, "person": guided.person, "draft": guided.draft,
        "community": guided.community, "steps": steps, "step": step, "index": index,
        "is_first": index == 0, "is_last": index == len(steps) - 1,
        "fields": _field_views(step, shown if shown is not None else guided.shown, errors=errors,
                               files=files, prefilled=guided.prefilled, materials=materials),
        "errors": errors, "idempotency_key": uuid.uuid4().hex,
        "action_url": (reverse("catalogue:application_fill", args=[guided.draft.pk]) if guided.draft
                       else reverse("catalogue:apply", args=[version.item_id])),
    }, status=status)


def _require_step(step: Mapping[str, Any], values: Mapping[str, Any],
                  uploads: Mapping[str, list[UploadedFile]]) -> None:
    """Moving on needs this step's required answers; their format is checked by the service."""
    for f in step.get("fields", []):
        if not f.get("required"):
            continue
        key, label, kind = f["key"], f["label"], f["type"]
        value = values.get(key)
        if kind == "upload":
            if not value and not uploads.get(key):
                raise ValidationFailed(key, _("请上传“%(label)s”") % {"label": label})
        elif kind == "boolean":
            if value != "true":
                raise ValidationFailed(key, _("请确认“%(label)s”") % {"label": label})
        elif value in (None, "", []):
            raise ValidationFailed(key, _("请填写“%(label)s”") % {"label": label})


def _step_of_field(steps: list[dict[str, Any]], key: str | None) -> dict[str, Any] | None:
    for step in steps:
        if any(f["key"] == key for f in step.get("fields", [])):
            return step
    return None


def _guided_post(request: StaffRequest, guided: Guided, step_key: str) -> HttpResponse:
    version = guided.version
    steps = visible_steps(version.form, guided.clear)
    step = next((s for s in steps if s["key"] == step_key), steps[0])
    go = request.POST.get("go", "next")
    go = go if go in NAV_ACTIONS else "next"
    values, uploads = _posted_step(request, step, guided.shown, guided.clear)
    merged = {**guided.clear, **values}
    shown = {**guided.shown, **{k: v for k, v in values.items() if k not in guided.clear or v != guided.clear[k]}}
    try:
        if go in {"next", "submit"}:
            _require_step(step, values, uploads)
        draft = application_save_draft(
            actor=request.user, version=version, applicant=guided.person, data=merged, files=uploads,
            channel=Channel.WINDOW, community=guided.community, draft=guided.draft,
            request_id=request_id_of(request),
        )
    except ValidationFailed as exc:
        return _render(request, guided, step, steps, {exc.field or "": exc.message}, shown=shown, status=422)
    draft.refresh_from_db()
    clear = _clear_values(draft)
    steps = visible_steps(version.form, clear)
    index = next((i for i, s in enumerate(steps) if s["key"] == step["key"]), 0)
    if go == "prev":
        return redirect(_step_url(draft, steps[max(index - 1, 0)]["key"]))
    if go == "save" or (go == "next" and index < len(steps) - 1):
        target = steps[index] if go == "save" else steps[index + 1]
        return redirect(_step_url(draft, target["key"]))
    return _submit(request, draft, clear, steps)


def _submit(request: StaffRequest, draft: Application, clear: dict[str, Any],
            steps: list[dict[str, Any]]) -> HttpResponse:
    try:
        app, _created = application_submit(
            actor=request.user, version=draft.item_version, applicant=draft.applicant, data=clear,
            channel=Channel.WINDOW, idempotency_key=request.POST.get("idempotency_key", "")[:64],
            community=draft.community, draft=draft, request_id=request_id_of(request),
        )
    except ValidationFailed as exc:
        step = _step_of_field(steps, exc.field) or steps[-1]
        guided = _guided_for_draft(request, draft)
        return _render(request, guided, step, steps, {exc.field or "": exc.message}, status=422)
    return redirect("catalogue:application", application_id=app.pk)


def _guided_for_draft(request: StaffRequest, draft: Application) -> Guided:
    clear = _clear_values(draft)
    return Guided(version=draft.item_version, person=draft.applicant, draft=draft, community=draft.community,
                  clear=clear, shown=_masked_view(draft, clear), prefilled=set())


@window_only
@never_cache
@require_http_methods(["GET", "POST"])
def apply_start(request: StaffRequest, item_id: int) -> HttpResponse:
    """The first step for a new application, prefilled from the registry; no draft until posted."""
    item = item_get(item_id=item_id)
    version = item.current_version
    if version is None:
        raise NotFound(_("事项尚未发布"))
    source = request.POST if request.method == "POST" else request.GET
    person_id = source.get("person", "")
    person = person_get_for_user(user=request.user, person_id=int(person_id)) if person_id.isdigit() else None
    community_id = source.get("community", "")
    community = None
    if community_id.isdigit():
        community = next((c for c in _communities_of(request) if c.pk == int(community_id)), None)
        if community is None:
            raise NotFound(_("社区不存在"))
    prefill = application_prefill(user=request.user, version=version, person=person) if person else {}
    guided = Guided(version=version, person=person, draft=None, community=community, clear=dict(prefill),
                    shown=dict(prefill), prefilled=set(prefill))
    steps = visible_steps(version.form, prefill)
    if request.method == "POST":
        return _guided_post(request, guided, request.POST.get("step", steps[0]["key"]))
    return _render(request, guided, steps[0], steps, {})


@window_only
@never_cache
@require_http_methods(["GET", "POST"])
def application_fill(request: StaffRequest, application_id: int) -> HttpResponse:
    """A later step of a draft (or the first one again)."""
    draft = application_get_for_user(user=request.user, application_id=application_id)
    if draft.status != ApplicationStatus.DRAFT:
        return redirect("catalogue:application", application_id=draft.pk)
    guided = _guided_for_draft(request, draft)
    steps = visible_steps(draft.item_version.form, guided.clear)
    wanted = request.POST.get("step") if request.method == "POST" else request.GET.get("step")
    if request.method == "POST":
        try:
            return _guided_post(request, guided, wanted or steps[0]["key"])
        except ApplicationError as exc:
            # Submitted meanwhile (double click, second tab): show where it stands.
            if exc.field == "status":
                return redirect("catalogue:application", application_id=draft.pk)
            raise
    step = next((s for s in steps if s["key"] == wanted), steps[0])
    return _render(request, guided, step, steps, {})
