"""Verification tasks: the grid worker's inbox (phone first) and the answer form."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.core.errors import ApplicationError, NotFound
from linli.fusion import selectors, services
from linli.fusion.choices import ConflictField, TaskStatus
from linli.fusion.forms import VerificationAnswerForm
from linli.fusion.models import Source, VerificationTask
from linli.fusion.views.access import TASK_ROLES, StaffRequest, staff_view
from linli.fusion.views.context import field_label, fusion_context
from linli.fusion.views.display import person_address, room_text, task_evidence, value_text
from linli.registry.models import Room

PAGE_SIZE = 20
ROOM_CHOICES_LIMIT = 5000


def _sources() -> dict[int, Source]:
    # A handful of departments: one query, keyed for the evidence lines.
    return {source.pk: source for source in Source.objects.all()}


def _card(task: VerificationTask, sources: dict[int, Source]) -> dict[str, object]:
    return {"task": task, "label": field_label(task.field), "evidence": task_evidence(task, sources),
            "address": person_address(task.person),
            "answer": {field_label(k): value_text(k, str(v)) or str(v) for k, v in (task.answer or {}).items()}}


@staff_view(TASK_ROLES)
@require_GET
def task_inbox(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", TaskStatus.OPEN)
    status = status if status in TaskStatus.values else TaskStatus.OPEN
    field = request.GET.get("field", "")
    field = field if field in ConflictField.values else ""
    tasks = selectors.verification_tasks_for_user(user=request.user, status=status, field=field or None).select_related(
        "person__room__unit", "person__room__building", "person__building")
    page = Paginator(selectors.verification_tasks_in_walk_order(tasks, status=status), PAGE_SIZE).get_page(
        request.GET.get("page"))
    sources = _sources()
    counts = selectors.verification_task_counts_for_user(user=request.user)
    fields = selectors.verification_task_field_counts_for_user(user=request.user, status=status)
    return render(request, "fusion/tasks.html", {
        **fusion_context(request.user, "tasks"), "cards": [_card(task, sources) for task in page], "page": page,
        "status": status, "field": field,
        "statuses": [(value, label, counts[value]) for value, label in TaskStatus.choices],
        "fields": [(name, field_label(name), n) for name, n in fields.items()],
        "field_total": sum(fields.values()),
    })


def _rooms(task: VerificationTask) -> list[tuple[str, str]]:
    """The rooms of the task's grid (the selector already checked the grid is the user's)."""
    rooms = (Room.objects.filter(building__grid_id=task.grid_id).select_related("building", "unit")
             .order_by("building__address", "unit__number", "number")[:ROOM_CHOICES_LIMIT])
    return [(str(room.pk), f"{room.building.address} {room_text(room.unit.number, room.number)}") for room in rooms]


@staff_view(TASK_ROLES)
@require_http_methods(["GET", "POST"])
def task_detail(request: StaffRequest, task_id: int) -> HttpResponse:
    task = selectors.verification_task_get_for_user(user=request.user, task_id=task_id)
    rooms = _rooms(task) if task.field == ConflictField.RESIDENCE else None
    form = VerificationAnswerForm(request.POST if request.method == "POST" else None, field=task.field,
                                  rooms=rooms)
    open_task = task.status == TaskStatus.OPEN
    if request.method == "POST" and open_task and form.is_valid():
        try:
            services.verification_answer(actor=request.user, task=task, answer=form.answer(),
                                         note=form.cleaned_data.get("note") or "")
        except NotFound:
            raise
        except ApplicationError as error:
            target = "deceased_on" if error.field == "deceased_on" and "deceased_on" in form.fields else "value"
            form.add_error(target if error.field else None, error.message)
        else:
            messages.success(request, _("核实结果已提交,人口信息已更新。"))
            return redirect("fusion:tasks")
    elif request.method == "POST" and not open_task:
        messages.error(request, _("该核实任务已处理"))
    return render(request, "fusion/task.html", {
        **fusion_context(request.user, "tasks"), **_card(task, _sources()), "form": form, "open": open_task,
    }, status=400 if form.errors else 200)
