"""``unsaved``: the positional construction batch paths use must build what the keyword
constructor builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli.cases.models import Case, CaseEvent
from linli.core.bulk import unsaved

AT = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)


def _fields(obj: object, model: type[Case] | type[CaseEvent]) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}


def test_it_builds_what_the_keyword_constructor_builds() -> None:
    values = {"number": "GX-20261206-0001", "source": "iot", "category_id": 7, "grid_id": 3, "lon": 120.1,
              "lat": 30.2, "description": "井盖缺失", "created_at": AT, "updated_at": AT}
    built, reference = unsaved(Case, values), Case(**values)
    assert _fields(built, Case) == _fields(reference, Case)
    assert built._state.adding
    assert built.pk is None


def test_callable_defaults_are_fresh_for_each_object() -> None:
    first = unsaved(CaseEvent, {"action": "open", "at": AT})
    second = unsaved(CaseEvent, {"action": "open", "at": AT})
    first.data["source"] = "iot"
    assert second.data == {}


def test_an_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"CaseEvent has no field\(s\) category"):
        unsaved(CaseEvent, {"action": "open", "category": 1})
