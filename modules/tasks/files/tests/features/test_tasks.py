"""The tasks feature end to end: the API enqueues, a real worker process runs the job
against the real Redis at REDIS_URL, and the API reports its status and result.

The tests start their own worker (`python -m arq app.worker.WorkerSettings`) on a queue
of their own, with short retry delays, so that they never take jobs from (or give jobs
to) a worker `paxx-compose up` started. That worker, when it runs, gets a test too.
"""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from app.features import FEATURES
from app.features import tasks as tasks_feature
from app.features.redis import create_client, get_redis_settings
from app.features.tasks import TasksSettings, get_tasks_settings
from app.features.tasks.jobs import backoff, heartbeat_key
from app.features.tasks.routes import EXAMPLE_MAX_FAILURES, EXAMPLE_MAX_TEXT
from app.worker import WorkerSettings
from tests.conftest import ClientFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 60.0
JOB_TIMEOUT = 30.0
# The test worker's settings: quick retries, few tries.
TEST_WORKER_ENV = {
    "TASKS_MAX_TRIES": "3",
    "TASKS_RETRY_DELAY": "0.2",
    "TASKS_RETRY_MAX_DELAY": "5",
    "TASKS_KEEP_RESULT": "300",
}


def health_key(queue: str) -> str:
    return f"{queue}:health-check"


@pytest.fixture(scope="session")
async def worker(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TasksSettings]:
    """A worker process on a queue of its own; yields the settings that reach it."""
    queue = f"test:tasks:{uuid.uuid4().hex}"
    env = os.environ | TEST_WORKER_ENV | {"TASKS_QUEUE": queue, "LOG_JSON": "false"}
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    redis = create_client(get_redis_settings())
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arq", "app.worker.WorkerSettings"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not await redis.exists(health_key(queue)):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{log.read_text()}")
            await asyncio.sleep(0.1)
        yield TasksSettings(TASKS_QUEUE=queue)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        await redis.delete(queue, health_key(queue), heartbeat_key(queue))
        await redis.aclose()


@pytest.fixture
async def tasks_client(
    make_client: ClientFactory, worker: TasksSettings
) -> AsyncIterator[AsyncClient]:
    async with make_client([tasks_feature.create_feature(worker)]) as client:
        yield client


async def wait_for_result(
    client: AsyncClient, job_id: str, timeout: float = JOB_TIMEOUT
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/tasks/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "complete":
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} is still {body['status']} after {timeout} s")
        await asyncio.sleep(0.1)


def test_the_feature_is_enabled() -> None:
    assert tasks_feature.feature in FEATURES


async def test_the_worker_runs_the_example_job(tasks_client: AsyncClient) -> None:
    response = await tasks_client.post(
        "/api/v1/tasks/example", json={"text": "the quick brown fox"}
    )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert response.json() == {"job_id": job_id, "status": "queued"}
    assert response.headers["location"] == f"/api/v1/tasks/jobs/{job_id}"

    body = await wait_for_result(tasks_client, job_id)
    assert body["success"] is True
    assert body["result"] == {"words": 4, "tries": 1}
    assert body["error"] is None
    assert body["function"] == "count_words"
    assert body["tries"] == 1
    assert body["enqueued_at"] <= body["finished_at"]


async def test_a_failing_job_is_retried_with_growing_delays(
    tasks_client: AsyncClient,
) -> None:
    response = await tasks_client.post(
        "/api/v1/tasks/example", json={"text": "again", "fail_times": 2}
    )
    body = await wait_for_result(tasks_client, response.json()["job_id"])
    assert body["success"] is True
    assert body["result"] == {"words": 1, "tries": 3}
    # Waits of 0.2 s after the first try and 0.4 s after the second.
    took = datetime.fromisoformat(body["finished_at"]) - datetime.fromisoformat(
        body["enqueued_at"]
    )
    assert took.total_seconds() >= 0.6


async def test_a_job_fails_once_its_tries_are_used_up(
    tasks_client: AsyncClient,
) -> None:
    response = await tasks_client.post(
        "/api/v1/tasks/example", json={"text": "never", "fail_times": 5}
    )
    body = await wait_for_result(tasks_client, response.json()["job_id"])
    assert body["success"] is False
    assert body["result"] is None
    assert "max 3 retries exceeded" in body["error"]


