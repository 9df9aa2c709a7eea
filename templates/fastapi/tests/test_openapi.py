"""The OpenAPI document is a contract (see `app/core/openapi.py`), checked two ways:

- it is a valid OpenAPI 3.1 document;
- requests generated from it for every operation of the application, every enabled
  feature's included, get only the statuses it documents, with bodies that match its
  schemas; requests it calls valid are accepted, those it calls invalid refused, and
  a method a path lacks gets a 405 whose `Allow` names exactly the path's methods.

The second is property-based (schemathesis, on Hypothesis): each operation gets
`CONTRACT_EXAMPLES` generated requests, valid and invalid, plus the edge cases of its
schemas; then sequences of calls linked by their data (create, then read, update and
delete what was created). A failure prints the request that caused it, as `curl`.
The application runs on a database of its own, so that the rows these requests commit
never meet the other tests.
"""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings
from app.main import create_app
from app.models import Base
from tests import database

# Generated requests per operation, and sequences of linked calls: enough to find a
# lie in the document, few enough to keep the suite quick. Raise them for a deeper
# search; both runs are seeded, so a failure comes back the same on the next run.
CONTRACT_EXAMPLES = 30
CONTRACT_SEQUENCES = 10
# Statuses that refuse a valid request for what it asks (a name already taken, a media
# type the settings do not accept) or for now (a full queue), not for how it is written
# (400, 422): a request the schemas call valid may get one of these, or a success.
REFUSALS = ["401", "403", "404", "409", "413", "415", "429", "503"]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261129,
        "generation": {"mode": "all", "max-examples": CONTRACT_EXAMPLES},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "3XX", *REFUSALS]
            },
            # A documented 503 is no bug (an undocumented one fails all the same).
            "not_a_server_error": {"expected-statuses": ["2XX", "3XX", "4XX", "503"]},
        },
    }
)
SERVER_URL = database.server_url()
DATABASE_URL = database.unique_url(SERVER_URL)
app = create_app(
    Settings(
        ENVIRONMENT="test",
        DATABASE_URL=DATABASE_URL.render_as_string(hide_password=False),
        TRUSTED_HOSTS=["*"],
        CORS_ORIGINS=[],
    )
)
schema = schemathesis.openapi.from_dict(app.openapi(), config=CONFIG)
schema.app = app  # requests go to the application in this process
CONTRACT_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
async def contract_database() -> AsyncIterator[None]:
    """The application's database, created and migrated for these tests alone."""
    async with database.migrated_database(SERVER_URL, DATABASE_URL):
        yield


def test_the_document_is_valid_openapi_3_1() -> None:
    document = app.openapi()
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


@schema.parametrize()
@CONTRACT_SETTINGS
def test_every_operation_keeps_to_the_document(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()


async def _empty_tables() -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = create_async_engine(DATABASE_URL)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql(f"TRUNCATE {tables} CASCADE")
    finally:
        await engine.dispose()


class LinkedCalls(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        # Each sequence starts on empty tables, so that what it draws depends on its
        # own calls alone: Hypothesis replays sequences and checks they do the same.
        # (In a thread: this test's own event loop must stay untouched.)
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _empty_tables()).result()


def test_linked_calls_keep_to_the_document() -> None:
    LinkedCalls.run(
        settings=settings(
            CONTRACT_SETTINGS,
            max_examples=CONTRACT_SEQUENCES,
            stateful_step_count=6,
            derandomize=True,
        )
    )
