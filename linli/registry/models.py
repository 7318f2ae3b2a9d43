"""The registry (一库): places (building → unit → room), households, persons, organisations,
facilities and key-population tags.

Personal identifiers are stored three ways: ciphertext (``*_enc``, AES-GCM), a keyed blind
index for exact lookup (``*_bidx``) and the masked form shown by default (``*_masked``).
``grid`` and ``building`` on a person are denormalised from the room so scoped searches
over a million persons stay index-only; services keep them in step.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel
from linli.registry.choices import (
    FacilityKind,
    HukouStatus,
    OrganisationKind,
    Relation,
    RoomUse,
    Sex,
    TagKind,
)
from linli.registry.text import PII_ID_NUMBER, PII_ORG_PHONE, PII_PHONE


class Building(TimeStampedModel):
    """A building (楼栋) inside a grid."""

    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="buildings")
    compound = models.CharField(_("小区"), max_length=100, blank=True)
    name = models.CharField(_("楼栋"), max_length=50)
    address = models.CharField(_("地址"), max_length=200, db_index=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    floors = models.PositiveSmallIntegerField(_("层数"), default=1)
    built_year = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    # The outline on the base map: a GeoJSON Polygon in WGS-84, like Area.boundary; empty
    # when only the point is known (the map then draws a dot).
    footprint = models.JSONField(_("轮廓"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["address"]
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        # Emergency mode asks "which buildings lie in this box" before the exact polygon test.
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["lon", "lat"], name="building_lon_lat_idx")]

    def __str__(self) -> str:
        return self.address


class Unit(TimeStampedModel):
    """An entrance/stairwell (单元) of a building."""

    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="units")
    number = models.PositiveSmallIntegerField(_("单元号"))

    class Meta:
        ordering: ClassVar[list[str]] = ["building_id", "number"]
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["building", "number"], name="unit_building_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.number}单元"


class Room(TimeStampedModel):
    """A room / flat (房屋) with its use."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="rooms")
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="rooms")
    floor = models.SmallIntegerField(_("楼层"))
    number = models.CharField(_("室号"), max_length=10)
    use = models.CharField(_("用途"), max_length=16, choices=RoomUse.choices, default=RoomUse.SELF_OCCUPIED)
    area_m2 = models.DecimalField(_("面积(㎡)"), max_digits=7, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["building_id", "unit_id", "floor", "number"]
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        # Emergency mode walks from an area's buildings to their households (cockpit
        # selectors): rooms of a building, then households of a room, read from the indexes alone.
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["building", "id"], name="room_building_idx")]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["unit", "number"], name="room_unit_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.number}室"


