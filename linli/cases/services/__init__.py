"""Writes of the cases app: intake, the one status writer, merge, photos, supervision sweep.

Every public function here is one atomic, audited service call. ``Case.status`` is only
written by :func:`_apply` below, reached through :func:`case_open` / :func:`case_open_many`
(intake, possibly registering and dispatching at once) and :func:`case_transition`.

Concurrency. A transition locks the row (``select_for_update``) and saves with a
compare-and-swap on ``version``; a caller passing ``expected_version`` learns about a
change made since it loaded the case. The supervision sweeper claims each raise with
``UPDATE … WHERE supervision_level = old AND stage_due_at = old``, so parallel sweeps
raise every case once.

The reference data a district administrator keeps — categories with their deadlines, and
dispatch rules — is written by :mod:`linli.cases.services.reference`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db import DatabaseBackend

from linli.accounts.choices import AssignmentKind, Permission, Role
from linli.accounts.models import AreaAssignment, Department, User
from linli.accounts.selectors import scope_for
from linli.cases import disclosure, workflow
from linli.cases.choices import (
    OPEN_STATUSES,
    CaseAction,
    CaseErrorCode,
    CaseSource,
    CaseStage,
    CaseStatus,
    DispatchTarget,
    SupervisionLevel,
)
from linli.cases.errors import CaseForbidden, CaseRefused
from linli.cases.models import (
    Case,
    CaseEvent,
    CaseNumberSequence,
    CasePhoto,
    Category,
    DispatchRule,
)
from linli.cases.rollups import (
    MISDISPATCH_ACTIONS,
    CaseFacts,
    rollup_apply,
    rollup_apply_many,
    rollup_facts,
    rollup_statements,
)
from linli.cases.selectors import case_visible_to
from linli.core import pii
from linli.core.actors import Actor, SystemActor, actor_label
from linli.core.bulk import (
    Statement,
    bulk_insert_objects,
    execute_together,
    insert_statement,
    reserve_ids,
    unsaved,
)
from linli.core.calendar import SHANGHAI
from linli.core.errors import (
    ApplicationError,
    ErrorCode,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from linli.core.models import REFERENCE_TOPIC, AuditHead
from linli.core.selectors import change_generation
from linli.core.services import (
    AuditTarget,
    audit_append_statements,
    audit_chain_append,
    audit_head_lock_statement,
    audit_record,
    audit_record_many,
)
from linli.geo.choices import AreaLevel
from linli.geo.locator import GridLocator
from linli.geo.models import Area
from linli.geo.selectors import grid_locator, grid_locator_current
from linli.registry.models import Building

logger = logging.getLogger(__name__)

# Automatic steps (registration of trusted channels, rule dispatch, on-spot closing).
SYSTEM_AUTO = SystemActor("system:cases")
_EVENT_CASE = CaseEvent._meta.get_field("case")
SWEEPER = SystemActor("job:cases-sweep")

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 9
MAX_DESCRIPTION = 2000
_PHONE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
# Actions that restart the current stage's clock even when the stage stays the same.
_RESTART_CLOCK = frozenset({
    CaseAction.DISPATCH, CaseAction.APPROVE_DISPATCH, CaseAction.REASSIGN,
    CaseAction.VERIFY_FAIL, CaseAction.REOPEN,
})
_DISPATCHING = frozenset({CaseAction.DISPATCH, CaseAction.APPROVE_DISPATCH, CaseAction.REASSIGN,
                          CaseAction.SUBMIT_DISPATCH})
# What a case's fields are compared on to know what a transition changed.
_TRACKED = tuple(
    f.attname for f in Case._meta.concrete_fields
    if f.attname not in {"id", "number", "created_at", "updated_at", "version"}
)


# --- Photos ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload whose type was recognised from its first bytes."""

    content: bytes
    content_type: str
    extension: str
    sha256: str


PhotoInput = bytes | IO[bytes] | Any


def photo_check(upload: PhotoInput, *, field_name: str = "photos") -> CheckedPhoto:
    """JPEG, PNG or WebP by content (not by name or declared type), at most 10 MB."""
    if isinstance(upload, bytes | bytearray):
        blob = bytes(upload)
    else:
        size = getattr(upload, "size", None)
        if isinstance(size, int) and size > MAX_PHOTO_BYTES:
            raise ValidationFailed(field_name, _("照片不能超过10MB"))
        blob = upload.read(MAX_PHOTO_BYTES + 1)
    if len(blob) > MAX_PHOTO_BYTES:
        raise ValidationFailed(field_name, _("照片不能超过10MB"))
    if blob.startswith(b"\xff\xd8\xff"):
        kind, ext = "image/jpeg", ".jpg"
    elif blob.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, ext = "image/png", ".png"
    elif len(blob) >= 12 and blob[:4] == b"RIFF" and blob[8:12] == b"WEBP":
        kind, ext = "image/webp", ".webp"
    else:
        raise ValidationFailed(field_name, _("照片只能是JPEG、PNG或WebP格式"),
                               code=CaseErrorCode.BAD_PHOTO)
    return CheckedPhoto(blob, kind, ext, hashlib.sha256(blob).hexdigest())


def _photos_check(photos: Iterable[PhotoInput]) -> list[CheckedPhoto]:
    checked = [photo_check(p) for p in photos]
    if len(checked) > MAX_PHOTOS:
        raise ValidationFailed("photos", _("照片最多9张"))
    return checked


def _photos_store(case: Case, event: CaseEvent | None, photos: list[CheckedPhoto],
                  uploader: Actor) -> list[CasePhoto]:
    """Save under ``DATA_DIR/files/cases`` (content-addressed: one file per distinct photo)."""
    stored = []
    for photo in photos:
        row = CasePhoto(case=case, event=event, sha256=photo.sha256, content_type=photo.content_type,
                        size=len(photo.content), uploaded_by_id=uploader.pk)
        name = f"cases/{photo.sha256[:2]}/{photo.sha256}{photo.extension}"
        if row.file.storage.exists(name):
            row.file.name = name
        else:
            row.file.save(f"x{photo.extension}", ContentFile(photo.content), save=False)
        row.save()
        stored.append(row)
    return stored


# --- Intake ----------------------------------------------------------------------------


@dataclass
class CaseInput:
    """One case to open (the keyword arguments of :func:`case_open`)."""

    source: str
    category: Category | int | str
    description: str
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    level: int | None = None
    # What the public feed may show; None: the channel's default (disclosure.default_public_description).
    public_description: str | None = None
    reporter_name: str = ""
    callback_phone: str = ""
    handled_on_spot: bool = False
    source_key: str = ""
    photos: Sequence[PhotoInput] = ()
    # The request that reported it, for its audit entry (a batch may carry several).
    request_id: str = ""
    # An integration key reports only inside its areas: the grids it may report in (None:
    # no such bound, staff report through their role).
    within_grids: frozenset[int] | None = None


@dataclass
class _Valid:
    """A validated intake item."""

    item: CaseInput
    category: Category
    level: int
    description: str
    address: str
    phone: str
    photos: list[CheckedPhoto]
    public_description: str = ""
    grid_id: int | None = None


