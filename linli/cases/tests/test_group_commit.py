"""Group commit of concurrent reports: one transaction for many requests, each answered
after the commit with its own case, audited with its own request id; failures stay local."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from conftest import Tree
from linli.cases import group_commit, services
from linli.cases.models import Case
from linli.cases.services import CaseInput
from linli.cases.tests.conftest import IN_A1, Cats
from linli.core.actors import SystemActor
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.core.selectors import audit_chain_verify

IOT = SystemActor("apikey:iot-gw")
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")


def item(cats: Cats, key: str, **fields: Any) -> CaseInput:
    values: dict[str, Any] = {"source": "iot", "category": cats.manhole.pk, "description": "井盖缺失",
                              "lon": IN_A1[0], "lat": IN_A1[1], "source_key": key, "request_id": f"req-{key}"}
    return CaseInput(**{**values, **fields})


def report_concurrently(items: list[CaseInput]) -> list[tuple[Case, bool] | BaseException]:
    """Each item from its own thread, all released at once; results in item order."""
    barrier = threading.Barrier(len(items))
    results: list[tuple[Case, bool] | BaseException | None] = [None] * len(items)

    def post(n: int) -> None:
        try:
            barrier.wait()
            results[n] = group_commit.case_open_grouped(actor=IOT, item=items[n])
        except BaseException as error:
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records each batch; the first one is slow so that the others queue behind it."""
    sizes: list[int] = []
    real = services.case_open_many

    def recording(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["items"]))
        if len(sizes) == 1:
            time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(services, "case_open_many", recording)
    return sizes


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_share_a_commit_and_each_gets_its_own_case(
    tree: Tree, cats: Cats, batch_sizes: list[int],
) -> None:
    # given twelve reports sent at once
    items = [item(cats, f"k{n}") for n in range(12)]
    # when
    results = report_concurrently(items)
    # then each request got its own committed, located case
    assert not [r for r in results if isinstance(r, BaseException)]
    cases = [r for r in results if not isinstance(r, BaseException)]
    assert all(created for _case, created in cases)
    assert [c.source_key for c, _ in cases] == [f"k{n}" for n in range(12)]
    assert Case.objects.filter(pk__in=[c.pk for c, _ in cases]).count() == 12
    assert all(c.grid is not None and c.category.parent is not None for c, _ in cases)
    # and fewer transactions than requests were needed
    assert sum(batch_sizes) == 12
    assert max(batch_sizes) > 1
    # and each audit entry names the request that reported its case
    entries = dict(AuditEntry.objects.filter(action="case.open").values_list("target_id", "request_id"))
    assert {entries[str(c.pk)] for c, _ in cases} == {f"req-k{n}" for n in range(12)}
    assert audit_chain_verify().ok


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_key_sent_many_times_at_once_gives_one_case(tree: Tree, cats: Cats, batch_sizes: list[int]) -> None:
    # when
    results = report_concurrently([item(cats, "same") for _ in range(6)])
    # then
    cases = [r for r in results if not isinstance(r, BaseException)]
    assert len(cases) == 6
    assert len({c.pk for c, _ in cases}) == 1
    assert sum(created for _c, created in cases) == 1
    assert Case.objects.filter(source_key="same").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_bad_report_fails_alone(tree: Tree, cats: Cats, batch_sizes: list[int]) -> None:
    # given one report without a description among good ones
    items = [item(cats, f"g{n}") for n in range(5)]
    items[2] = item(cats, "bad", description=" ")
    # when
    results = report_concurrently(items)
    # then
    assert isinstance(results[2], ValidationFailed)
    assert results[2].field == "description"
    assert [isinstance(r, tuple) and r[1] for n, r in enumerate(results) if n != 2] == [True] * 4
    assert Case.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_when_a_batch_fails_each_request_opens_its_case_by_itself(
    tree: Tree, cats: Cats, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given batches that fail (a database error, say)
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("batch lost")

    monkeypatch.setattr(services, "case_open_many", broken)
    # when
    case, created = group_commit.case_open_grouped(actor=IOT, item=item(cats, "alone"))
    # then the request still got its case, committed once
    assert created
    assert Case.objects.filter(source_key="alone").count() == 1
    assert AuditEntry.objects.get(target_id=str(case.pk)).request_id == "req-alone"
    # and the queue is free for the next request
    assert group_commit.case_open_grouped(actor=IOT, item=item(cats, "next"))[1]


@pytest.mark.django_db(transaction=True)
def test_a_repeated_key_after_the_commit_returns_the_same_case(tree: Tree, cats: Cats) -> None:
    first, created = group_commit.case_open_grouped(actor=IOT, item=item(cats, "again"))
    again, created_again = group_commit.case_open_grouped(actor=IOT, item=item(cats, "again"))
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
