"""Enqueueing jobs and looking them up, from the API side.

    from app.features.tasks import TaskQueueDep

    @router.post("/reports", status_code=202)
    async def build_report(queue: TaskQueueDep) -> dict[str, str]:
        job = await queue.enqueue("build_report", month="2026-01")
        return {"job_id": job.job_id}

The worker must list the task (`WorkerSettings.functions` in `app/worker.py`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from arq.connections import ArqRedis
from arq.jobs import Job
from fastapi import Depends, Request
from redis.asyncio import ConnectionPool

from app.core.errors import ConflictError


def create_pool(redis_url: str, queue: str) -> ArqRedis:
    """An arq client for `queue`. Unlike `arq.create_pool` it connects on first use,
    so the application starts (and reports Redis in `/health/ready`) while Redis is
    down. Close it with `await pool.aclose(close_connection_pool=True)`."""
    return ArqRedis(ConnectionPool.from_url(redis_url), default_queue_name=queue)


@dataclass(frozen=True)
class TaskQueue:
    """The queue the worker reads (`TASKS_QUEUE`)."""

    pool: ArqRedis
    name: str

    async def enqueue(
        self,
        function: str,
        *args: Any,
        job_id: str | None = None,
        defer_by: float | timedelta | None = None,
        defer_until: datetime | None = None,
        **kwargs: Any,
    ) -> Job:
        """Queue a call of the task named `function` (as listed in
        `WorkerSettings.functions`). A `job_id` makes the job unique: enqueueing it
        again while it is queued, running or has a result raises `ConflictError`."""
        job = await self.pool.enqueue_job(
            function,
            *args,
            _job_id=job_id,
            _queue_name=self.name,
            _defer_by=defer_by,
            _defer_until=defer_until,
            **kwargs,
        )
        if job is None:
            raise ConflictError(f"A job with id {job_id!r} exists already.")
        return job

    def job(self, job_id: str) -> Job:
        """A handle on a job of this queue: `await job.status()`, `result_info()`."""
        return Job(job_id, self.pool, _queue_name=self.name)


def get_task_queue(request: Request) -> TaskQueue:
    """The application's queue, opened by the feature's lifespan."""
    return cast(TaskQueue, request.app.state.task_queue)


TaskQueueDep = Annotated[TaskQueue, Depends(get_task_queue)]
