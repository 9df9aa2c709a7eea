"""The tasks API: enqueue the example job, look up any job's status and result.

The example endpoint takes work from anyone: its limits are explicit (a short text, a
few failing tries, at most TASKS_EXAMPLE_MAX_QUEUED jobs waiting). Replace it with
your own, behind authentication and a rate limit, before going live.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from arq.jobs import JobStatus
from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import to_jsonable_python

from app.core.config import API_V1_PREFIX
from app.core.errors import AppError, NotFoundError
from app.core.openapi import error_responses
from app.features.tasks.config import TasksSettings
from app.features.tasks.queue import TaskQueueDep
from app.schemas.common import json_number

router = APIRouter(prefix=f"{API_V1_PREFIX}/tasks", tags=["tasks"])

JobId = Annotated[str, Path(min_length=1, max_length=200)]

# The example job's limits: what one anonymous request may put in Redis and how many
# tries it may make the worker spend (as many as TASKS_MAX_TRIES allows by default).
EXAMPLE_MAX_TEXT = 1_000
EXAMPLE_MAX_FAILURES = 5


class QueueFullError(AppError):
    status_code = 503
    code = "queue_full"


def get_app_tasks_settings(request: Request) -> TasksSettings:
    return cast(TasksSettings, request.app.state.tasks_settings)


TasksSettingsDep = Annotated[TasksSettings, Depends(get_app_tasks_settings)]


class ExampleJobCreate(BaseModel):
    text: Annotated[str, Field(max_length=EXAMPLE_MAX_TEXT)]
    # Tries that fail on purpose before the job succeeds, to see retries at work.
    fail_times: Annotated[
        int, Field(ge=0, le=EXAMPLE_MAX_FAILURES), BeforeValidator(json_number)
    ] = 0


class JobAccepted(BaseModel):
    job_id: str
    status: Literal["queued"] = "queued"


class JobRead(BaseModel):
    job_id: str
    status: Literal["deferred", "queued", "in_progress", "complete"]
    function: str | None = None
    # The try running or last run (1 for the first).
    tries: int | None = None
    enqueued_at: datetime | None = None
    finished_at: datetime | None = None
    # Set once complete: whether the job returned (its `result`) or failed (`error`).
    success: bool | None = None
    result: Any = None
    error: str | None = None


@router.post(
    "/example",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(status.HTTP_503_SERVICE_UNAVAILABLE),
)
async def enqueue_example(
    body: ExampleJobCreate,
    queue: TaskQueueDep,
    settings: TasksSettingsDep,
    response: Response,
) -> JobAccepted:
    """Queue the example job (`count_words`); poll its `Location` for the result.
    503 while TASKS_EXAMPLE_MAX_QUEUED jobs are waiting."""
    waiting = await queue.pool.zcard(queue.name)
    if waiting >= settings.TASKS_EXAMPLE_MAX_QUEUED:
        raise QueueFullError(
            "Too many jobs are waiting; try again later.",
            headers={"Retry-After": "30"},
        )
    job = await queue.enqueue("count_words", body.text, fail_times=body.fail_times)
    response.headers["Location"] = f"{router.prefix}/jobs/{job.job_id}"
    return JobAccepted(job_id=job.job_id)


_NOT_FOUND = {"description": "No such job, or its result has expired"}


# Under `jobs/`, so that no job id is taken for another route's path (`example`).
@router.get("/jobs/{job_id}", responses={status.HTTP_404_NOT_FOUND: _NOT_FOUND})
async def read_job(job_id: JobId, queue: TaskQueueDep) -> JobRead:
    """A job's status; once complete, its result or error (kept for
    `TASKS_KEEP_RESULT` seconds)."""
    job = queue.job(job_id)
    state = await job.status()
    if state == JobStatus.not_found:
        raise NotFoundError("Job not found.")
    if state == JobStatus.complete:
        done = await job.result_info()
        if done is not None:
            failed = isinstance(done.result, BaseException)
            result = None if failed else to_jsonable_python(done.result, fallback=repr)
            error = f"{type(done.result).__name__}: {done.result}" if failed else None
            return JobRead(
                job_id=job_id,
                status="complete",
                function=done.function,
                tries=done.job_try,
                enqueued_at=done.enqueue_time,
                finished_at=done.finish_time,
                success=done.success,
                result=result,
                error=error,
            )
    info = await job.info()
    return JobRead(
        job_id=job_id,
        status=state.value,
        function=info.function if info else None,
        tries=info.job_try if info else None,
        enqueued_at=info.enqueue_time if info else None,
    )
