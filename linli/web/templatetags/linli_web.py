"""Small display helpers for workbench templates (no queries, no rules)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.registry.choices import RoomUse, Sex, TagKind
from linli.registry.selectors import PersonRow
from linli.web.audit_words import action_words, fields_words, reason_words, target_words
from linli.web.navigation import NavGroup, navigation_for

register = template.Library()


@register.filter
def age(birth_date: date | None) -> int | None:
    """Whole years on today's date in Shanghai; ``None`` when the birth date is unknown."""
    if birth_date is None:
        return None
    today = timezone.localdate()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


@register.filter
def tag_label(kind: str) -> str:
    return str(TagKind(kind).label) if kind in TagKind.values else kind


@register.filter
def use_label(use: str) -> str:
    return str(RoomUse(use).label) if use in RoomUse.values else use


@register.simple_tag
def room_label(unit_number: Any, room_number: Any) -> str:
    """``3单元502室``; in English ``Unit 3, Room 502``."""
    if unit_number in (None, ""):
        return _("%(room)s室") % {"room": room_number}
    return _("%(unit)s单元%(room)s室") % {"unit": unit_number, "room": room_number}


@register.simple_tag
def workbench_nav(user: Any, path: str = "") -> list[NavGroup]:
    """The navigation groups this user is offered (pages check again on their own)."""
    if not isinstance(user, User):
        return []
    return navigation_for(user=user, path=path)


@register.simple_tag
def user_role_line(user: Any) -> dict[str, str]:
    """The signed-in user's name and role, the role left out when the name already says it
    (the demo's "区级管理员" is both)."""
    if not isinstance(user, User):
        return {"name": "", "role": ""}
    name = user.display_name or user.username
    role = str(user.get_role_display())
    return {"name": name, "role": "" if role in name else role}


@register.filter
def action_label(action: str) -> str:
    return action_words(action)


@register.filter
def field_labels(names: list[str]) -> str:
    return fields_words(names)


@register.filter
def target_label(target_type: str) -> str:
    return target_words(target_type)


@register.filter
def reason_label(reason: str) -> str:
    return reason_words(reason)


# A page's links to its rows: reversed once with this id, then the id swapped in per row
# (``{% url 'web:person' 987654321 as pattern %}`` … ``{{ pattern|with_id:person.pk }}``).
# A ``{% url %}`` per row cost 50 search results 6 ms of their 36 (loaded 2-core machine).
URL_ID_PLACEHOLDER = "987654321"


@register.filter
def with_id(pattern: str, object_id: int) -> str:
    return pattern.replace(URL_ID_PLACEHOLDER, str(int(object_id)), 1)


# The search page's 50 result rows, one format string a row instead of the template's ~40
# nodes a row (under load the rows were ~60 % of the whole search request). The output is
# byte for byte what the loop in ``web/_search_results.html`` rendered (tests compare the two
# on hostile data); every value goes through Django's ``conditional_escape`` as ``{{ }}`` did.
_SEARCH_ROW = (
    '\n      <li class="result{deceased_class}" data-testid="search-result" data-person-id="{pk}">'
    '\n        <div class="result-head">'
    '\n          <a class="result-name" href="{url}" data-testid="search-result-link">{name}</a>'
    '\n          <span class="muted">{sex}{age}</span>'
    "\n          {deceased_badge}"
    "\n        </div>"
    '\n        <dl class="result-fields">'
    '\n          <div><dt>{label_id}</dt><dd class="mono">{id_masked}</dd></div>'
    '\n          <div><dt>{label_phone}</dt><dd class="mono">{phone_masked}</dd></div>'
    "\n          <div><dt>{label_address}</dt><dd>{address}</dd></div>"
    "\n          <div><dt>{label_grid}</dt><dd>{grid}</dd></div>"
    "\n        </dl>"
    "\n        {tags}"
    "\n      </li>"
    "\n    "
)


# As Person.get_sex_display: the label (lazy, so in the request's language), else the value.
_SEX_LABELS: dict[str, Any] = dict(Sex.choices)


@register.simple_tag
def search_rows(rows: list[tuple[PersonRow, list[str]]], person_url: str) -> str:
    """The ``<li>`` of each ``(person row, active tag kinds)`` of a search page."""
    esc = conditional_escape
    labels = {"label_id": esc(_("身份证号")), "label_phone": esc(_("电话")),
              "label_address": esc(_("住址")), "label_grid": esc(_("网格"))}
    deceased_badge = f'<span class="badge grey">{esc(_("已故"))}</span>'
    age_words = _("%(age)s岁")
    room_words, unit_room_words = _("%(room)s室"), _("%(unit)s单元%(room)s室")
    # Translated once a page, not once a row (a gettext each was a fifth of the rows' time).
    sexes: dict[str, str] = {}
    tags: dict[str, str] = {}
    today = timezone.localdate()
    out = []
    for person, kinds in rows:
        born = person.birth_date
        if person.building_id is not None:
            address: str = esc(person.building_address or "")
            if person.room_id is not None:
                unit_number = person.unit_number
                address += " " + esc(room_words % {"room": person.room_number} if unit_number is None
                                     else unit_room_words % {"unit": unit_number, "room": person.room_number})
        else:
            address = "—"
        if person.sex not in sexes:
            sexes[person.sex] = esc(_SEX_LABELS.get(person.sex, person.sex))
        for kind in kinds:
            if kind not in tags:
                tags[kind] = f'<span class="badge tag-{esc(kind)}">{esc(tag_label(kind))}</span>'
        out.append(_SEARCH_ROW.format(
            deceased_class=" deceased" if person.is_deceased else "",
            pk=esc(str(person.pk)),
            url=esc(with_id(person_url, person.pk)),
            name=esc(person.name),
            sex=sexes[person.sex],
            age=" · " + age_words % {"age": today.year - born.year - ((today.month, today.day) < (born.month, born.day))}
            if born else "",
            deceased_badge=deceased_badge if person.is_deceased else "",
            id_masked=esc(person.id_number_masked or "—"),
            phone_masked=esc(person.phone_masked or "—"),
            address=address,
            grid=esc(person.grid_name or "—"),
            tags='<p class="tags">' + "".join(tags[kind] for kind in kinds) + "</p>" if kinds else "",
            **labels,
        ))
    return mark_safe("".join(out))  # noqa: S308 -- every value escaped above