@dataclass
class _Context:
    """Everything intake and transitions look up, loaded once per call (not per case)."""

    now: datetime
    categories: dict[int, Category] = field(default_factory=dict)
    by_code: dict[str, Category] = field(default_factory=dict)
    rules: list[workflow.RuleView] = field(default_factory=list)
    grid_paths: dict[int, str] = field(default_factory=dict)
    grid_workers: dict[int, int] = field(default_factory=dict)
    grid_chains: dict[int, tuple[int, ...]] = field(default_factory=dict)
    grid_areas: dict[int, Area] = field(default_factory=dict)
    departments: dict[int, Department] = field(default_factory=dict)
    _grids: _GridCache | None = None
    _deadlines: dict[tuple[int, str, datetime], datetime | None] = field(default_factory=dict)

    @classmethod
    def load(cls, now: datetime) -> _Context:
        ctx = cls(now=now)
        stamp = _stamps()
        ctx.categories, ctx.by_code = _categories(stamp)
        grids = _grid_cache_for(stamp)
        ctx.grid_paths, ctx.grid_workers, ctx.grid_chains = grids.paths, grids.workers, grids.chains
        ctx.grid_areas, ctx.departments, ctx._grids = grids.areas, grids.departments, grids
        ctx.rules = grids.rules
        return ctx

    def locator(self) -> GridLocator:
        """The shared grid locator. Its own staleness check is a query; while the reference
        stamp of this context is unchanged no grid can have changed either, so it is checked
        once per stamp. (The locator's own check does not see a bulk ``update`` of a
        boundary: see ``grid_locator_reset``.)"""
        grids = self._grids
        if grids is None:
            return grid_locator()
        if grids.locator is None or grids.locator is not grid_locator_current():
            grids.locator = grid_locator()
        return grids.locator

    def load_grids(self, grid_ids: Iterable[int]) -> None:
        """Paths, ancestor chains and grid workers of the grids (kept in the process cache:
        the dicts are shared by every context of the same stamp)."""
        wanted = {g for g in grid_ids if g not in self.grid_paths}
        if not wanted:
            return
        for area in Area.objects.filter(pk__in=wanted).only("pk", "path", "name", "code", "level"):
            self.grid_paths[area.pk] = area.path
            self.grid_areas[area.pk] = area
            self.grid_chains[area.pk] = tuple(int(p) for p in area.path.strip("/").split("/") if p) or (area.pk,)
        # The primary (A角) grid worker, else any active grid worker of the grid.
        rows = AreaAssignment.objects.filter(
            area_id__in=wanted, user__role=Role.GRID_WORKER, user__is_active=True,
        ).order_by("area_id", "user_id").values_list("area_id", "user_id", "kind")
        for area_id, user_id, kind in rows:
            if kind == AssignmentKind.PRIMARY or area_id not in self.grid_workers:
                self.grid_workers[area_id] = user_id

    def deadline(self, category: Category, stage: str, start: datetime) -> datetime | None:
        key = (category.pk, stage, start)
        if key not in self._deadlines:
            due = workflow.stage_deadline(category, stage, start)
            # In UTC, as the database gives it back: a reply built from the case in memory
            # must read the same as one read from the table.
            self._deadlines[key] = due.astimezone(UTC) if due is not None else None
        return self._deadlines[key]

    def match(self, case: Case) -> workflow.RuleView | None:
        category = self.categories[case.category_id]
        path = self.grid_paths.get(case.grid_id, "") if case.grid_id else ""
        return workflow.match_rule(self.rules, category.pk, path, category_parent_id=category.parent_id)


@dataclass
class _GridCache:
    """Per process: grid paths, ancestor chains, grid workers and the grids themselves
    (filled as grids are seen), and the departments."""

    stamp: tuple[Any, ...]
    departments: dict[int, Department]
    rules: list[workflow.RuleView]
    paths: dict[int, str] = field(default_factory=dict)
    workers: dict[int, int] = field(default_factory=dict)
    chains: dict[int, tuple[int, ...]] = field(default_factory=dict)
    areas: dict[int, Area] = field(default_factory=dict)
    locator: GridLocator | None = None


_category_cache: tuple[tuple[Any, ...], dict[int, Category], dict[str, Category]] | None = None
_grid_cache: _GridCache | None = None


def _stamps() -> tuple[Any, ...]:
    """One primary-key read telling whether the cached catalogue, rules and grid data are
    still current."""
    return (change_generation(REFERENCE_TOPIC),)


def _grid_cache_for(stamp: tuple[Any, ...]) -> _GridCache:
    global _grid_cache  # one per process, like the grid locator
    cached = _grid_cache
    if cached is None or cached.stamp != stamp:
        departments = {d.pk: d for d in Department.objects.all()}
        rules = [
            workflow.RuleView(rule_id=pk, category_id=category_id, area_path=path or "", target=target,
                              department_id=department_id, priority=priority, approval_min_level=approval)
            for pk, category_id, path, target, department_id, priority, approval in
            DispatchRule.objects.filter(active=True).values_list(
                "pk", "category_id", "area__path", "target", "department_id", "priority", "approval_min_level")
        ]
        cached = _grid_cache = _GridCache(stamp, departments, rules)
    return cached


def _categories(stamp: tuple[Any, ...] | None = None) -> tuple[dict[int, Category], dict[str, Category]]:
    """The catalogue, cached per process until a category is added, removed or saved."""
    global _category_cache  # one catalogue per process, like the grid locator
    if stamp is None:
        stamp = _stamps()
    cached = _category_cache
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    by_id = {c.pk: c for c in Category.objects.all()}
    for category in by_id.values():
        if category.parent_id in by_id:  # ``category.parent`` without a query
            category.parent = by_id[category.parent_id]
    by_code = {c.code: c for c in by_id.values()}
    _category_cache = (stamp, by_id, by_code)
    return by_id, by_code


def _role_of(actor: Actor) -> str:
    return actor.role if isinstance(actor, User) else workflow.SYSTEM


_SOURCES = frozenset(CaseSource.values)  # the enum's ``values`` is rebuilt on every access


def _validate(item: CaseInput, ctx: _Context, role: str) -> _Valid:
    """Field-named errors, in the order a form shows them; nothing is written before."""
    if item.source not in _SOURCES:
        raise ValidationFailed("source", _("未知的事件来源"))
    if not workflow.may_open(item.source, role):
        raise ApplicationError(ErrorCode.PERMISSION_DENIED, _("当前角色不能以该来源上报事件"),
                               field="source")
    raw = item.category
    category = None
    if isinstance(raw, Category):
        category = ctx.categories.get(raw.pk)
    elif isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit() and int(raw) in ctx.categories
                                  and raw not in ctx.by_code):
        category = ctx.categories.get(int(raw))
    elif isinstance(raw, str):
        category = ctx.by_code.get(raw)
    if category is None or not category.active:
        raise ValidationFailed("category", _("事件类别不存在或已停用"))
    if category.parent_id is None:
        raise ValidationFailed("category", _("请选择小类"))
    description = (item.description or "").strip()
    if not description:
        raise ValidationFailed("description", _("请填写事件描述"))
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed("description", _("事件描述不能超过2000字"))
    if item.public_description is None:
        public = disclosure.default_public_description(item.source, description)
    else:
        public = item.public_description.strip()
        if len(public) > MAX_DESCRIPTION:
            raise ValidationFailed("public_description", _("公开描述不能超过2000字"))
    if (item.lon is None) != (item.lat is None):
        raise ValidationFailed("lat" if item.lat is None else "lon", _("经纬度须同时提供"))
    if item.lon is not None and item.lat is not None:
        if not (isinstance(item.lon, int | float) and math.isfinite(item.lon) and -180 <= item.lon <= 180):
            raise ValidationFailed("lon", _("经度无效"))
        if not (isinstance(item.lat, int | float) and math.isfinite(item.lat) and -90 <= item.lat <= 90):
            raise ValidationFailed("lat", _("纬度无效"))
    address = (item.address or "").strip()
    if len(address) > 200:
        raise ValidationFailed("address", _("地址不能超过200字"))
    if item.lon is None and not address:
        raise ValidationFailed("lon", _("请提供位置或地址"))
    level = category.default_level if item.level is None else item.level
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        raise ValidationFailed("level", _("等级须为1到5"))
    if len(item.reporter_name) > 50:
        raise ValidationFailed("reporter_name", _("上报人姓名不能超过50字"))
    phone = re.sub(r"[\s()]", "", item.callback_phone or "")
    if phone and not _PHONE.match(phone):
        raise ValidationFailed("callback_phone", _("回访电话格式不正确"))
    if len(item.source_key) > 100:
        raise ValidationFailed("source_key", _("幂等键不能超过100个字符"))
    if item.handled_on_spot and item.source != CaseSource.PATROL:
        raise ValidationFailed("handled_on_spot", _("只有网格员巡查上报的事件可以自行处置"))
    photos = _photos_check(item.photos)
    # Stored masked, so staff see on the case exactly what the public feed shows.
    return _Valid(item, category, level, description, address, phone, photos,
                  public_description=disclosure.public_text(public))


