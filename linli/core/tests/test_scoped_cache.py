"""``core.scoped_cache``: one computation per key at a time, stale values served while one
thread recomputes, scopes never shared (issue #15, "Load": under load every waiting home
page request computed the street's counts at once)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from linli.core import scoped_cache
from linli.core.scoped_cache import scoped_cached


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_threads_that_miss_together_compute_once_and_get_the_same_value() -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.2)
        return {"persons": len(calls)}

    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(
        scoped_cached("t.counts", scope=(1, 2), seconds=60, compute=compute))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [{"persons": 1}] * 8


def test_a_stale_value_is_served_while_one_thread_recomputes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("linli.core.scoped_cache.time.time", lambda: now[0])
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "old") == "old"
    # fresh: not computed again
    now[0] += 59
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "never") == "old"
    # stale: the first reader recomputes (slowly), a second reader meanwhile gets the old value
    now[0] += 2
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "new"

    first: list[str] = []
    recompute = threading.Thread(target=lambda: first.append(
        scoped_cached("t.counts", scope=(1,), seconds=60, compute=slow)))
    recompute.start()
    assert started.wait(5)
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "second") == "old"
    release.set()
    recompute.join()
    assert first == ["new"]
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "never") == "new"


def test_scopes_and_parameters_do_not_share_and_zero_seconds_never_caches() -> None:
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "a") == "a"
    assert scoped_cached("t.counts", scope=(2,), seconds=60, compute=lambda: "b") == "b"
    assert scoped_cached("t.counts", scope=(1,), params=("x",), seconds=60, compute=lambda: "c") == "c"
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "d") == "a"
    assert scoped_cached("t.counts", scope=(1,), seconds=0, compute=lambda: "e") == "e"
    # a value cached as None or empty is a hit, not a miss
    assert scoped_cached("t.none", scope=(1,), seconds=60, compute=lambda: None) is None
    assert scoped_cached("t.none", scope=(1,), seconds=60, compute=lambda: "x") is None


def test_an_entry_of_the_earlier_shape_counts_as_missing() -> None:
    cache.set(scoped_cache.scoped_key("t.counts", scope=(1,)), ("from before",), timeout=60)
    assert scoped_cached("t.counts", scope=(1,), seconds=60, compute=lambda: "now") == "now"
