"""One-sentence search (一句话办事) over the live catalogue.

The index (:class:`linli.catalogue.search_index.OneSentenceIndex`) is built once per process
from the active items and their current versions, and rebuilt when the catalogue changes.
Freshness is one cheap aggregate query per search (count, latest ``updated_at``, highest
``current_version_id``): publishing a version or editing an item bumps one of them.

The catalogue is public information, so the search is not scoped by area.
"""

from __future__ import annotations

import threading
from datetime import datetime

from django.db.models import Count, Max

from linli.catalogue.models import ServiceItem
from linli.catalogue.search_index import ItemDoc, OneSentenceIndex, SearchAnswer, SearchHit

__all__ = ["ItemDoc", "SearchAnswer", "SearchHit", "catalogue_signature", "item_answer", "item_docs",
           "item_search", "search_index"]

Signature = tuple[int, datetime | None, int | None]

_lock = threading.Lock()
_cached: tuple[Signature, OneSentenceIndex] | None = None


def catalogue_signature() -> Signature:
    """Changes whenever an active item is added, removed, edited or gets a new version."""
    row = ServiceItem.objects.filter(active=True).aggregate(
        n=Count("id"), changed=Max("updated_at"), version=Max("current_version_id"),
    )
    return row["n"], row["changed"], row["version"]


def item_docs() -> list[ItemDoc]:
    """Search documents of the active items that have a published version."""
    items = (ServiceItem.objects.filter(active=True, current_version__isnull=False)
             .select_related("current_version", "department").order_by("code"))
    docs = []
    for item in items:
        version = item.current_version
        if version is None:  # filtered out above; keeps the type checker informed
            continue
        materials = tuple(str(m.get("name", "")) for m in version.materials if isinstance(m, dict))
        docs.append(ItemDoc(code=item.code, name=item.name, department=item.department.name,
                            keywords=item.search_keywords, conditions=version.conditions,
                            materials=materials, item_id=item.pk))
    return docs


def search_index() -> OneSentenceIndex:
    """The process-wide index, rebuilt if the catalogue changed since it was built."""
    global _cached
    signature = catalogue_signature()
    cached = _cached
    if cached is not None and cached[0] == signature:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and cached[0] == signature:
            return cached[1]
        index = OneSentenceIndex(item_docs())
        _cached = (signature, index)
        return index


def item_search(query: str, *, limit: int = 5) -> list[SearchHit]:
    """The items best matching an everyday sentence, best first (empty for a query with
    no meaningful word). Ranks only; :func:`item_answer` also says whether any fits."""
    if not query or not query.strip():
        return []
    return search_index().search(query[:200], limit=limit)


def item_answer(query: str, *, limit: int = 5) -> SearchAnswer:
    """The best items for an everyday sentence and whether they answer it: ``hits`` is
    empty when no item fits (the caller offers the 12345 hotline or the window instead)."""
    if not query or not query.strip():
        return SearchAnswer((), matched=False, confidence=0.0)
    return search_index().answer(query[:200], limit=limit)
