"""Suffix indexes of ID numbers and phones (the last 4 and last 6 characters): the columns a
write stores, and the backfill for persons written before them (or by a bulk path that did
not fill them). See :func:`linli.core.pii.suffix_index` and docs/architecture.md."""

from __future__ import annotations

from typing import Any, Final, Literal

from django.db import transaction
from django.db.models import Model, Q

from linli.core import pii
from linli.registry.text import PII_ID_NUMBER, PII_PHONE

Identifier = Literal["id_number", "phone"]
BOUND_FIELD: Final[dict[str, str]] = {"id_number": PII_ID_NUMBER, "phone": PII_PHONE}
BACKFILL_BATCH: Final = 2_000


def suffix_column_names(kind: Identifier | str) -> tuple[str, ...]:
    return tuple(f"{kind}_s{n}_bidx" for n in pii.SUFFIX_LENGTHS)


def suffix_columns(kind: Identifier | str, value: str) -> dict[str, str]:
    """``{"<kind>_s4_bidx": …, "<kind>_s6_bidx": …}`` of a normalised value ('' when empty)."""
    digests = pii.suffix_indexes(value, field=BOUND_FIELD[kind])
    return dict(zip(suffix_column_names(kind), digests, strict=True))


def _missing(kind: str) -> Q:
    first = suffix_column_names(kind)[0]
    return ~Q(**{f"{kind}_enc": ""}) & Q(**{first: ""})


def suffix_backfill(person_model: type[Model], *, batch_size: int = BACKFILL_BATCH, rebuild: bool = False) -> int:
    """Fill the suffix columns of persons whose ciphertext has none (``rebuild``: of all
    persons with a ciphertext, e.g. after a new blind-index key). Returns the rows written.

    ``person_model`` is the registry's Person or a migration's historical model. Each batch
    is its own transaction, so an interrupted run keeps what it wrote and the next run goes
    on from there (a filled row is no longer missing).
    """
    manager: Any = person_model._default_manager
    written = 0
    for kind in ("id_number", "phone"):
        bound = BOUND_FIELD[kind]
        columns = suffix_column_names(kind)
        last = 0
        while True:
            rows = manager.filter(pk__gt=last).exclude(**{f"{kind}_enc": ""})
            if not rebuild:
                rows = rows.filter(_missing(kind))
            batch = list(rows.order_by("pk").values_list("pk", f"{kind}_enc")[:batch_size])
            if not batch:
                break
            values = [pii.decrypt(token, field=bound) for _pk, token in batch]
            digests = pii.suffix_indexes_many(values, field=bound)
            objects = [person_model(pk=pk, **dict(zip(columns, row, strict=True)))
                       for (pk, _token), row in zip(batch, digests, strict=True)]
            with transaction.atomic():
                manager.bulk_update(objects, list(columns), batch_size=500)
            written += len(objects)
            last = batch[-1][0]
    return written
