"""Catalogue pages: the list with one-sentence search, the item guide, and editing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.catalogue.choices import ItemLevel
from linli.catalogue.forms import ItemEditForm, item_edit_initial
from linli.catalogue.models import ServiceItem
from linli.catalogue.search import item_answer
from linli.catalogue.selectors import (
    item_cards,
    item_departments,
    item_get,
    item_list,
    item_versions,
)
from linli.catalogue.services import item_create, item_publish_version, item_update
from linli.catalogue.views.access import (
    EDITOR_ROLES,
    StaffRequest,
    editor_only,
    request_id_of,
    staff_only,
)
from linli.core.errors import ValidationFailed

SEARCH_LIMIT = 5
ITEM_FIELDS = ("name", "department", "level", "kind", "active", "search_keywords")
VERSION_FIELDS = ("time_limit_days", "promised_days", "conditions", "fees", "legal_basis", "steps",
                  "materials", "form", "rules")


def search_results(query: str) -> list[ServiceItem]:
    """Items for an everyday sentence, best first, with their current versions; none when
    no item answers it."""
    hits = item_answer(query, limit=SEARCH_LIMIT).hits
    ids = [hit.item_id for hit in hits if hit.item_id is not None]
    found = {item.pk: item for item in item_list().filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


GROUP_PREVIEW = 6


@dataclass(frozen=True)
class ItemGroup:
    """One department's items on the catalogue page (``items`` may be the first few of ``total``)."""

    name: str
    department_id: int
    items: list[ServiceItem]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@staff_only
@require_GET
def item_index(request: StaffRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    department = request.GET.get("department", "").strip()
    level = request.GET.get("level", "").strip()
    items = item_cards(active=None if request.user.role in EDITOR_ROLES else True)
    departments = item_departments()
    if department.isdigit():
        items = items.filter(department_id=int(department))
    if level in ItemLevel.values:
        items = items.filter(level=level)
    groups: dict[tuple[str, int], list[ServiceItem]] = {}
    for item in items:
        groups.setdefault((item.department.name, item.department_id), []).append(item)
    # Without a department chosen, each department shows its first few items and a link to
    # the rest, under an index of anchors: the whole catalogue on one page is 14,000 px tall.
    whole = department.isdigit()
    listed = [ItemGroup(name=name, department_id=pk, items=group if whole else group[:GROUP_PREVIEW],
                        total=len(group)) for (name, pk), group in sorted(groups.items())]
    return render(request, "catalogue/item_list.html", {
        "query": query, "hits": search_results(query) if query else [],
        "groups": listed, "departments": departments, "show_index": not whole and len(listed) > 1,
        "department": department, "level": level, "levels": ItemLevel.choices,
        "can_edit": request.user.role in EDITOR_ROLES,
        "person_id": request.GET.get("person", ""),
    })


@staff_only
@require_GET
def item_detail(request: StaffRequest, item_id: int) -> HttpResponse:
    editor = request.user.role in EDITOR_ROLES
    item = item_get(item_id=item_id, active_only=not editor)
    return render(request, "catalogue/item_detail.html", {
        "item": item, "version": item.current_version, "can_edit": editor,
        "versions": item_versions(item=item) if editor else [],
        "person_id": request.GET.get("person", ""),
    })


def _publish(request: StaffRequest, form: ItemEditForm, item: ServiceItem | None) -> ServiceItem:
    """Item fields and a new version in one transaction: a refusal writes nothing."""
    data = form.cleaned_data
    rid = request_id_of(request)
    with transaction.atomic():
        if item is None:
            item = item_create(actor=request.user, code=data["code"], name=data["name"],
                               department=data["department"], level=data["level"], kind=data["kind"],
                               search_keywords=data["search_keywords"], request_id=rid)
        else:
            changes = {key: data[key] for key in ITEM_FIELDS if data[key] != getattr(item, key)}
            if changes:
                item = item_update(actor=request.user, item=item, changes=changes, request_id=rid)
        version = item.current_version
        if version is None or any(
            data[key] != getattr(version, key) for key in VERSION_FIELDS
        ):
            item_publish_version(
                actor=request.user, item=item, time_limit_days=data["time_limit_days"],
                promised_days=data["promised_days"], conditions=data["conditions"],
                materials=data["materials"], fees=data["fees"], legal_basis=data["legal_basis"],
                steps=data["steps"], form=data["form"], rules=data["rules"], request_id=rid,
            )
    return item


def _edit(request: StaffRequest, item: ServiceItem | None) -> HttpResponse:
    initial: dict[str, Any] = item_edit_initial(item) if item is not None else {"active": True, "fees": "不收费"}
    form = ItemEditForm(request.POST or None, initial=initial)
    if item is not None:
        form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            saved = _publish(request, form, item)
        except ValidationFailed as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            version = saved.current_version
            messages.success(request, _("已保存,当前版本 v%(v)s。") % {"v": version.version if version else 0})
            return redirect("catalogue:item", item_id=saved.pk)
    return render(request, "catalogue/item_edit.html", {"form": form, "item": item})


@editor_only
@require_http_methods(["GET", "POST"])
def item_edit(request: StaffRequest, item_id: int) -> HttpResponse:
    return _edit(request, item_get(item_id=item_id, active_only=False))


@editor_only
@require_http_methods(["GET", "POST"])
def item_new(request: StaffRequest) -> HttpResponse:
    return _edit(request, None)
