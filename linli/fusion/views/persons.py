"""The provenance panel of a person: loaded by the person page with ``hx-get``."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from linli.fusion import selectors
from linli.fusion.views.access import IMPORT_ROLES, StaffRequest, staff_view
from linli.fusion.views.context import REASON_LABELS, field_label
from linli.fusion.views.display import value_text


@staff_view()
@require_GET
def provenance(request: StaffRequest, person_id: int) -> HttpResponse:
    """Each field: which source said what and when, which value won and why (HTML fragment)."""
    histories = selectors.person_provenance(user=request.user, person_id=person_id)
    fields = []
    for history in histories:
        values = [{
            "source": item.department, "code": item.source,
            "value": value_text(history.field, item.value) or item.value or "—",
            "observed_at": item.observed_at, "won": item.won, "precedence": item.precedence,
            "reason": str(REASON_LABELS.get(item.reason, item.reason)), "row": item.row_number,
        } for item in history.values]
        fields.append({
            "field": history.field, "label": field_label(history.field),
            "current": value_text(history.field, history.current) or history.current or "—",
            "values": values,
        })
    records = selectors.person_source_records(user=request.user, person_id=person_id).count()
    past = [{"source": r.source.department, "code": r.source.code, "name": r.source.name, "row": r.row_number,
             "sheet": r.sheet, "observed_at": r.created_at}
            for r in selectors.person_past_records(user=request.user, person_id=person_id)]
    return render(request, "fusion/_person_provenance.html", {
        "fields": fields, "person_id": person_id, "records": records, "past": past,
        "can_split": request.user.role in IMPORT_ROLES and records > 1,
    })
