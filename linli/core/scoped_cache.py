"""Short-lived figures kept per scope in Django's cache (the ``default`` cache as configured:
per process unless the deployment sets a shared one).

For aggregates that every user of an area asks for and that cost far more than a cache
read (the home page's headline counts, case statistics). The key is built from the figure's
name, the **scope it was computed for** (the exact set of areas, never the user's role or
name alone), the parameters and the language, hashed: two scopes can only share an entry if
they are the same set of areas. Entries live ``seconds`` (the setting of each figure) and
are never invalidated otherwise: a figure may be that many seconds old, which each setting
documents; ``0`` turns the cache off (the default under ``LINLI_TESTING``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.core.cache import cache
from django.utils import translation

T = TypeVar("T")
KEY_PREFIX = "linli:scoped"


def scoped_key(name: str, *, scope: Hashable, params: Hashable = ()) -> str:
    """The cache key of ``name`` for ``scope`` (a tuple of sorted area ids) and ``params``."""
    parts = repr((scope, params, translation.get_language()))
    return f"{KEY_PREFIX}:{name}:{hashlib.sha256(parts.encode()).hexdigest()}"


def scoped_cached(
    name: str, *, scope: Hashable, params: Hashable = (), seconds: int, compute: Callable[[], T]
) -> T:
    """``compute()``'s value for this scope and these parameters, kept ``seconds``."""
    if seconds <= 0:
        return compute()
    key = scoped_key(name, scope=scope, params=params)
    found = cache.get(key)
    if found is not None:
        value: T = found[0]  # wrapped, so that a cached None or empty value is a hit
        return value
    value = compute()
    cache.set(key, (value,), timeout=seconds)
    return value
