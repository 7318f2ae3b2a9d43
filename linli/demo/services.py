"""Writes of the demo app: seeding the demo street into an empty registry.

One transaction for the street's registry rows, a savepoint per grid (buildings → rooms →
households → persons → tags → organisations → facilities), written with the registry's
per-row triggers stood down (:func:`~linli.registry.services.bulk_load.registry_bulk_load`); ids assigned up front so no row is read back. Identifiers are encrypted
on the way in. One audit entry records the whole run, never one per row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import AreaAssignment, User
from linli.accounts.services import department_named
from linli.accounts.workflow import ADMIN_ROLES
from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import ApplicationError, ErrorCode
from linli.core.services import audit_record
from linli.demo.accounts import DEMO_PASSWORD, account_specs
from linli.demo.bulk import BulkWriter
from linli.demo.generator import (
    DEFAULT_RESIDENTS,
    DEFAULT_SEED,
    StreetGenerator,
    StreetPlan,
    plan_street,
)
from linli.demo.rows import GridBatch, IdCounters
from linli.geo.models import Area
from linli.geo.road_files import RoadRow
from linli.geo.services import roads_replace
from linli.registry.models import (
    Building,
    Facility,
    Household,
    Organisation,
    Person,
    PersonTag,
    Room,
    Unit,
)
from linli.registry.services.bulk_load import registry_bulk_load
from linli.registry.text import PII_ID_NUMBER, PII_ORG_PHONE, PII_PHONE, pinyin_keys

Progress = Callable[[str], None]

_PERSON_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "name",
    "name_pinyin",
    "name_initials",
    "id_number_enc",
    "id_number_bidx",
    "id_number_masked",
    "id_number_s4_bidx",
    "id_number_s6_bidx",
    "birth_date",
    "sex",
    "phone_enc",
    "phone_bidx",
    "phone_masked",
    "phone_s4_bidx",
    "phone_s6_bidx",
    "hukou",
    "ethnicity",
    "room",
    "building",
    "grid",
    "household",
    "relation",
    "is_deceased",
    "deceased_on",
)
_SEEDED_MODELS: tuple[type[Model], ...] = (
    Area,
    Building,
    Unit,
    Room,
    Household,
    Person,
    PersonTag,
    Organisation,
    Facility,
    User,
    AreaAssignment,
)
# What one grid's transaction writes, as audit field names.
_BATCH_FIELDS: tuple[str, ...] = tuple(
    m._meta.label_lower
    for m in (Building, Unit, Room, Household, Person, PersonTag, Organisation, Facility)
)


@dataclass
class SeedReport:
    """What a seeding run wrote and how long each stage took (seconds)."""

    street_id: int
    residents: int
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    accounts_created: int = 0

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


class _Clock:
    def __init__(self, report: SeedReport) -> None:
        self.report = report
        self.started = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.report.timings[stage] = self.report.timings.get(stage, 0.0) + now - self.started
        self.started = now


def _next_ids() -> IdCounters:
    def after(model: type[Model]) -> int:
        return int(model._default_manager.aggregate(top=Max("id"))["top"] or 0) + 1

    return IdCounters(
        area=after(Area),
        building=after(Building),
        unit=after(Unit),
        room=after(Room),
        household=after(Household),
        person=after(Person),
        tag=after(PersonTag),
        organisation=after(Organisation),
        facility=after(Facility),
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class _PiiEncoder:
    """Encrypts, blind-indexes and masks identifiers; caches pinyin keys of repeated names."""

    def __init__(self) -> None:
        self._pinyin: dict[str, tuple[str, str]] = {}

    def pinyin(self, name: str) -> tuple[str, str]:
        keys = self._pinyin.get(name)
        if keys is None:
            keys = self._pinyin[name] = pinyin_keys(name)
        return keys

    @staticmethod
    def id_number(value: str) -> tuple[str, str, str]:
        if not value:
            return "", "", ""
        return (
            pii.encrypt(value, field=PII_ID_NUMBER),
            pii.blind_index(value, field=PII_ID_NUMBER),
            pii.mask_id_number(value),
        )

    @staticmethod
    def phone(value: str, field_name: str = PII_PHONE) -> tuple[str, str, str]:
        if not value:
            return "", "", ""
        return (
            pii.encrypt(value, field=field_name),
            pii.blind_index(value, field=field_name),
            pii.mask_phone(value),
        )


def _write_areas(plan: StreetPlan) -> None:
    Area.objects.bulk_create(
        [
            Area(
                id=a.id,
                level=a.level,
                code=a.code,
                name=a.name,
                parent_id=a.parent_id,
                path=a.path,
                boundary=a.boundary,
                centroid_lon=a.centroid_lon,
                centroid_lat=a.centroid_lat,
            )
            for a in plan.areas
        ],
        batch_size=500,
    )


def _write_batch(writer: BulkWriter, encoder: _PiiEncoder, batch: GridBatch, clock: _Clock) -> None:
    s = writer.stamp
    persons = []
    for p in batch.persons:
        pinyin, initials = encoder.pinyin(p.name)
        id_enc, id_bidx, id_masked = encoder.id_number(p.id_number)
        phone_enc, phone_bidx, phone_masked = encoder.phone(p.phone)
        id_tails = pii.suffix_indexes(p.id_number, field=PII_ID_NUMBER)
        phone_tails = pii.suffix_indexes(p.phone, field=PII_PHONE)
        persons.append(
            (
                p.id,
                s,
                s,
                p.name,
                pinyin,
                initials,
                id_enc,
                id_bidx,
                id_masked,
                *id_tails,
                p.birth_date.isoformat(),
                p.sex,
                phone_enc,
                phone_bidx,
                phone_masked,
                *phone_tails,
                p.hukou,
                p.ethnicity,
                p.room_id,
                p.building_id,
                p.grid_id,
                p.household_id,
                p.relation,
                p.is_deceased,
                _iso(p.deceased_on),
            )
        )
    organisations = []
    for o in batch.organisations:
        phone_enc, _bidx, phone_masked = encoder.phone(o.contact_phone, PII_ORG_PHONE)
        organisations.append(
            (
                o.id,
                s,
                s,
                o.kind,
                o.name,
                o.credit_code,
                o.grid_id,
                o.building_id,
                o.address,
                o.lon,
                o.lat,
                o.contact_name,
                phone_enc,
                phone_masked,
                o.employees,
            )
        )
    clock.lap("encrypt")
    writer.insert(
        Building,
        (
            "id",
            "created_at",
            "updated_at",
            "grid",
            "compound",
            "name",
            "address",
            "lon",
            "lat",
            "floors",
            "built_year",
            "footprint",
        ),
        (
            (
                b.id,
                s,
                s,
                b.grid_id,
                b.compound,
                b.name,
                b.address,
                b.lon,
                b.lat,
                b.floors,
                b.built_year,
                json.dumps(b.footprint) if b.footprint is not None else None,
            )
            for b in batch.buildings
        ),
    )
    writer.insert(
        Unit,
        ("id", "created_at", "updated_at", "building", "number"),
        ((u.id, s, s, u.building_id, u.number) for u in batch.units),
    )
    writer.insert(
        Room,
        ("id", "created_at", "updated_at", "unit", "building", "floor", "number", "use", "area_m2"),
        (
            (r.id, s, s, r.unit_id, r.building_id, r.floor, r.number, r.use, r.area_m2)
            for r in batch.rooms
        ),
    )
    writer.insert(
        Household,
        ("id", "created_at", "updated_at", "number", "room", "grid", "head"),
        ((h.id, s, s, h.number, h.room_id, h.grid_id, h.head_id) for h in batch.households),
    )
    writer.insert(Person, _PERSON_FIELDS, persons)
    writer.insert(
        PersonTag,
        (
            "id",
            "created_at",
            "updated_at",
            "person",
            "kind",
            "source",
            "valid_from",
            "valid_to",
            "note",
        ),
        (
            (
                t.id,
                s,
                s,
                t.person_id,
                t.kind,
                t.source,
                t.valid_from.isoformat(),
                _iso(t.valid_to),
                t.note,
            )
            for t in batch.tags
        ),
    )
    writer.insert(
        Organisation,
        (
            "id",
            "created_at",
            "updated_at",
            "kind",
            "name",
            "credit_code",
            "grid",
            "building",
            "address",
            "lon",
            "lat",
            "contact_name",
            "contact_phone_enc",
            "contact_phone_masked",
            "employees",
        ),
        organisations,
    )
    writer.insert(
        Facility,
        (
            "id",
            "created_at",
            "updated_at",
            "kind",
            "code",
            "name",
            "grid",
            "building",
            "lon",
            "lat",
            "in_service",
        ),
        (
            (
                f.id,
                s,
                s,
                f.kind,
                f.code,
                f.name,
                f.grid_id,
                f.building_id,
                f.lon,
                f.lat,
                f.in_service,
            )
            for f in batch.facilities
        ),
    )
    clock.lap("write")


def _create_accounts(plan: StreetPlan, actor: Actor) -> int:
    """Demo users with one argon2 hash shared by all (argon2 is slow by design); department
    staff belong to their department (the seed's 民政办, 残联), as on a real site."""
    specs = account_specs(plan)
    existing = set(
        User.objects.filter(username__in=[s.username for s in specs]).values_list(
            "username", flat=True
        )
    )
    specs = [s for s in specs if s.username not in existing]
    if not specs:
        return 0
    departments = {
        code: department_named(actor=actor, text=code)
        for code in {s.department for s in specs}
        if code
    }
    password = make_password(DEMO_PASSWORD)
    users = User.objects.bulk_create(
        [
            User(
                username=s.username,
                password=password,
                role=s.role,
                display_name=s.display_name,
                department=departments.get(s.department),
                is_staff=s.role in ADMIN_ROLES,
            )
            for s in specs
        ]
    )
    areas = dict(
        Area.objects.filter(code__in={c for s in specs for c, _ in s.assignments}).values_list(
            "code", "id"
        )
    )
    AreaAssignment.objects.bulk_create(
        [
            AreaAssignment(user=user, area_id=areas[code], kind=kind)
            for user, spec in zip(users, specs, strict=True)
            for code, kind in spec.assignments
        ]
    )
    return len(users)


def registry_refusal() -> str | None:
    """Why seeding is refused now (in Chinese), or None when the registry is empty enough."""
    if Person.objects.exists():
        return _("实有人口库中已有人员数据,演示数据只能写入空库。")
    return None


def demo_seed(
    *,
    actor: Actor,
    residents: int = DEFAULT_RESIDENTS,
    seed: int = DEFAULT_SEED,
    street_only: bool = False,
    analyze: bool = True,
    progress: Progress | None = None,
) -> SeedReport:
    """Seed the demo street into an empty registry and return what was written.

    ``street_only`` writes the area tree and the demo accounts but no buildings or people.
    Refuses (``conflict``) when persons exist or the street's areas are already there.
    """
    if residents < 0:
        raise ApplicationError(ErrorCode.INVALID, _("居民人数不能为负数"), field="residents")
    refusal = registry_refusal()
    plan_ids = _next_ids()
    plan = plan_street(seed=seed, residents=0 if street_only else residents, ids=plan_ids)
    if refusal is None and Area.objects.filter(code__in=[a.code for a in plan.areas]).exists():
        refusal = _("区域树中已有演示街道的区划编码,演示数据只能写入空库。")
    if refusal is not None:
        raise ApplicationError(ErrorCode.CONFLICT, refusal)
    say = progress or (lambda _message: None)
    report = SeedReport(
        street_id=plan.street.id, residents=0 if street_only else residents, seed=seed
    )
    clock = _Clock(report)
    writer = BulkWriter(now=timezone.now())
    # Each transaction below carries its own audit entry, so a run that stops half-way
    # leaves no unaudited rows behind (the grids' entries commit with the whole street).
    with transaction.atomic():
        _write_areas(plan)
        audit_record(
            actor=actor,
            action="demo.seed_areas",
            target_type="geo.area",
            target_id=plan.street.id,
            fields=["geo.area"],
            reason=f"areas={len(plan.areas)}",
        )
        report.counts["roads"] = roads_replace(
            actor=actor,
            source="demo",
            roads=[RoadRow(name=name, geometry=dict(line)) for name, line in plan.roads],
        )
    report.counts["areas"] = len(plan.areas)
    clock.lap("areas")
    say(f"areas: {len(plan.areas)} ({report.timings['areas']:.1f}s)")
    counts = report.counts
    if not street_only:
        generator = StreetGenerator(plan, ids=plan_ids)
        encoder = _PiiEncoder()
        done = 0
        # One transaction for the whole street, the registry's per-row triggers stood down and
        # what they keep (household member counts, digest and sweep stamps) computed once at
        # its end: row by row they cost five times the rest of the seed on SQLite.
        with registry_bulk_load():
            for batch in generator.grid_batches():
                clock.lap("generate")
                with transaction.atomic():
                    _write_batch(writer, encoder, batch, clock)
                    audit_record(
                        actor=actor,
                        action="demo.seed_grid",
                        target_type="geo.area",
                        target_id=batch.grid.area.id,
                        fields=_BATCH_FIELDS,
                        reason=f"persons={len(batch.persons)}",
                    )
                for name in (
                    "buildings",
                    "units",
                    "rooms",
                    "households",
                    "persons",
                    "tags",
                    "organisations",
                    "facilities",
                ):
                    counts[name] = counts.get(name, 0) + len(getattr(batch, name))
                done += len(batch.persons)
                if progress is not None and (
                    batch.grid.seq % 5 == 0 or batch.grid.seq == len(plan.grids)
                ):
                    say(f"grid {batch.grid.seq}/{len(plan.grids)}: {done:,} residents")
                clock.lap("write")
        clock.lap("catch_up")
    with transaction.atomic():
        report.accounts_created = _create_accounts(plan, actor)
        writer.reset_sequences(_SEEDED_MODELS)
        audit_record(
            actor=actor,
            action="demo.seed",
            target_type="geo.area",
            target_id=plan.street.id,
            fields=[m._meta.label_lower for m in _SEEDED_MODELS],
            reason=f"seed={seed} residents={report.residents}",
        )
    clock.lap("accounts")
    if analyze:
        writer.analyze()
        clock.lap("analyze")
    return report


def demo_seed_if_empty(
    *,
    actor: Actor,
    residents: int = DEFAULT_RESIDENTS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> SeedReport | None:
    """Seed the default street when there are no areas at all; None when data is reused."""
    if Area.objects.exists():
        return None
    return demo_seed(actor=actor, residents=residents, seed=seed, progress=progress)
