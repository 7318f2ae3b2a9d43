"""Who did something, in words: a user by display name, a system actor as "系统（事件）"."""

from __future__ import annotations

from django import template

from linli.accounts.selectors import display_names
from linli.core.actors import actor_words

register = template.Library()


@register.filter
def actor_name(label: str, actor_id: int | None = None) -> str:
    """``{{ event.actor_label|actor_name:event.actor_id }}``. The label is the sign-in name
    kept when the row was written; the display name is read now (one query per row)."""
    if actor_id is None:
        return actor_words(label)
    return display_names([actor_id]).get(actor_id) or label