class Household(TimeStampedModel):
    """A household (户) living in a room; members are persons with a relation to the head."""

    number = models.CharField(_("户号"), max_length=30, unique=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="households")
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="households")
    head = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    # How many members are alive, kept by database triggers (migration 0014) on every write
    # to persons and households, whichever path writes: services, fusion's bulk loads, the demo
    # seeder, raw SQL. A direct write of it is recomputed. Care's rules read household size
    # here: counting every household's members was the slowest part of a live match count.
    living_members = models.PositiveIntegerField(_("在世成员数"), default=0, db_default=0, editable=False)

    class Meta:
        ordering: ClassVar[list[str]] = ["number"]
        verbose_name = _("户")
        verbose_name_plural = _("户")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["room", "id"], name="household_room_idx"),
            # Care's rules: households of a size (特困: living alone) as a range of this index.
            models.Index(fields=["living_members", "id"], name="household_living_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class Person(TimeStampedModel):
    """A person (实有人口). Identifiers are encrypted; see the module docstring."""

    # Encrypted columns and the field name bound into their ciphertexts (key rotation uses it).
    PII_FIELDS: ClassVar[dict[str, str]] = {"id_number_enc": PII_ID_NUMBER, "phone_enc": PII_PHONE}

    name = models.CharField(_("姓名"), max_length=50)
    name_pinyin = models.CharField(_("拼音"), max_length=200)
    name_initials = models.CharField(_("拼音首字母"), max_length=50)
    id_number_enc = models.TextField(_("身份证号(密文)"), blank=True)
    id_number_bidx = models.CharField(max_length=32, blank=True, db_index=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, blank=True)
    # Keyed indexes of the last 4 and last 6 characters (pii.suffix_index): suffix search.
    id_number_s4_bidx = models.CharField(max_length=16, blank=True)
    id_number_s6_bidx = models.CharField(max_length=16, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    phone_enc = models.TextField(_("电话(密文)"), blank=True)
    phone_bidx = models.CharField(max_length=32, blank=True, db_index=True)
    phone_masked = models.CharField(_("电话"), max_length=20, blank=True)
    phone_s4_bidx = models.CharField(max_length=16, blank=True)
    phone_s6_bidx = models.CharField(max_length=16, blank=True)
    hukou = models.CharField(_("户籍类别"), max_length=16, choices=HukouStatus.choices, default=HukouStatus.LOCAL)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents")
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="persons")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # A person no room places yet (an import's unresolved address) belongs to this area (the
    # importing street or community) and waits in its 待落位 list; cleared when placed.
    area = models.ForeignKey("geo.Area", verbose_name=_("待落位区域"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices, blank=True)
    is_deceased = models.BooleanField(_("已故"), default=False)
    deceased_on = models.DateField(_("死亡日期"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name_pinyin", "id"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes: ClassVar[list[models.Index]] = [
            # Scoped prefix searches: grid first, then the search key; ``id`` last so the
            # search reads (key, id) from the index alone on PostgreSQL too (SQLite indexes
            # carry the rowid anyway). See selectors._prefix_ids.
            models.Index(fields=["grid", "name", "id"], name="person_grid_name_idx"),
            models.Index(fields=["grid", "name_pinyin", "id"], name="person_grid_pinyin_idx"),
            models.Index(fields=["grid", "name_initials", "id"], name="person_grid_initials_idx"),
            # Unscoped (district-wide) prefix searches.
            models.Index(fields=["name"], name="person_name_idx"),
            models.Index(fields=["name_pinyin"], name="person_pinyin_idx"),
            models.Index(fields=["name_initials"], name="person_initials_idx"),
            # Suffix searches, scoped like the prefix searches (see selectors._suffix_search).
            models.Index(fields=["grid", "id_number_s4_bidx"], name="person_grid_id_s4_idx"),
            models.Index(fields=["grid", "id_number_s6_bidx"], name="person_grid_id_s6_idx"),
            models.Index(fields=["grid", "phone_s4_bidx"], name="person_grid_phone_s4_idx"),
            models.Index(fields=["grid", "phone_s6_bidx"], name="person_grid_phone_s6_idx"),
            models.Index(fields=["area", "id"], condition=models.Q(grid__isnull=True), name="person_unplaced_idx"),
            # Care's policy rules and live match count (issue 19): age bands of the living read
            # a range of this index (hukou and id from it too) instead of the whole table.
            models.Index(fields=["birth_date", "hukou", "id"], condition=models.Q(is_deceased=False),
                         name="person_living_age_idx"),
            # …and a rule that starts from its facts (低保: the profiles below the line) fetches
            # those persons by key from this one, without their table. Columns, not INCLUDE:
            # SQLite ignores INCLUDE, and an index of ``id`` alone drew its planner away from
            # the rowid.
            models.Index(fields=["id", "hukou", "birth_date", "sex"], condition=models.Q(is_deceased=False),
                         name="person_living_id_idx"),
            # Emergency mode: the living residents of an area's buildings, the children among them
            # by birth date, and their households, from the index alone.
            models.Index(fields=["building", "is_deceased", "birth_date", "household", "id"],
                         name="person_building_living_idx"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # One person per ID number; persons without one (blank index) are not compared.
            # Services check first for a friendly error; this holds under concurrent writes
            # and for bulk paths (fusion, demo seeding) that bypass the services.
            models.UniqueConstraint(
                fields=["id_number_bidx"], condition=~models.Q(id_number_bidx=""),
                name="person_id_number_bidx_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Organisation(TimeStampedModel):
    """An organisation (实有单位): enterprise, social organisation, party branch …"""

    PII_FIELDS: ClassVar[dict[str, str]] = {"contact_phone_enc": PII_ORG_PHONE}

    kind = models.CharField(_("类型"), max_length=16, choices=OrganisationKind.choices)
    name = models.CharField(_("名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="organisations")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="organisations")
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone_enc = models.TextField(blank=True)
    contact_phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    employees = models.PositiveIntegerField(_("从业人数"), null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                Upper("credit_code"), condition=~models.Q(credit_code=""),
                name="organisation_credit_code_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Facility(TimeStampedModel):
    """A thing (物) with a position: camera, hydrant, AED, service point, shelter …"""

    kind = models.CharField(_("类型"), max_length=20, choices=FacilityKind.choices, db_index=True)
    code = models.CharField(_("编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="facilities")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilities")
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    in_service = models.BooleanField(_("在用"), default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["code"]
        verbose_name = _("设施")
        verbose_name_plural = _("设施")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code}"


class PersonTag(TimeStampedModel):
    """Membership of a key population, with where it came from and when it holds."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tags")
    kind = models.CharField(_("标签"), max_length=32, choices=TagKind.choices, db_index=True)
    source = models.CharField(_("来源"), max_length=50)
    valid_from = models.DateField(_("起始日期"))
    valid_to = models.DateField(_("截止日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["person_id", "kind"]
        verbose_name = _("人员标签")
        verbose_name_plural = _("人员标签")
        # A person's tags of some kinds in force on a day (emergency mode, per resident of an area).
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["person", "valid_from", "valid_to", "kind"], name="persontag_person_valid_idx"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="persontag_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.kind}"


class BuildingDigest(models.Model):
    """A building's emergency totals and its vulnerable households, read by the cockpit's
    emergency list instead of every room, household, resident and tag of an area.

    Database triggers (migration 0011) give ``stamp`` a new random value whenever a person,
    tag, household, room or unit of the building is written, by any path (services,
    ``bulk_create``, raw SQL of the imports and the seeder). A digest holds only when it was
    built under the current stamp, for the day it is read on, by the current rules
    (``version``); otherwise :func:`linli.registry.services.digests.building_digests`
    rebuilds it on read. The rows hold masked fields only (name and masked phone, as the
    list shows them).
    """

    # No database constraint: a trigger may stamp a building that a cascade is deleting.
    building = models.OneToOneField(Building, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+")
    stamp = models.BigIntegerField(default=0)
    built_stamp = models.BigIntegerField(null=True)
    built_on = models.DateField(null=True)
    version = models.PositiveSmallIntegerField(default=0)
    households = models.PositiveIntegerField(default=0)
    residents = models.PositiveIntegerField(default=0)
    vulnerable = models.PositiveIntegerField(default=0)
    # Living residents per emergency kind (children by birth date included).
    by_kind = models.JSONField(default=dict)
    # The vulnerable households, most urgent first then unit → floor → room → number:
    # [id, number, room number, floor, unit number, grid id, priority,
    #  [[person id, name, masked phone, [kinds]], …]]
    vulnerable_rows = models.JSONField(default=list)
    # The same households ready to send (the emergency list's first screen concatenates
    # them): one line each, "priority<TAB>grid id<TAB>JSON row of SCREEN_COLUMNS", in the
    # order above. A database default: the triggers insert rows without naming it.
    screen_rows = models.TextField(default="", db_default="")

    class Meta:
        verbose_name = _("楼栋应急摘要")
        verbose_name_plural = _("楼栋应急摘要")

    def __str__(self) -> str:
        return f"digest {self.building_id}"