def _address_candidates(address: str) -> list[str]:
    """The address and its prefixes ending in 号/幢/栋/座 (``望江路12号3单元501`` → ``望江路12号``)."""
    cuts = [i + 1 for i, ch in enumerate(address) if ch in "号幢栋座"]
    return [address, *(address[:i] for i in cuts)]


def _locate(valid: list[_Valid], ctx: _Context) -> None:
    """Grids for the whole batch: one vectorised locator call, one building query."""
    pointed = [v for v in valid if v.item.lon is not None]
    if pointed:
        lons = np.fromiter((float(v.item.lon or 0.0) for v in pointed), dtype=np.float64, count=len(pointed))
        lats = np.fromiter((float(v.item.lat or 0.0) for v in pointed), dtype=np.float64, count=len(pointed))
        ids, _status = ctx.locator().locate_many(lons, lats)
        for v, grid_id in zip(pointed, ids.tolist(), strict=True):
            v.grid_id = grid_id if grid_id >= 0 else None
    by_address = [v for v in valid if v.item.lon is None and v.address]
    if by_address:
        wanted = {c for v in by_address for c in _address_candidates(v.address)}
        found = dict(Building.objects.filter(address__in=wanted).values_list("address", "grid_id"))
        for v in by_address:
            # Longest matching prefix first: the most precise building.
            for candidate in sorted(_address_candidates(v.address), key=len, reverse=True):
                if candidate in found:
                    v.grid_id = found[candidate]
                    break


def _refuse_outside_bounds(valid: list[_Valid]) -> None:
    """A bound item located in a grid outside its bounds is refused like a bad position:
    naming the field, and saying no more (not which grid it fell in). An item located
    nowhere goes the way every unlocated report goes (the street's triage)."""
    for index, v in enumerate(valid):
        bound = v.item.within_grids
        if bound is not None and v.grid_id is not None and v.grid_id not in bound:
            error = ValidationFailed("lon" if v.item.lon is not None else "address",
                                     _("位置不在接口密钥的服务区域内"))
            error.extra["index"] = index
            raise error


def _numbers(now: datetime, count: int) -> list[str]:
    """``count`` fresh numbers for today, reserved with one atomic upsert (no gaps between
    concurrent callers, no duplicates)."""
    [[(last,)]] = execute_together([_numbers_statement(now, count)])
    return _numbers_from(now, int(last), count)


def _numbers_statement(now: datetime, count: int) -> Statement:
    """The upsert of the day's counter by ``count``; returns the last number reserved and
    locks the day's row until the commit."""
    table = CaseNumberSequence._meta.db_table
    sql = (f"INSERT INTO {table} (day, last) VALUES (%s, %s) ON CONFLICT (day) "  # noqa: S608 -- table name from the model
           f"DO UPDATE SET last = {table}.last + EXCLUDED.last RETURNING last")
    return sql, [now.astimezone(SHANGHAI).date(), count]


def _numbers_from(now: datetime, last: int, count: int) -> list[str]:
    prefix = getattr(settings, "LINLI_CASE_NUMBER_PREFIX", "AJ")
    day = now.astimezone(SHANGHAI).date()
    return [f"{prefix}-{day:%Y%m%d}-{n:04d}" for n in range(last - count + 1, last + 1)]


def _snapshot(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in _TRACKED}


def _apply(case: Case, action: str, *, actor: Actor, ctx: _Context, note: str = "",
           data: dict[str, Any] | None = None) -> CaseEvent:
    """Move ``case`` (in memory) through ``action`` and return its unsaved timeline event.

    The caller has checked the table, role and scope; this applies the side effects:
    timestamps, assignment, deadlines, counters. The one place that writes ``status``.
    """
    data = dict(data or {})
    now = ctx.now
    from_status = case.status
    to_status = workflow.next_status(from_status, action)
    if to_status is None:  # pragma: no cover -- callers check first
        raise AssertionError(f"{action} from {from_status}")
    category = ctx.categories[case.category_id]

    def handle_deadline() -> datetime | None:
        return ctx.deadline(category, CaseStage.HANDLE, now)

    if action == CaseAction.REGISTER:
        case.registered_at = now
    elif action in _DISPATCHING:
        case.assignee_id = data.get("assignee_id")
        case.department_id = data.get("department_id")
        case.dispatch_rule_id = data.get("rule_id")
        if action != CaseAction.SUBMIT_DISPATCH:
            case.dispatched_at = now
            case.accepted_at = None
            case.due_at = handle_deadline()
    elif action == CaseAction.REJECT_BACK:
        case.assignee_id = None
        case.department_id = None
        case.accepted_at = None
    elif action == CaseAction.ACCEPT:
        case.accepted_at = now
    elif action == CaseAction.HANDLE_ON_SPOT:
        case.handled_on_spot = True
        case.assignee_id = actor.pk
        case.registered_at = case.registered_at or now
        case.handled_at = now
    elif action == CaseAction.REPORT_BACK:
        case.handled_at = now
    elif action == CaseAction.REQUEST_EXTENSION:
        case.extension_requested_until = data["until"]
    elif action == CaseAction.APPROVE_EXTENSION:
        case.due_at = case.stage_due_at = case.extension_requested_until
        case.extension_requested_until = None
        case.extension_count += 1
        case.supervision_level = SupervisionLevel.NONE
    elif action == CaseAction.REJECT_EXTENSION:
        case.extension_requested_until = None
    elif action == CaseAction.SUSPEND:
        # Office time left, so that resuming extends the deadline by working time only.
        remaining = workflow.working_seconds_between(now, case.stage_due_at) if case.stage_due_at else 0
        case.suspended_remaining_s = remaining
    elif action == CaseAction.VERIFY_PASS:
        case.verified_at = now
    elif action in (CaseAction.VERIFY_FAIL, CaseAction.REOPEN):
        case.rework_count += 1
        case.accepted_at = None
        case.dispatched_at = now
        case.due_at = handle_deadline()
        if action == CaseAction.REOPEN:
            case.verified_at = case.closed_at = case.evaluated_at = None
            case.satisfaction = None
    elif action == CaseAction.CLOSE:
        case.closed_at = now
    elif action == CaseAction.EVALUATE:
        case.satisfaction = data["satisfaction"]
        case.evaluated_at = now
    elif action == CaseAction.MERGE:
        case.merged_into_id = data["into_id"]

    case.status = to_status

    # The stage clock.
    new_stage = workflow.STAGE_OF_STATUS[to_status]
    if action == CaseAction.RESUME:
        case.stage = new_stage
        case.stage_started_at = now
        case.due_at = case.stage_due_at = workflow.resume_deadline(now, case.suspended_remaining_s or 0)
        case.suspended_remaining_s = None
        case.supervision_level = SupervisionLevel.NONE
    elif new_stage != case.stage or action in _RESTART_CLOCK:
        case.stage = new_stage
        case.stage_started_at = now if new_stage else None
        if new_stage == CaseStage.HANDLE:
            case.stage_due_at = case.due_at
        elif new_stage:
            case.stage_due_at = ctx.deadline(category, new_stage, now)
        else:
            case.stage_due_at = None
        case.supervision_level = SupervisionLevel.NONE

    event_data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
    return _event(case, action=action, from_status=from_status, to_status=to_status, actor=actor, note=note,
                  data=event_data, at=now)


