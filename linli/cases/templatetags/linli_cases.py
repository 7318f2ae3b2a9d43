"""Case list rows as one format string a row (issue #15, "Load").

``cases/_case_row.html`` included once a row cost a template context, an include and ~25
nodes per case; the inbox and the full list render 50–100 rows a request. The output is
byte for byte what the include rendered (tests compare the two on hostile data); every value
goes through Django's ``conditional_escape`` as ``{{ }}`` did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import truncatechars
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

# A page's links: reversed once with this id, then the id swapped in (as linli_web.with_id).
URL_ID_PLACEHOLDER = "987654321"

_CASE_ROW = (
    '<li class="case-row sup-{sup}" data-testid="case-row" data-number="{number}" data-supervision="{sup}">'
    '\n  <a class="case-link" href="{url}" data-testid="case-link">'
    '\n    <span class="case-head">'
    '\n      <span class="case-number mono">{number}</span>'
    '\n      <span class="badge status-{status}">{status_label}</span>'
    "\n      {sup_badge}"
    "\n    </span>"
    '\n    <span class="case-title">{category} · {description}</span>'
    '\n    <span class="case-meta small muted">{grid}{due}</span>'
    "\n  </a>"
    "\n</li>\n"
)


@register.simple_tag
def case_rows(cases: Iterable[Any], case_url: str) -> SafeString:
    """The ``<li>`` of each case of a list (the fields ``cases.selectors`` loads for a row)."""
    esc = conditional_escape
    no_grid = esc(_("未定位网格"))
    deadline = esc(_("时限"))
    # Labels translated once a page, not once a row.
    statuses: dict[str, str] = {}
    badges: dict[int, str] = {}
    out = []
    for case in cases:
        level = case.supervision_level
        sup = esc(str(level))
        if case.status not in statuses:
            statuses[case.status] = esc(case.get_status_display())
        if level and level not in badges:
            badges[level] = (f'<span class="badge sup sup-{sup}" data-testid="case-supervision">'
                             f"{esc(case.get_supervision_level_display())}</span>")
        grid = case.grid
        due = case.stage_due_at
        out.append(_CASE_ROW.format(
            sup=sup,
            number=esc(case.number),
            url=esc(case_url.replace(URL_ID_PLACEHOLDER, str(int(case.pk)), 1)),
            status=esc(case.status),
            status_label=statuses[case.status],
            sup_badge=badges[level] if level else "",
            category=esc(case.category.name),
            description=esc(truncatechars(case.description, 40)),
            grid=esc((grid.name if grid is not None else "") or no_grid),
            due=f" · {deadline} {esc(date_filter(timezone.localtime(due), 'm-d H:i'))}" if due else "",
        ))
    return mark_safe("".join(out))  # noqa: S308 -- every value escaped above
