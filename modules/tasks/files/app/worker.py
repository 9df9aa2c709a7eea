"""The task worker: `uv run arq app.worker.WorkerSettings` (`paxx-compose up` runs it).

It takes jobs from `TASKS_QUEUE` in the Redis at `REDIS_URL`, runs up to
`TASKS_MAX_JOBS` at once, and enqueues the scheduled jobs in `cron_jobs` itself (with
several workers, each scheduled run still happens once). `arq --check
app.worker.WorkerSettings` exits 0 while a worker for the queue is alive.
"""

import logging

from arq import cron
from arq.connections import RedisSettings as ArqRedisSettings
from arq.cron import CronJob

from app.core.config import get_settings
from app.core.logging import configure_logging
from app.features.redis import get_redis_settings
from app.features.tasks.config import get_tasks_settings
from app.features.tasks.jobs import Context, count_words, record_heartbeat

_tasks = get_tasks_settings()


async def startup(ctx: Context) -> None:
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, json_format=settings.LOG_JSON)
    # arq logs through a handler of its own; send its lines through ours instead.
    arq_logger = logging.getLogger("arq")
    arq_logger.handlers.clear()
    arq_logger.propagate = True


class WorkerSettings:
    """What `arq` reads: the functions, the schedule, the queue and its limits."""

    functions = [count_words]
    cron_jobs: list[CronJob] = [
        # Every five minutes, and once when the worker starts.
        cron(record_heartbeat, minute=set(range(0, 60, 5)), run_at_startup=True),
    ]
    on_startup = startup
    redis_settings = ArqRedisSettings.from_dsn(get_redis_settings().REDIS_URL)
    queue_name = _tasks.TASKS_QUEUE
    max_tries = _tasks.TASKS_MAX_TRIES
    job_timeout = _tasks.TASKS_JOB_TIMEOUT
    keep_result = _tasks.TASKS_KEEP_RESULT
    max_jobs = _tasks.TASKS_MAX_JOBS
    # Seconds between the worker's "alive" marks (what `arq --check` looks for).
    health_check_interval = 10
