"""What the registry knows of an applicant: facts for the rule engine, prefilled form values,
and how identifiers typed into a form are sealed (masked, encrypted) before they are stored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.utils import timezone

from linli.accounts.models import User
from linli.catalogue.choices import ApplicationStatus
from linli.catalogue.forms_schema import SENSITIVE_TYPES, form_fields
from linli.catalogue.models import Application, ServiceItemVersion
from linli.catalogue.rules import age_on, facts_used
from linli.core import pii
from linli.core.actors import Actor
from linli.core.errors import PermissionDenied
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.registry.models import Person, PersonTag
from linli.registry.selectors import person_get_for_user
from linli.registry.text import PII_ID_NUMBER, PII_PHONE


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
