"""The tasks feature's settings. The Redis server is the redis feature's `REDIS_URL`."""

from functools import cache
from typing import Annotated

from pydantic import Field

from app.core.config import FeatureSettings, load_settings


class TasksSettings(FeatureSettings):
    """Read by the API (which enqueues) and by the worker (which runs the jobs)."""

    # The queue (a Redis sorted set) the API enqueues to and the worker takes jobs from.
    # Services sharing one Redis need a queue each.
    TASKS_QUEUE: Annotated[str, Field(min_length=1)] = "arq:queue"
    # Tries a job gets before it counts as failed (a task asks for another try by
    # raising `retry_later(ctx)`).
    TASKS_MAX_TRIES: Annotated[int, Field(ge=1)] = 5
    # Seconds before the second try; the wait doubles with each try, up to the maximum.
    TASKS_RETRY_DELAY: Annotated[float, Field(gt=0)] = 1.0
    TASKS_RETRY_MAX_DELAY: Annotated[float, Field(gt=0)] = 300.0
    # Seconds a job may run before the worker cancels it.
    TASKS_JOB_TIMEOUT: Annotated[float, Field(gt=0)] = 300.0
    # Seconds a finished job's result stays available (GET /api/v1/tasks/jobs/{job_id}).
    TASKS_KEEP_RESULT: Annotated[int, Field(ge=1)] = 3600
    # Jobs one worker process runs at the same time.
    TASKS_MAX_JOBS: Annotated[int, Field(ge=1)] = 10
    # The example endpoint (POST /api/v1/tasks/example) refuses new jobs (503) while
    # the queue holds this many: an anonymous flood cannot grow Redis without bound
    # nor bury real jobs. Your own endpoints decide for themselves.
    TASKS_EXAMPLE_MAX_QUEUED: Annotated[int, Field(ge=1)] = 100


@cache
def get_tasks_settings() -> TasksSettings:
    """The process's tasks settings, read once."""
    return load_settings(TasksSettings)
