"""Admin for the registry: browse and fix places; identifiers are shown masked and read-only.

Persons are created and changed through the services (validation, encryption, audit), so
the admin does not offer adding or editing them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin

from linli.core.admin import ReadOnlyAdmin
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


@admin.register(Building)
class BuildingAdmin(ReadOnlyAdmin[Any]):
    list_display = ("address", "compound", "name", "grid", "floors")
    search_fields = ("address", "compound", "name")
    list_select_related = ("grid",)


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin[Any]):
    list_display = ("building", "number")
    list_select_related = ("building",)


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin[Any]):
    list_display = ("building", "unit", "floor", "number", "use")
    list_filter = ("use",)
    list_select_related = ("building", "unit")


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin[Any]):
    list_display = ("number", "grid", "room")
    search_fields = ("number",)
    list_select_related = ("grid", "room")


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin[Any]):
    list_display = ("name", "id_number_masked", "phone_masked", "sex", "birth_date", "grid",
                    "is_deceased")
    list_filter = ("hukou", "sex", "is_deceased")
    list_select_related = ("grid",)
    exclude: ClassVar[list[str]] = ["id_number_enc", "id_number_bidx", "phone_enc", "phone_bidx",
                                           "id_number_s4_bidx", "id_number_s6_bidx", "phone_s4_bidx",
                                           "phone_s6_bidx"]
    show_full_result_count = False


@admin.register(PersonTag)
class PersonTagAdmin(ReadOnlyAdmin[Any]):
    list_display = ("person", "kind", "source", "valid_from", "valid_to")
    list_filter = ("kind",)
    list_select_related = ("person",)


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin[Any]):
    list_display = ("name", "kind", "credit_code", "grid")
    search_fields = ("name", "credit_code")
    list_filter = ("kind",)
    exclude: ClassVar[list[str]] = ["contact_phone_enc"]


@admin.register(Facility)
class FacilityAdmin(ReadOnlyAdmin[Any]):
    list_display = ("code", "kind", "name", "grid", "in_service")
    list_filter = ("kind", "in_service")
    search_fields = ("code", "name")
