"""Template filters of the portal's pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """``values|get_item:key``: a generated form's value by its field key."""
    return (mapping or {}).get(key, "")
