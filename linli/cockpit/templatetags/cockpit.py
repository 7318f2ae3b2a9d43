from django import template

from linli.cockpit.workflow import KIND_LABELS

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    """The label of an emergency tag kind (registry tag or ``child``)."""
    return str(KIND_LABELS.get(kind, kind))