def _event(case: Case, *, action: str, from_status: str, to_status: str, actor: Actor, data: dict[str, Any],
           at: datetime, note: str = "") -> CaseEvent:
    """The unsaved timeline event of ``case`` (which may itself be unsaved: batch intake sets
    ``case_id`` once the ids are drawn)."""
    event = unsaved(CaseEvent, {
        "case_id": case.pk, "action": action, "from_status": from_status, "to_status": to_status,
        "actor_id": actor.pk, "actor_label": actor_label(actor)[:150], "note": note, "data": data, "at": at,
    })
    _EVENT_CASE.set_cached_value(event, case)  # ``event.case`` without a query, as ``case=`` gives
    return event


def _auto_dispatch(case: Case, ctx: _Context) -> CaseEvent | None:
    """Dispatch by the matching rule, or ``None`` when none fits: the case then waits,
    registered, in the street's dispatch queue. A rule naming the grid's worker does not
    send a grid worker's own report back to him (he would have handled it on the spot if
    he could)."""
    rule = ctx.match(case)
    if rule is None:
        return None
    if rule.target == DispatchTarget.GRID_WORKER:
        worker = ctx.grid_workers.get(case.grid_id) if case.grid_id else None
        if worker is None or worker == case.reporter_id:
            return None
        data: dict[str, Any] = {"assignee_id": worker, "department_id": None, "rule_id": rule.rule_id}
    else:
        if rule.department_id is None:
            return None
        data = {"assignee_id": None, "department_id": rule.department_id, "rule_id": rule.rule_id}
    needs = workflow.dispatch_needs_approval(
        level=case.level, approval_min_level=rule.approval_min_level, role=workflow.SYSTEM,
    )
    action = CaseAction.SUBMIT_DISPATCH if needs else CaseAction.DISPATCH
    return _apply(case, action, actor=SYSTEM_AUTO, ctx=ctx, data=data)


def _audit_many(*, actor: Actor, action: str, target_ids: Sequence[int | str], fields: Sequence[str],
                reason: str = "", request_id: str = "") -> None:
    """One audit entry per case of a batch, under a single lock on the audit chain."""
    audit_record_many(actor=actor, action=action, target_type="cases.Case",
                      targets=[(target, fields) for target in target_ids], reason=reason,
                      request_id=request_id)


def _notify_on_commit(case_ids: list[int], kind: str) -> None:
    if not case_ids:
        return

    def enqueue() -> None:
        from linli.cases.tasks import case_notify

        try:
            case_notify.enqueue(case_ids=case_ids, kind=kind)
        except Exception:  # a lost notification must not fail the committed request
            logger.exception("could not enqueue case notification %s", kind)

    transaction.on_commit(enqueue)


_OPEN_FIELDS = ("source", "category", "level", "description", "public_description", "address", "lon", "lat", "grid",
                "reporter_name", "case.callback_phone", "handled_on_spot", "source_key")


def _build(valid: _Valid, *, actor: Actor, role: str, ctx: _Context) -> tuple[Case, list[CaseEvent]]:
    """The new case in memory with its timeline: open, then register/dispatch as due. No
    number yet: ``_insert`` reserves them, as late as it can."""
    item = valid.item
    phone_enc = pii.encrypt(valid.phone, field="case.callback_phone") if valid.phone else ""
    case = unsaved(Case, {
        "source": item.source, "source_key": item.source_key, "category_id": valid.category.pk,
        "level": valid.level, "description": valid.description, "address": valid.address,
        "public_description": valid.public_description, "lon": item.lon, "lat": item.lat, "grid_id": valid.grid_id, "status": CaseStatus.REPORTED,
        "reporter_id": actor.pk, "reporter_name": item.reporter_name,
        "callback_phone_enc": phone_enc,
        "callback_phone_masked": pii.mask_phone(valid.phone) if valid.phone else "",
        "stage": CaseStage.REGISTER, "stage_started_at": ctx.now,
        "stage_due_at": ctx.deadline(valid.category, CaseStage.REGISTER, ctx.now),
        "created_at": ctx.now, "updated_at": ctx.now,
    })
    case.category = valid.category  # loaded once per call; no lookup per case
    events = [_event(case, action="open", from_status="", to_status=CaseStatus.REPORTED, actor=actor,
                     data={"source": item.source}, at=ctx.now)]
    if item.handled_on_spot:
        events.append(_apply(case, CaseAction.HANDLE_ON_SPOT, actor=actor, ctx=ctx))
        events.append(_apply(case, CaseAction.VERIFY_PASS, actor=SYSTEM_AUTO, ctx=ctx,
                             note=_("网格员自行处置,现场照片为证")))
        events.append(_apply(case, CaseAction.CLOSE, actor=SYSTEM_AUTO, ctx=ctx))
        return case, events
    if item.source in workflow.UNTRUSTED_SOURCES:
        return case, events
    registrar = actor if workflow.role_may(role, CaseAction.REGISTER) else SYSTEM_AUTO
    events.append(_apply(case, CaseAction.REGISTER, actor=registrar, ctx=ctx))
    dispatched = _auto_dispatch(case, ctx)
    if dispatched is not None:
        events.append(dispatched)
    return case, events


# Up to this many cases a batch is inserted with ``INSERT … RETURNING`` (one round trip,
# ids come back); above, by COPY and one query for the ids.
_SMALL_BATCH = 20
# Up to this many cases PostgreSQL takes the two-round-trip path (``_insert_contended_last``):
# a group commit's largest batch (``group_commit.MAX_BATCH``), so that a busy web worker's
# batches do not fall back to ten round trips just when the hot rows are most contended.
_TOGETHER_MAX = 100


def _insert_returning(model: type[Case], objects: Sequence[Case]) -> None:
    """One multi-row ``INSERT … RETURNING id``, values exactly as built (``raw``: no
    ``auto_now``, the same as the bulk path)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    manager: Any = model._base_manager  # ``_insert`` is what Model.save() uses; not in the stubs
    rows = manager._insert(
        list(objects), fields=fields, returning_fields=model._meta.db_returning_fields, raw=True, using="default",
    )
    for obj, row in zip(objects, rows or [], strict=False):
        obj.pk = row[0]
        obj._state.adding = False


def _insert(built: list[tuple[_Valid, Case, list[CaseEvent]]], actor: Actor, request_id: str,
            ctx: _Context) -> None:
    """Number and write the built cases, their timelines, rollups, audit entries and the
    notification job, inside the caller's transaction."""
    if connection.vendor == "postgresql" and len(built) <= _TOGETHER_MAX and not any(v.photos for v, _c, _e in built):
        _insert_contended_last(built, actor, request_id, ctx)
        return
    cases = [case for _v, case, _e in built]
    # Numbers last: reserving them locks the day's counter row until the commit, and every
    # intake in every process waits for that row; building the cases first keeps it short.
    for case, number in zip(cases, _numbers(ctx.now, len(cases)), strict=True):
        case.number = number
    if len(cases) <= _SMALL_BATCH:
        _insert_returning(Case, cases)
    else:
        # Ids drawn first and written with the rows: no query back for them by number.
        for case, pk in zip(cases, reserve_ids(Case, len(cases)), strict=True):
            case.pk = pk
        bulk_insert_objects(Case, cases)
        for case in cases:
            case._state.adding = False
    events = []
    for valid, case, case_events in built:
        for n, event in enumerate(_of_case(case_events, case)):
            if n == 0 and valid.photos:
                event.save()  # the photos point at it: it needs its id
            else:
                events.append(event)
    if len(events) <= 3 * _SMALL_BATCH:
        if events:
            CaseEvent._base_manager.bulk_create(events)
    else:
        bulk_insert_objects(CaseEvent, events)
    rollup_apply_many(_opened_facts(cases, ctx), chains=ctx.grid_chains)
    for valid, case, case_events in built:
        if valid.photos:
            _photos_store(case, case_events[0], valid.photos, actor)
    audit_record_many(actor=actor, action="case.open", target_type="cases.Case", request_id=request_id,
                      targets=_open_targets(built))
    _notify_new(cases)


