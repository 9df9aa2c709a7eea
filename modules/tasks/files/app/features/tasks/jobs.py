"""The functions the worker runs. Add yours here and list them in `app/worker.py`.

A task is an `async def` whose first argument is arq's context (`ctx["job_id"]`,
`ctx["job_try"]` (1 on the first try), `ctx["redis"]`); the other arguments are what
`TaskQueue.enqueue` was given, and its return value is the job's result. Arguments and
results travel through Redis pickled: keep them to plain data.
"""

from datetime import UTC, datetime
from typing import Any

from arq import Retry

from app.features.tasks.config import TasksSettings, get_tasks_settings

Context = dict[str, Any]


def backoff(job_try: int, settings: TasksSettings) -> float:
    """Seconds to wait after try `job_try` failed: `TASKS_RETRY_DELAY`, doubled for
    each try since the first, at most `TASKS_RETRY_MAX_DELAY`."""
    delay: float = settings.TASKS_RETRY_DELAY * 2 ** (job_try - 1)
    return min(delay, settings.TASKS_RETRY_MAX_DELAY)


def retry_later(ctx: Context) -> Retry:
    """Ask for another try after a growing delay: `raise retry_later(ctx) from exc`.
    After `TASKS_MAX_TRIES` tries the job fails instead."""
    return Retry(defer=backoff(int(ctx["job_try"]), get_tasks_settings()))


async def count_words(ctx: Context, text: str, fail_times: int = 0) -> dict[str, int]:
    """The example task: counts the words in `text`. Its first `fail_times` tries fail
    on purpose, to show retries with backoff."""
    job_try = int(ctx["job_try"])
    if job_try <= fail_times:
        raise retry_later(ctx)
    return {"words": len(text.split()), "tries": job_try}


def heartbeat_key(queue: str) -> str:
    """Where `record_heartbeat` writes: one key per queue."""
    return f"{queue}:heartbeat"


async def record_heartbeat(ctx: Context) -> str:
    """The example scheduled job (see `cron_jobs` in `app/worker.py`): records when
    the scheduler last ran, as an ISO 8601 time in `<queue>:heartbeat`."""
    now = datetime.now(UTC).isoformat()
    await ctx["redis"].set(heartbeat_key(get_tasks_settings().TASKS_QUEUE), now)
    return now
