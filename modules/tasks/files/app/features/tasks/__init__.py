"""Background tasks with arq: the API enqueues jobs in Redis, `app/worker.py` runs them.

- `jobs.py`: the task functions (the example `count_words`, the scheduled
  `record_heartbeat`) and `retry_later` for retries with backoff;
- `queue.py`: `TaskQueue` and the `TaskQueueDep` dependency, to enqueue from a route;
- `routes.py`: POST /api/v1/tasks/example, GET /api/v1/tasks/jobs/{job_id};
- `config.py`: the `TASKS_*` settings.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.features import Feature
from app.features.redis import RedisSettings, get_redis_settings
from app.features.tasks.config import TasksSettings, get_tasks_settings
from app.features.tasks.queue import TaskQueue, TaskQueueDep, create_pool
from app.features.tasks.routes import router

__all__ = [
    "TaskQueue",
    "TaskQueueDep",
    "TasksSettings",
    "create_feature",
    "feature",
    "get_tasks_settings",
]


def create_feature(
    settings: TasksSettings | None = None, redis: RedisSettings | None = None
) -> Feature:
    """The feature with `settings` and `redis` (default: read from the environment when
    the application starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_tasks_settings()
        queue = current.TASKS_QUEUE
        pool = create_pool((redis or get_redis_settings()).REDIS_URL, queue)
        app.state.task_queue = TaskQueue(pool, queue)
        app.state.tasks_settings = current
        try:
            yield
        finally:
            await pool.aclose(close_connection_pool=True)

    return Feature(name="tasks", router=router, lifespan=lifespan)


feature = create_feature()
