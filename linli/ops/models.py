"""Operations' own rows: the task workers' heartbeats (their leases on running tasks)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.models import TimeStampedModel


class WorkerHeartbeat(TimeStampedModel):
    """One task worker process: where it runs and when it was last seen.

    The worker writes ``seen_at`` every ``LINLI_WORKER_HEARTBEAT_SECONDS`` from a thread of
    its own and ``task_id`` while it runs a task. A running task is *lost* when its worker
    has stopped, when the worker's process is gone (same host: ``pid`` with ``pid_started``,
    which tells a reused pid apart) or when it has not been seen for
    ``LINLI_TASK_LEASE_SECONDS`` (another host). Lost tasks are requeued or failed by
    :func:`linli.ops.services.lost_tasks_recover`."""

    worker_id = models.CharField(_("工作进程标识"), max_length=64, unique=True)
    hostname = models.CharField(_("主机"), max_length=255)
    pid = models.PositiveIntegerField(_("进程号"))
    pid_started = models.CharField(_("进程启动标记"), max_length=32, blank=True)
    queues = models.CharField(_("队列"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("启动时间"))
    seen_at = models.DateTimeField(_("最近心跳"), db_index=True)
    stopped_at = models.DateTimeField(_("停止时间"), null=True, blank=True)
    task_id = models.UUIDField(_("当前任务"), null=True, blank=True)
    tasks_done = models.PositiveIntegerField(_("已完成任务数"), default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["-seen_at"]
        verbose_name = _("任务工作进程")
        verbose_name_plural = _("任务工作进程")

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"