def _opened_facts(cases: list[Case], ctx: _Context) -> Iterator[tuple[None, CaseFacts]]:
    """What new cases add to the rollups (nothing before them)."""
    for case in cases:
        yield None, rollup_facts(case, misdispatched=False,
                                 major_id=ctx.categories[case.category_id].parent_id or case.category_id)


def _open_targets(built: list[tuple[_Valid, Case, list[CaseEvent]]]) -> list[AuditTarget]:
    return [AuditTarget(case.pk, _OPEN_FIELDS, reason=",".join(e.action for e in case_events),
                        request_id=valid.item.request_id) for valid, case, case_events in built]


def _insert_contended_last(built: list[tuple[_Valid, Case, list[CaseEvent]]], actor: Actor, request_id: str,
                           ctx: _Context) -> None:
    """PostgreSQL, up to ``_TOGETHER_MAX`` cases (a group commit of HTTP reports, a case on its own).

    Rows every intake writes — the day's case counter, the street's and district's
    rollups, the audit head — are locked until the commit, so concurrent intakes (other
    web workers) queue on them. Here what locks none of them goes first (ids, the
    notification job), then the counter, rollups and audit head are taken in one round
    trip and the cases, timelines and audit entries written in a second: held for two round
    trips and the commit instead of ten (docs/benchmarks.md, "intake over HTTP"). Same
    rows, same lock order as ``_insert``.
    """
    cases = [case for _v, case, _e in built]
    for case, pk in zip(cases, reserve_ids(Case, len(cases)), strict=True):
        case.pk = pk
    _notify_new(cases)
    locked = execute_together([_numbers_statement(ctx.now, len(cases)),
                               *rollup_statements(_opened_facts(cases, ctx), chains=ctx.grid_chains),
                               audit_head_lock_statement()])
    head = locked[-1]
    if not head:  # nobody audited in this database yet: the head row is made once
        AuditHead.objects.get_or_create(id=1)
        [head] = execute_together([audit_head_lock_statement()])
    for case, number in zip(cases, _numbers_from(ctx.now, int(locked[0][0][0]), len(cases)), strict=True):
        case.number = number
        case._state.adding = False
    append = audit_chain_append(head=(int(head[0][0]), str(head[0][1])), actor=actor, action="case.open",
                                target_type="cases.Case", targets=_open_targets(built), request_id=request_id)
    events = [event for _v, case, case_events in built for event in _of_case(case_events, case)]
    execute_together([insert_statement(Case, cases), insert_statement(CaseEvent, events),
                      *audit_append_statements(append)])


def _of_case(events: list[CaseEvent], case: Case) -> list[CaseEvent]:
    """``events`` pointed at ``case``'s id: they were built before it had one (the case
    itself is cached on them)."""
    for event in events:
        event.case_id = case.pk
    return events


def case_open_many(*, actor: Actor, items: Sequence[CaseInput], request_id: str = "",
                   now: datetime | None = None) -> list[tuple[Case, bool]]:
    """Open many cases in one transaction: the fast intake path (integrations, imports).

    Per batch, not per case: one category/rule load, one vectorised grid lookup, one
    building query for address-only items, one dedup query, one number reservation, bulk
    inserts of cases and events, one audit-chain lock writing an entry per case. Returns
    ``(case, created)`` in input order; an item whose ``(source, source_key)`` exists already
    (or repeats an earlier item) returns that case with ``created=False``. Any invalid item
    refuses the whole batch (``ValidationFailed`` with the field, ``extra["index"]``).
    """
    ctx = _Context.load(now or timezone.now())
    role = _role_of(actor)
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append(_validate(item, ctx, role))
        except ApplicationError as error:
            error.extra["index"] = index
            raise
    # A lost race on an idempotency key (another transaction committed it between our read
    # and our insert) is read again once: the winner's case is then found like any known key.
    # Only a second loss sends the batch down the one-by-one path.
    for _attempt in range(2):
        existing, fresh = _known_and_fresh(valid)
        _locate(fresh, ctx)
        _refuse_outside_bounds(fresh)
        ctx.load_grids(v.grid_id for v in fresh if v.grid_id)
        built: list[tuple[_Valid, Case, list[CaseEvent]]] = []
        try:
            if fresh:  # all known already: nothing to write
                with transaction.atomic():
                    built = _build_all(fresh, actor=actor, role=role, ctx=ctx)
                    _insert(built, actor, request_id, ctx)
        except IntegrityError:
            if not any(v.item.source_key for v in fresh):
                raise
            continue
        return _in_input_order(valid, built, existing)
    return [_open_one(v, actor=actor, role=role, ctx=ctx, request_id=request_id) for v in valid]


def _known_and_fresh(valid: list[_Valid]) -> tuple[dict[tuple[str, str], Case], list[_Valid]]:
    """The cases that exist already by ``(source, source_key)``, and the items still to open
    (an item repeating an earlier one's key is not opened twice)."""
    keys = {(v.item.source, v.item.source_key) for v in valid if v.item.source_key}
    existing: dict[tuple[str, str], Case] = {}
    if keys:
        sources = {s for s, _k in keys}
        # ``exclude`` repeats the partial index's condition so that SQLite uses the index.
        for case in Case.objects.filter(source__in=sources, source_key__in={k for _s, k in keys}).exclude(
                source_key=""):
            existing[(case.source, case.source_key)] = case
    fresh: list[_Valid] = []
    seen: set[tuple[str, str]] = set()
    for v in valid:
        key = (v.item.source, v.item.source_key)
        if v.item.source_key and (key in existing or key in seen):
            continue
        if v.item.source_key:
            seen.add(key)
        fresh.append(v)
    return existing, fresh


def _in_input_order(valid: list[_Valid], built: list[tuple[_Valid, Case, list[CaseEvent]]],
                    existing: dict[tuple[str, str], Case]) -> list[tuple[Case, bool]]:
    new_cases = {id(v): case for v, case, _e in built}
    by_key = {(v.item.source, v.item.source_key): case for v, case, _e in built if v.item.source_key}
    by_key.update(existing)
    result: list[tuple[Case, bool]] = []
    for v in valid:
        if id(v) in new_cases:
            result.append((new_cases[id(v)], True))
        else:
            result.append((by_key[(v.item.source, v.item.source_key)], False))
    return result


def _build_all(fresh: list[_Valid], *, actor: Actor, role: str, ctx: _Context) -> list[tuple[_Valid, Case, list[CaseEvent]]]:
    built = []
    for v in fresh:
        case, events = _build(v, actor=actor, role=role, ctx=ctx)
        # The reply shows the grid and department: from the process caches, not a query.
        if case.grid_id in ctx.grid_areas:
            case.grid = ctx.grid_areas[case.grid_id]
        if case.department_id in ctx.departments:
            case.department = ctx.departments[case.department_id]
        built.append((v, case, events))
    return built  # numbered by ``_insert``


def _notify_new(cases: list[Case]) -> None:
    """Inside the intake transaction: with the database task backend the job row commits
    with the cases or not at all (DESIGN §4, no lost work) and costs no extra transaction;
    other backends (the immediate one in tests) run the job, so they wait for the commit."""
    from linli.cases.tasks import case_notify

    transactional = isinstance(case_notify.get_backend(), DatabaseBackend)
    for kind, ids in (
        ("dispatched", [c.pk for c in cases if c.status == CaseStatus.DISPATCHED]),
        ("to_dispatch", [c.pk for c in cases if c.status in (CaseStatus.REPORTED, CaseStatus.PENDING_APPROVAL)]),
        # Registered and still undispatched: no rule had a target for it.
        ("unruled", [c.pk for c in cases if c.status == CaseStatus.REGISTERED]),
    ):
        if ids and transactional:
            case_notify.enqueue(case_ids=ids, kind=kind)
        elif ids:
            _notify_on_commit(ids, kind)


