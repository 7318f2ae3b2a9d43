"""The whole seed catalogue, in catalogue order."""

from __future__ import annotations

from linli.accounts.departments_seed import seed_department_for
from linli.catalogue.data.items_civil import CIVIL_AFFAIRS, DISABLED_PERSONS
from linli.catalogue.data.items_labour import HEALTH, LABOUR, MEDICAL_INSURANCE
from linli.catalogue.data.items_more_city import MORE_CITY
from linli.catalogue.data.items_more_welfare import MORE_WELFARE
from linli.catalogue.data.items_other import CITY, COMMUNITY, HOUSING, POLICE, VETERANS
from linli.catalogue.data.materials import MATERIALS
from linli.catalogue.data.spec import SeedItem
from linli.catalogue.search_index import ItemDoc

SEED_ITEMS: tuple[SeedItem, ...] = (
    *CIVIL_AFFAIRS, *DISABLED_PERSONS, *LABOUR, *MEDICAL_INSURANCE, *HEALTH,
    *POLICE, *HOUSING, *VETERANS, *CITY, *COMMUNITY,
    # Issue 16: 65 more items, toward a real street's list (鼓楼 241, 下城 132).
    *MORE_WELFARE, *MORE_CITY,
)


def _department_name(text: str) -> str:
    """What the live index reads for the item's department: the department's name."""
    seed = seed_department_for(text)
    return seed.name if seed is not None else text


def seed_item_docs() -> list[ItemDoc]:
    """The seed catalogue as search documents (for the evaluation and benchmarks)."""
    return [
        ItemDoc(code=item.code, name=item.name, department=_department_name(item.department), keywords=item.keywords,
                conditions=item.conditions,
                materials=tuple(MATERIALS[code.lstrip("?")].name for code in item.materials))
        for item in SEED_ITEMS
    ]
