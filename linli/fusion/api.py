"""Fusion endpoints under /api/v1/fusion/: import jobs, the review queue, provenance, tasks.

Each endpoint parses input, calls one selector or service and returns a schema. The caller
is ``request.auth`` (a staff user or an API key); everything is scoped by the selectors and
out-of-scope objects are 404. Decisions and answers are made by people: API keys get 403.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from ninja import Router

from linli.accounts.auth import principal_of as _principal
from linli.accounts.models import User
from linli.core.errors import PermissionDenied
from linli.core.params import Id, Limit, Offset
from linli.fusion import selectors, services
from linli.fusion.choices import ImportStatus, ReviewStatus, TaskStatus
from linli.fusion.models import ImportJob, MatchReview, Source, VerificationTask
from linli.fusion.schemas import (
    AnswerIn,
    DecisionIn,
    DecisionOut,
    FieldHistoryOut,
    JobOut,
    JobProgressOut,
    Page,
    ReviewOut,
    TaskOut,
)
from linli.fusion.views.display import compare, task_evidence

router = Router(tags=["fusion"])
LIMIT_MAX = 200
M = TypeVar("M", bound=Model)




def _person(request: HttpRequest) -> User:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied("只有工作人员本人可以做出此操作")
    return principal


def _slice(rows: QuerySet[M], limit: int, offset: int) -> tuple[int, int, int, list[M]]:
    limit, offset = max(1, min(limit, LIMIT_MAX)), max(0, offset)
    return rows.count(), limit, offset, list(rows[offset: offset + limit])


def _job(job: ImportJob) -> dict[str, Any]:
    try:
        rejected = reverse("fusion:rejected", kwargs={"job_id": job.pk}) if job.counts.get("rejected") else None
    except NoReverseMatch:  # pages not mounted (API-only deployment)
        rejected = None
    return {
        "id": job.pk, "source": job.source.code, "department": job.source.department, "file_name": job.file_name,
        "status": job.status, "dry_run": job.dry_run, "progress": job.progress, "counts": job.counts or {},
        "error": job.error, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "rejected_url": rejected if not job.dry_run else None,
    }


@router.get("/fusion/jobs", response=Page[JobOut])
def job_list(request: HttpRequest, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    count, limit, offset, jobs = _slice(selectors.import_job_list_for_user(user=_principal(request)), limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": [_job(job) for job in jobs]}


@router.get("/fusion/jobs/{job_id}", response=JobOut)
def job_detail(request: HttpRequest, job_id: Id) -> dict[str, Any]:
    return _job(selectors.import_job_get_for_user(user=_principal(request), job_id=job_id))


@router.get("/fusion/jobs/{job_id}/progress", response=JobProgressOut)
def job_progress(request: HttpRequest, job_id: Id) -> dict[str, Any]:
    job = selectors.import_job_get_for_user(user=_principal(request), job_id=job_id)
    return {"id": job.pk, "status": job.status, "progress": job.progress,
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED)}


def _review(review: MatchReview) -> dict[str, Any]:
    return {
        "id": review.pk, "status": review.status, "score": review.score, "source": review.record.source.code,
        "department": review.record.source.department, "row_number": review.record.row_number,
        "candidate_id": review.candidate_id, "evidence": review.evidence or {},
        "fields": compare(review.record, review.candidate),
    }


@router.get("/fusion/reviews", response=Page[ReviewOut])
def review_list(request: HttpRequest, status: str = ReviewStatus.OPEN, limit: Limit = 50,
                offset: Offset = 0) -> dict[str, Any]:
    status = status if status in ReviewStatus.values else ReviewStatus.OPEN
    rows = selectors.review_queue_for_user(user=_principal(request), status=status).select_related(
        "candidate__building", "candidate__room__unit", "candidate__room__building")
    count, limit, offset, reviews = _slice(rows, limit, offset)
    return {"count": count, "limit": limit, "offset": offset, "items": [_review(r) for r in reviews]}


@router.post("/fusion/reviews/{review_id}/decision", response=DecisionOut)
def review_decide(request: HttpRequest, review_id: Id, payload: DecisionIn) -> dict[str, Any]:
    user = _person(request)
    review = selectors.review_get_for_user(user=user, review_id=review_id)
    if payload.decision == "accept":
        person = services.review_accept(actor=user, review=review)
        status = ReviewStatus.ACCEPTED
    else:
        person = services.review_reject(actor=user, review=review)
        status = ReviewStatus.REJECTED
    return {"review_id": review.pk, "status": status, "person_id": person.pk}


@router.get("/fusion/persons/{person_id}/provenance", response=list[FieldHistoryOut])
def person_provenance(request: HttpRequest, person_id: Id) -> Any:
    return selectors.person_provenance(user=_principal(request), person_id=person_id)


def _task(task: VerificationTask, sources: dict[int, Source]) -> dict[str, Any]:
    return {
        "id": task.pk, "person_id": task.person_id, "person_name": task.person.name, "field": task.field,
        "status": task.status, "grid_id": task.grid_id, "assignee_id": task.assignee_id,
        "evidence": task_evidence(task, sources), "answer": task.answer or {}, "note": task.note,
        "created_at": task.created_at, "answered_at": task.answered_at,
    }


def _sources() -> dict[int, Source]:
    return {source.pk: source for source in Source.objects.all()}


@router.get("/fusion/tasks", response=Page[TaskOut])
def task_list(request: HttpRequest, status: str = TaskStatus.OPEN, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    status = status if status in TaskStatus.values else TaskStatus.OPEN
    rows = selectors.verification_tasks_for_user(user=_principal(request), status=status).select_related(
        "person__room__unit", "person__room__building", "person__building")
    count, limit, offset, tasks = _slice(rows, limit, offset)
    sources = _sources()
    return {"count": count, "limit": limit, "offset": offset, "items": [_task(t, sources) for t in tasks]}


@router.post("/fusion/tasks/{task_id}/answer", response=TaskOut)
def task_answer(request: HttpRequest, task_id: Id, payload: AnswerIn) -> dict[str, Any]:
    user = _person(request)
    task = selectors.verification_task_get_for_user(user=user, task_id=task_id)
    answer: dict[str, Any] = {task.field: payload.value}
    if payload.deceased_on is not None:
        answer["deceased_on"] = payload.deceased_on
    task = services.verification_answer(actor=user, task=task, answer=answer, note=payload.note)
    return _task(task, _sources())