def _open_one(v: _Valid, *, actor: Actor, role: str, ctx: _Context, request_id: str) -> tuple[Case, bool]:
    key = v.item.source_key
    if key:
        found = Case.objects.filter(source=v.item.source, source_key=key).exclude(source_key="").first()
        if found is not None:
            return found, False
    try:
        with transaction.atomic():
            built = _build_all([v], actor=actor, role=role, ctx=ctx)
            _insert(built, actor, request_id, ctx)
    except IntegrityError:
        if not key:
            raise
        # The other request committed the same key first: its case is the answer.
        return Case.objects.get(source=v.item.source, source_key=key), False
    return built[0][1], True


def case_open(
    *, actor: Actor, source: str, category: Category | int | str, description: str,
    lon: float | None = None, lat: float | None = None, address: str = "", level: int | None = None,
    reporter_name: str = "", callback_phone: str = "", handled_on_spot: bool = False,
    source_key: str = "", photos: Sequence[PhotoInput] = (), request_id: str = "",
    public_description: str | None = None, within_grids: frozenset[int] | None = None,
) -> tuple[Case, bool]:
    """Open one case from any channel; ``(case, created)``.

    Validates (field-named errors), finds the grid from the position (the shared locator)
    or the address (registry buildings), registers trusted channels at once and dispatches
    by the matching rule; a grid worker's "handled on the spot" case is closed (自行处置).
    The same ``(source, source_key)`` returns the existing case, also under a race. Returns
    after the commit; notifications go out on commit.
    """
    item = CaseInput(
        source=source, category=category, description=description, lon=lon, lat=lat,
        address=address, level=level, reporter_name=reporter_name, callback_phone=callback_phone,
        handled_on_spot=handled_on_spot, source_key=source_key, photos=photos,
        public_description=public_description, within_grids=within_grids,
    )
    ctx = _Context.load(timezone.now())
    role = _role_of(actor)
    valid = _validate(item, ctx, role)
    _locate([valid], ctx)
    _refuse_outside_bounds([valid])
    if valid.grid_id:
        ctx.load_grids([valid.grid_id])
    return _open_one(valid, actor=actor, role=role, ctx=ctx, request_id=request_id)


def case_input_check(*, actor: Actor, item: CaseInput) -> None:
    """Refuse a bad item (the field-named error :func:`case_open` would raise) without
    writing: against the catalogue this process has cached, so no query once warm. Group
    commit checks each request before it joins a batch; the batch validates again."""
    cached = _category_cache
    ctx = _Context(now=timezone.now())
    role = _role_of(actor)
    if cached is not None:
        ctx.categories, ctx.by_code = cached[1], cached[2]
        try:
            _validate(item, ctx, role)
        except ApplicationError:
            pass  # maybe only the cache is stale (a category added): ask the database
        else:
            return
    ctx.categories, ctx.by_code = _categories()
    _validate(item, ctx, role)


# --- Transitions -----------------------------------------------------------------------


def _roles_on(actor: Actor, case: Case) -> set[str]:
    """The roles ``actor`` holds on ``case``: empty means the case is invisible to them."""
    if not isinstance(actor, User):
        return {workflow.SYSTEM}
    roles: set[str] = set()
    if case.reporter_id is not None and case.reporter_id == actor.pk:
        roles.add(workflow.REPORTER)
    if case_visible_to(user=actor, scope=scope_for(actor), case=case, as_reporter=False):
        roles.add(actor.role)
    if roles and _is_handler(actor, case):
        roles.add(workflow.HANDLER)
    return roles


def _refusal_extra(case: Case, roles: set[str]) -> dict[str, Any]:
    return {"status": case.status, "version": case.version,
            "allowed_actions": workflow.allowed_actions(case.status, roles)}


def _is_handler(actor: Actor, case: Case) -> bool:
    if not isinstance(actor, User):
        return True
    if case.assignee_id is not None:
        return case.assignee_id == actor.pk
    if case.department_id is not None and actor.role == Role.DEPARTMENT_STAFF:
        return actor.department_id == case.department_id
    return False


