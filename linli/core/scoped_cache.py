"""Short-lived figures kept per scope in Django's cache (the ``default`` cache as configured:
per process unless the deployment sets a shared one).

For aggregates that every user of an area asks for and that cost far more than a cache
read (the home page's headline counts, case statistics). The key is built from the figure's
name, the **scope it was computed for** (the exact set of areas, never the user's role or
name alone), the parameters and the language, hashed: two scopes can only share an entry if
they are the same set of areas. Entries are fresh for ``seconds`` (the setting of each figure) and
are never invalidated otherwise: a figure may be that many seconds old, which each setting
documents; ``0`` turns the cache off (the default under ``LINLI_TESTING``).

One computation at a time per key and process: when an entry is missing, the first thread
computes it and the others of the process wait for that result instead of computing it too
(under load a street's home page counts, 120 ms alone, were computed by every waiting
request at once and took seconds). When an entry is only stale, the first thread recomputes
it and the others are served the stale value meanwhile, so a figure may be ``seconds`` plus
one computation old.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

from django.core.cache import cache
from django.utils import translation

T = TypeVar("T")
KEY_PREFIX = "linli:scoped"


def scoped_key(name: str, *, scope: Hashable, params: Hashable = ()) -> str:
    """The cache key of ``name`` for ``scope`` (a tuple of sorted area ids) and ``params``."""
    parts = repr((scope, params, translation.get_language()))
    return f"{KEY_PREFIX}:{name}:{hashlib.sha256(parts.encode()).hexdigest()}"


# A stale entry stays this many times ``seconds`` in the cache, to be served while it is
# recomputed; past that it is gone and readers wait for a new one.
STALE_FACTOR = 4
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        if len(_locks) > 10_000:  # scopes × parameters × languages; keep it bounded
            _locks.clear()
        return _locks.setdefault(key, threading.Lock())


def _entry(key: str) -> tuple[object, float] | None:
    found = cache.get(key)
    # (value,) entries of earlier versions in a shared cache count as missing
    return found if isinstance(found, tuple) and len(found) == 2 else None


def scoped_cached(
    name: str, *, scope: Hashable, params: Hashable = (), seconds: int, compute: Callable[[], T]
) -> T:
    """``compute()``'s value for this scope and these parameters, kept ``seconds``."""
    if seconds <= 0:
        return compute()
    key = scoped_key(name, scope=scope, params=params)
    found = _entry(key)
    # Entries are (value, fresh until): wrapped, so that a cached None or empty value is a hit;
    # wall-clock time, as a shared cache may be read by other processes and machines.
    if found is not None and found[1] > time.time():
        return cast(T, found[0])
    lock = _lock_for(key)
    if found is not None and not lock.acquire(blocking=False):
        return cast(T, found[0])  # stale: another thread is recomputing it
    if found is None:
        lock.acquire()
    try:
        again = _entry(key)
        if again is not None and again[1] > time.time():  # computed while we waited
            return cast(T, again[0])
        value = compute()
        cache.set(key, (value, time.time() + seconds), timeout=seconds * STALE_FACTOR)
        return value
    finally:
        lock.release()