async def test_a_job_nobody_takes_stays_queued(make_client: ClientFactory) -> None:
    queue = f"test:tasks:idle:{uuid.uuid4().hex}"
    feature = tasks_feature.create_feature(TasksSettings(TASKS_QUEUE=queue))
    redis = create_client(get_redis_settings())
    try:
        async with make_client([feature]) as client:
            response = await client.post("/api/v1/tasks/example", json={"text": "x"})
            job_id = response.json()["job_id"]
            body = (await client.get(f"/api/v1/tasks/jobs/{job_id}")).json()
        assert body["status"] == "queued"
        assert body["function"] == "count_words"
        assert body["success"] is None
    finally:
        await redis.delete(queue, f"arq:job:{job_id}")
        await redis.aclose()


async def test_an_unknown_job_is_404(tasks_client: AsyncClient) -> None:
    response = await tasks_client.get(f"/api/v1/tasks/jobs/{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_no_job_id_shadows_the_example_path(tasks_client: AsyncClient) -> None:
    response = await tasks_client.get("/api/v1/tasks/example")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "x", "fail_times": -1},
        {"text": "x", "fail_times": 20},  # twenty tries of worker time per request
        {"text": "x", "fail_times": EXAMPLE_MAX_FAILURES + 1},
        {"text": "x" * (EXAMPLE_MAX_TEXT + 1)},  # kept in Redis with the job
        # What the published schema excludes: no JSON Schema integer.
        {"text": "x", "fail_times": 1.5},
        {"text": "x", "fail_times": True},
        {"text": "x", "fail_times": "1"},
    ],
)
async def test_the_example_checks_its_input(
    tasks_client: AsyncClient, payload: dict[str, object]
) -> None:
    response = await tasks_client.post("/api/v1/tasks/example", json=payload)
    assert response.status_code == 422


async def test_the_example_refuses_work_while_the_queue_is_full(
    make_client: ClientFactory,
) -> None:
    """An anonymous flood of the example endpoint stops at TASKS_EXAMPLE_MAX_QUEUED
    waiting jobs instead of growing Redis and burying real jobs."""
    queue = f"test:tasks:full:{uuid.uuid4().hex}"
    settings = TasksSettings(TASKS_QUEUE=queue, TASKS_EXAMPLE_MAX_QUEUED=3)
    redis = create_client(get_redis_settings())
    job_ids: list[str] = []
    try:
        async with make_client([tasks_feature.create_feature(settings)]) as client:
            for _ in range(3):
                accepted = await client.post(
                    "/api/v1/tasks/example", json={"text": "x"}
                )
                assert accepted.status_code == 202, accepted.text
                job_ids.append(accepted.json()["job_id"])
            refused = await client.post("/api/v1/tasks/example", json={"text": "x"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "queue_full"
        assert refused.headers["retry-after"] == "30"
        assert await redis.zcard(queue) == 3
    finally:
        await redis.delete(queue, *(f"arq:job:{job_id}" for job_id in job_ids))
        await redis.aclose()


async def test_the_scheduled_job_ran_when_the_worker_started(
    worker: TasksSettings,
) -> None:
    redis = create_client(get_redis_settings())
    try:
        deadline = time.monotonic() + JOB_TIMEOUT
        while not await redis.exists(heartbeat_key(worker.TASKS_QUEUE)):
            assert time.monotonic() < deadline, "no heartbeat from the scheduled job"
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


def test_backoff_doubles_up_to_the_maximum() -> None:
    settings = TasksSettings(TASKS_RETRY_DELAY=1.5, TASKS_RETRY_MAX_DELAY=10)
    assert [backoff(n, settings) for n in range(1, 6)] == [1.5, 3, 6, 10, 10]


def test_the_worker_follows_the_settings() -> None:
    settings = get_tasks_settings()
    assert WorkerSettings.queue_name == settings.TASKS_QUEUE
    assert WorkerSettings.max_tries == settings.TASKS_MAX_TRIES
    assert WorkerSettings.keep_result == settings.TASKS_KEEP_RESULT
    assert [job.name for job in WorkerSettings.cron_jobs] == ["cron:record_heartbeat"]


async def test_the_running_worker_runs_jobs(make_client: ClientFactory) -> None:
    """The worker `paxx-compose up` started, on the configured queue."""
    queue = get_tasks_settings().TASKS_QUEUE
    redis = create_client(get_redis_settings())
    try:
        running = await redis.exists(health_key(queue))
    finally:
        await redis.aclose()
    if not running:
        pytest.skip(f"no worker runs on queue {queue!r} (start one: paxx-compose up)")
    async with make_client([tasks_feature.feature]) as client:
        response = await client.post("/api/v1/tasks/example", json={"text": "a b"})
        body = await wait_for_result(client, response.json()["job_id"])
    assert body["result"] == {"words": 2, "tries": 1}