def _dispatch_target(case: Case, data: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    """``assignee`` (a user id) or ``department`` (code or id), else the matching rule."""
    assignee_raw, department_raw = data.get("assignee"), data.get("department")
    if assignee_raw not in (None, ""):
        try:
            assignee = User.objects.get(pk=int(str(assignee_raw)), is_active=True)
        except (User.DoesNotExist, TypeError, ValueError):
            raise ValidationFailed("assignee", _("处置人不存在")) from None
        if assignee.role == Role.GRID_WORKER:
            if case.grid_id is None or case.grid_id not in scope_for(assignee).grid_ids:
                raise ValidationFailed("assignee", _("该网格员不负责事件所在网格"))
            return {"assignee_id": assignee.pk, "department_id": None, "rule_id": None}
        if assignee.role == Role.DEPARTMENT_STAFF:
            if assignee.department_id is None:
                raise ValidationFailed("assignee", _("该部门人员未设置所属部门"))
            return {"assignee_id": assignee.pk, "department_id": assignee.department_id, "rule_id": None}
        raise ValidationFailed("assignee", _("处置人须为网格员或部门人员"))
    if department_raw not in (None, ""):
        query = Department.objects.filter(active=True)
        text = str(department_raw)
        dept = (query.filter(pk=int(text)).first() if text.isdigit() else None) or query.filter(code=text).first()
        if dept is None:
            raise ValidationFailed("department", _("处置部门不存在"))
        return {"assignee_id": None, "department_id": dept.pk, "rule_id": None}
    if case.grid_id:
        ctx.load_grids([case.grid_id])
    rule = ctx.match(case)
    if rule is not None:
        if rule.target == DispatchTarget.GRID_WORKER and case.grid_id in ctx.grid_workers:
            return {"assignee_id": ctx.grid_workers[case.grid_id], "department_id": None, "rule_id": rule.rule_id}
        if rule.target != DispatchTarget.GRID_WORKER and rule.department_id is not None:
            return {"assignee_id": None, "department_id": rule.department_id, "rule_id": rule.rule_id}
    raise ValidationFailed("assignee", _("没有匹配的派遣规则,请指定处置人或处置部门"))


def _parse_until(value: Any, now: datetime, field_name: str) -> datetime:
    if isinstance(value, datetime):
        until = value
    else:
        try:
            until = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationFailed(field_name, _("时间格式不正确")) from None
    if timezone.is_naive(until):
        until = until.replace(tzinfo=SHANGHAI)
    if until <= now:
        raise ValidationFailed(field_name, _("延期时间须晚于当前时间"))
    return until


def _prepare(case: Case, action: str, *, actor: Actor, roles: set[str], data: dict[str, Any],
             ctx: _Context) -> dict[str, Any]:
    """Check the action's own input and rules; the data ``_apply`` needs."""
    extra = _refusal_extra(case, roles)
    if action in _DISPATCHING:
        target = _dispatch_target(case, data, ctx)
        if action == CaseAction.DISPATCH:
            rule = ctx.match(case)
            threshold = rule.approval_min_level if rule else 6
            role = next(iter(roles - {workflow.REPORTER}), workflow.SYSTEM)
            if workflow.dispatch_needs_approval(level=case.level, approval_min_level=threshold, role=role):
                raise CaseRefused(CaseErrorCode.APPROVAL_REQUIRED, _("该等级事件派遣须经街道审批,请提交审批"),
                                  field="action", **extra)
        return target
    if action == CaseAction.REQUEST_EXTENSION:
        if case.extension_requested_until is not None:
            raise CaseRefused(ErrorCode.CONFLICT, _("已有待审批的延期申请"), field="action", **extra)
        if "until" in data:
            return {"until": _parse_until(data["until"], ctx.now, "until")}
        days = data.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 30:
            raise ValidationFailed("days", _("延期天数须为1到30"))
        base = max(case.due_at or ctx.now, ctx.now)
        from linli.core.calendar import deadline_in_working_days

        return {"until": deadline_in_working_days(base, days), "days": days}
    if action in (CaseAction.APPROVE_EXTENSION, CaseAction.REJECT_EXTENSION):
        if case.extension_requested_until is None:
            raise CaseRefused(CaseErrorCode.NO_EXTENSION_PENDING, _("没有待审批的延期申请"),
                              field="action", **extra)
        return {"until": case.extension_requested_until}
    if action == CaseAction.EVALUATE:
        value = data.get("satisfaction")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ValidationFailed("satisfaction", _("满意度须为1到5"))
        return {"satisfaction": value}
    if action == CaseAction.MERGE:
        into = data.get("into")
        if isinstance(into, Case):
            into = into.pk
        other = Case.objects.filter(pk=into).first() if isinstance(into, int) else None
        if other is None or other.pk == case.pk or not other.is_open or other.merged_into_id:
            raise ValidationFailed("into", _("合并目标须为另一件未办结的事件"))
        if isinstance(actor, User) and not case_visible_to(user=actor, scope=scope_for(actor), case=other):
            raise ValidationFailed("into", _("合并目标须为另一件未办结的事件"))
        return {"into_id": other.pk, "into_number": other.number}
    return {}


def case_transition(
    *, case: Case | int, action: str, actor: Actor, expected_version: int | None = None,
    note: str = "", data: dict[str, Any] | None = None, photos: Sequence[PhotoInput] = (),
    request_id: str = "",
) -> Case:
    """Apply ``action`` to the case: the only way a case's status changes after intake.

    Locks the row, checks ``expected_version`` (another person acted first →
    ``CaseRefused(code="conflict")``), the transition table, the actor's role, scope
    (invisible → ``NotFound``) and handler binding, the action's input; then applies the
    side effects, writes the timeline event, photos and the audit entry in one transaction.
    Refusals carry ``status``, ``version`` and ``allowed_actions`` in ``extra``.
    """
    case_id = case if isinstance(case, int) else case.pk
    if action not in CaseAction.__members__.values():
        raise ValidationFailed("action", _("未知的操作"))
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed("note", _("说明不能超过2000字"))
    checked_photos = _photos_check(photos)
    ctx = _Context.load(timezone.now())
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case_id).first()
        if locked is None:
            raise NotFound(_("事件不存在"))
        roles = _roles_on(actor, locked)
        if not roles:
            raise NotFound(_("事件不存在"))
        extra = _refusal_extra(locked, roles)
        if expected_version is not None and locked.version != expected_version:
            raise CaseRefused(ErrorCode.CONFLICT, _("事件已被他人处理,请刷新后重试"), **extra)
        if workflow.next_status(locked.status, action) is None:
            raise CaseRefused(CaseErrorCode.ACTION_NOT_ALLOWED, _("事件当前状态不允许该操作"),
                              field="action", **extra)
        if not any(workflow.role_may(role, action) for role in roles):
            raise CaseForbidden(CaseErrorCode.ROLE_NOT_ALLOWED, _("您的角色不能执行该操作"),
                                field="action", **extra)
        if not workflow.may_act(action, roles):
            raise CaseForbidden(CaseErrorCode.SEPARATION_OF_DUTIES, _("处置人不能核查自己处置的事件"),
                                field="action", **extra)
        if action in workflow.ASSIGNEE_ACTIONS and not _is_handler(actor, locked):
            raise CaseForbidden(CaseErrorCode.NOT_ASSIGNEE, _("只有处置人可以执行该操作"),
                                field="action", **extra)
        if action in workflow.REASON_REQUIRED and not note:
            raise ValidationFailed("note", _("请填写原因"))
        prepared = _prepare(locked, action, actor=actor, roles=roles, data=dict(data or {}), ctx=ctx)
        before = _snapshot(locked)
        category = ctx.categories.get(locked.category_id)
        if category is not None:
            locked.category = category  # the cached catalogue: no lookup for the rollup facts
        facts_before = rollup_facts(locked)
        old_version = locked.version
        event = _apply(locked, action, actor=actor, ctx=ctx, note=note, data=prepared)
        changed = [name for name in _TRACKED if getattr(locked, name) != before[name]]
        locked.version = old_version + 1
        locked.updated_at = ctx.now
        values = {name: getattr(locked, name) for name in changed}
        # Compare-and-swap on top of the row lock: also holds where the lock is a no-op.
        updated = Case.objects.filter(pk=locked.pk, version=old_version).update(
            **values, version=locked.version, updated_at=ctx.now,
        )
        if updated != 1:  # pragma: no cover -- only without row locks
            raise CaseRefused(ErrorCode.CONFLICT, _("事件已被他人处理,请刷新后重试"), **extra)
        event.save()
        if locked.grid_id:
            ctx.load_grids([locked.grid_id])
        rollup_apply(case=locked, before=facts_before, action=action, chains=ctx.grid_chains)
        if checked_photos:
            _photos_store(locked, event, checked_photos, actor)
        audit_record(
            actor=actor, action=f"case.{action}", target_type="cases.Case", target_id=locked.pk,
            fields=[name.removesuffix("_id") for name in changed] + (["photos"] if checked_photos else []),
            request_id=request_id,
        )
    _notify_on_commit([locked.pk], locked.status if action != CaseAction.REQUEST_EXTENSION else "extension")
    return locked


def case_merge(*, case: Case | int, into: Case | int, actor: Actor, note: str = "",
               expected_version: int | None = None, request_id: str = "") -> Case:
    """Merge a duplicate into another open case (the duplicate ends as ``merged``)."""
    into_id = into if isinstance(into, int) else into.pk
    return case_transition(case=case, action=CaseAction.MERGE, actor=actor, note=note,
                           data={"into": into_id}, expected_version=expected_version,
                           request_id=request_id)


def case_photo_add(*, case: Case | int, actor: Actor, photos: Sequence[PhotoInput],
                   request_id: str = "") -> list[CasePhoto]:
    """Attach photos to a case the actor may see (no status change)."""
    checked = _photos_check(photos)
    if not checked:
        raise ValidationFailed("photos", _("请选择照片"))
    case_id = case if isinstance(case, int) else case.pk
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case_id).first()
        if locked is None or not _roles_on(actor, locked):
            raise NotFound(_("事件不存在"))
        event = CaseEvent.objects.create(
            case=locked, action="photo", from_status=locked.status, to_status=locked.status,
            actor_id=actor.pk, actor_label=actor_label(actor)[:150], at=timezone.now(),
            data={"count": len(checked)},
        )
        stored = _photos_store(locked, event, checked, actor)
        audit_record(actor=actor, action="case.photo", target_type="cases.Case", target_id=locked.pk,
                     fields=["photos"], request_id=request_id)
    return stored


def _lock_for_staff(actor: Actor, case: Case | int) -> tuple[Case, set[str]]:
    """The case locked for update and the actor's roles on it, when the actor may see it other
    than as its reporter; else ``NotFound``. Call inside a transaction."""
    case_id = case if isinstance(case, int) else case.pk
    locked = Case.objects.select_for_update().filter(pk=case_id).first()
    roles = _roles_on(actor, locked) if locked is not None else set()
    if locked is None or not roles - {workflow.REPORTER}:
        raise NotFound(_("事件不存在"))
    return locked, roles


def case_public_description_set(*, actor: Actor, case: Case | int, text: str, request_id: str = "") -> Case:
    """Choose what the public feed shows of a case (empty: no description). Staff who may
    see the case only, never its resident reporter; stored masked like at intake; audited
    with the field name only."""
    public = text.strip()
    if len(public) > MAX_DESCRIPTION:
        raise ValidationFailed("public_description", _("公开描述不能超过2000字"))
    with transaction.atomic():
        locked, _roles = _lock_for_staff(actor, case)
        if isinstance(actor, User) and actor.role == Role.RESIDENT:
            raise PermissionDenied(_("居民不能修改公开描述"))
        locked.public_description = disclosure.public_text(public)
        locked.version += 1
        locked.save(update_fields=["public_description", "version", "updated_at"])
        audit_record(actor=actor, action="case.public_description", target_type="cases.Case",
                     target_id=locked.pk, fields=["public_description"], request_id=request_id)
    return locked


