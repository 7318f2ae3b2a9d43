"""The review queue of uncertain matches, and splitting a wrongly merged person."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.core.errors import ApplicationError, NotFound
from linli.fusion import selectors, services
from linli.fusion.forms import SplitForm
from linli.fusion.views.access import IMPORT_ROLES, StaffRequest, staff_view
from linli.fusion.views.context import fusion_context
from linli.fusion.views.display import compare, evidence_items, record_values
from linli.registry.selectors import person_get_for_user

QUEUE_LIMIT = 30



@staff_view(IMPORT_ROLES)
@require_GET
def review_queue(request: StaffRequest) -> HttpResponse:
    rows = selectors.review_queue_for_user(user=request.user).select_related(
        "candidate__building", "candidate__room__unit", "candidate__room__building")
    total = rows.count()
    items = [(review, compare(review.record, review.candidate), evidence_items(review))
             for review in rows[:QUEUE_LIMIT]]
    return render(request, "fusion/reviews.html", {
        **fusion_context(request.user, "reviews"), "items": items, "total": total,
    })


@staff_view(IMPORT_ROLES)
@require_POST
def review_decide(request: StaffRequest, review_id: int) -> HttpResponse:
    """Accept (same person) or reject (a new person of its own) one uncertain match."""
    review = selectors.review_get_for_user(user=request.user, review_id=review_id)
    decision = request.POST.get("decision", "")
    try:
        if decision == "accept":
            person = services.review_accept(actor=request.user, review=review)
            messages.success(request, _("已确认为同一人:%(name)s。") % {"name": person.name})
        elif decision == "reject":
            person = services.review_reject(actor=request.user, review=review)
            messages.success(request, _("已确认不是同一人,另建人员:%(name)s。") % {"name": person.name})
        else:
            messages.error(request, _("请选择“是同一人”或“不是同一人”。"))
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("fusion:reviews")


@staff_view(IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def person_split(request: StaffRequest, person_id: int) -> HttpResponse:
    """A person's source records with checkboxes; the ticked ones become a new person."""
    person = person_get_for_user(user=request.user, person_id=person_id)
    records = selectors.person_source_records(user=request.user, person_id=person_id)
    form = SplitForm(request.POST if request.method == "POST" else None, records=records)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.person_split(actor=request.user, person=person,
                                            records=list(form.cleaned_data["records"]))
        except NotFound:
            raise
        except ApplicationError as error:
            form.add_error("records" if error.field == "records" else None, error.message)
        else:
            messages.success(request, _("已拆分:选中的来源记录已归入新人员 %(name)s。") % {"name": created.name})
            return redirect("web:person", person_id=created.pk)
    rows = [(record, record_values(record)) for record in records]
    return render(request, "fusion/split.html", {
        **fusion_context(request.user, "reviews"), "person": person, "rows": rows, "form": form,
    }, status=400 if form.errors else 200)