def case_regrade(*, actor: Actor, case: Case | int, level: int, reason: str, request_id: str = "") -> Case:
    """Change an open case's level (定级 / 调整等级) with a reason: a timeline event and an
    audit entry. A case raised to level 1 reaches the cockpit's live stream like a new one."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason", _("请填写原因"))
    if len(reason) > 500:
        raise ValidationFailed("reason", _("原因不能超过500字"))
    if not isinstance(level, int) or isinstance(level, bool):
        raise ValidationFailed("level", _("等级须为1到5"))
    with transaction.atomic():
        locked, roles = _lock_for_staff(actor, case)
        refusal = workflow.regrade_refusal(role=_role_of(actor), status=locked.status,
                                           old_level=locked.level, new_level=level)
        if refusal is not None:
            field_name, message = refusal
            if field_name == "level":
                raise ValidationFailed(field_name, message)
            raise CaseForbidden(CaseErrorCode.ROLE_NOT_ALLOWED, message, field=field_name,
                                **_refusal_extra(locked, roles))
        old = locked.level
        now = timezone.now()
        Case.objects.filter(pk=locked.pk).update(level=level, version=F("version") + 1, updated_at=now)
        locked.level, locked.version, locked.updated_at = level, locked.version + 1, now
        CaseEvent.objects.create(
            case=locked, action=workflow.REGRADE_EVENT, from_status=locked.status, to_status=locked.status,
            actor_id=actor.pk, actor_label=actor_label(actor)[:150], at=now, note=reason,
            data={"from_level": old, "to_level": level},
        )
        audit_record(actor=actor, action="case.regrade", target_type="cases.Case", target_id=locked.pk,
                     fields=["level"], reason=reason, request_id=request_id)
    return locked


# --- Supervision sweep -----------------------------------------------------------------


def _street_of(grid_ids: Iterable[int]) -> dict[int, int]:
    """For each grid, the street above it (escalation target: the dispatcher's parent)."""
    paths = dict(Area.objects.filter(pk__in=set(grid_ids)).values_list("pk", "path"))
    ancestors = {int(p) for path in paths.values() for p in path.strip("/").split("/") if p}
    streets = set(Area.objects.filter(pk__in=ancestors, level=AreaLevel.STREET).values_list("pk", flat=True))
    result = {}
    for grid_id, path in paths.items():
        for part in path.strip("/").split("/"):
            if part and int(part) in streets:
                result[grid_id] = int(part)
    return result


def case_supervision_sweep(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Raise the supervision level of every overdue open case; returns how many were raised.

    Idempotent (a second run at the same moment raises nothing) and safe in parallel: each
    raise is claimed by an ``UPDATE`` conditioned on the level and deadline read, so of two
    sweepers only one writes a given raise and its event. Escalated cases (level 3) point
    ``escalated_to`` at the street above the case's grid.
    """
    now = now or timezone.now()
    rows = list(
        Case.objects.filter(status__in=OPEN_STATUSES, stage_due_at__lt=now,
                            supervision_level__lt=SupervisionLevel.ESCALATED)
        .order_by("stage_due_at")
        .values_list("pk", "supervision_level", "stage_due_at", "stage_started_at", "grid_id", "status"),
    )
    raises = []
    for pk, old, due, started, grid_id, status in rows:
        if due is None:
            continue
        length = due - (started or due)
        level = workflow.supervision_level_for(now - due, length)
        if level > old:
            raises.append((pk, old, level, due, grid_id, status))
    escalating = [r[4] for r in raises if r[2] == SupervisionLevel.ESCALATED and r[4]]
    streets = _street_of(escalating) if escalating else {}
    raised = 0
    for start in range(0, len(raises), batch_size):
        chunk = raises[start:start + batch_size]
        with transaction.atomic():
            # The first overdue of a stage counts in the statistics: track those cases.
            first = [r[0] for r in chunk if r[1] == SupervisionLevel.NONE]
            tracked = Case.objects.select_related("category").in_bulk(first) if first else {}
            misdispatched = set(CaseEvent.objects.filter(
                case_id__in=first, action__in=MISDISPATCH_ACTIONS).values_list("case_id", flat=True)) if first else set()
            won = []
            for pk, old, level, due, grid_id, status in chunk:
                values: dict[str, Any] = {"supervision_level": level, "version": F("version") + 1,
                                          "updated_at": now}
                if old == SupervisionLevel.NONE:
                    values["overdue_count"] = F("overdue_count") + 1
                if level == SupervisionLevel.ESCALATED and grid_id in streets:
                    values["escalated_to_id"] = streets[grid_id]
                claimed = Case.objects.filter(
                    pk=pk, supervision_level=old, stage_due_at=due, status__in=OPEN_STATUSES,
                ).update(**values)
                if claimed:
                    won.append((pk, old, level, status))
            changes = []
            for pk, old, _level, _status in won:
                case = tracked.get(pk)
                if old == SupervisionLevel.NONE and case is not None:
                    before = rollup_facts(case, misdispatched=pk in misdispatched)
                    case.overdue_count += 1
                    changes.append((before, rollup_facts(case, misdispatched=pk in misdispatched)))
            if changes:
                rollup_apply_many(changes)
            CaseEvent.objects.bulk_create([
                CaseEvent(case_id=pk, action="supervise", from_status=status, to_status=status,
                          actor_label=SWEEPER.name, at=now, data={"from_level": old, "to_level": level})
                for pk, old, level, status in won
            ])
            _audit_many(actor=SWEEPER, action="case.supervise", target_ids=[w[0] for w in won],
                        fields=["supervision_level", "escalated_to"])
        for level in (1, 2, 3):
            _notify_on_commit([w[0] for w in won if w[2] == level], f"supervise_{level}")
        raised += len(won)
    return raised


def case_open_with_attributes(*, attributes: Mapping[str, str | list[str]], **fields: Any) -> tuple[Case, bool]:
    """:func:`case_open` (same keywords), with the answers to the category's attributes
    (Open311 ``attribute[code]``, checked by the caller) stored on the new case in the same
    transaction. A retried request that finds its case leaves the stored answers alone."""
    with transaction.atomic():
        case, created = case_open(**fields)
        if created and attributes:
            case.attributes = dict(attributes)
            Case.objects.filter(pk=case.pk).update(attributes=case.attributes)
    return case, created


# --- PII ----------------------------------------------------------------------------------

REVEAL_REASON_MIN = 4


def case_phone_reveal(*, actor: User, case: Case, reason: str, request_id: str = "") -> str:
    """The full callback phone of a case, for a user who may see the case and holds the
    reveal permission, with a reason. Audited as who, which case and why — never the number
    (the same rule as ``linli.registry.services.person_reveal``)."""
    scope = scope_for(actor)
    if not case_visible_to(user=actor, scope=scope, case=case, as_reporter=False):
        raise NotFound(_("事件不存在"))
    if not scope.can(Permission.REVEAL_PII):
        raise PermissionDenied(_("无权查看完整证件号和电话"))
    if len(reason.strip()) < REVEAL_REASON_MIN:
        raise ValidationFailed("reason", _("请填写查看事由(至少4个字)"))
    if not case.callback_phone_enc:
        raise ValidationFailed("reason", _("该事件没有登记回访电话"))
    value = pii.decrypt(case.callback_phone_enc, field=Case.PII_FIELDS["callback_phone_enc"])
    with transaction.atomic():
        audit_record(actor=actor, action="case.reveal_phone", target_type="cases.Case", target_id=case.pk,
                     fields=["callback_phone"], reason=reason.strip(), request_id=request_id)
    return value
