"""The OpenAPI contract of `GET /api/v1/audit` with the key (the project's own
contract test, `tests/test_openapi.py`, runs without it and so sees only 401s):
schemathesis sends valid and invalid requests generated from the document; valid
ones must get a 200 whose body matches, invalid ones a documented refusal."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from requests.structures import CaseInsensitiveDict

from app.core.config import Settings
from app.features.audit import make_feature
from app.main import create_app
from tests import database
from tests.features.audit.conftest import API_KEY, AUDIT, audit_settings

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261129,
        "generation": {"mode": "all", "max-examples": 60},
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["200"]},
            "not_a_server_error": {"expected-statuses": ["2XX", "4XX"]},
            # Every case carries the key (below): refusals without it are tested
            # on their own in test_api.py.
            "ignored_auth": {"enabled": False},
            "missing_required_header": {"enabled": False},
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
    ),
    [make_feature(audit_settings())],
)
schema = schemathesis.openapi.from_dict(app.openapi(), config=CONFIG).include(
    path=AUDIT
)
schema.app = app


@pytest.fixture(scope="module", autouse=True)
async def contract_database() -> AsyncIterator[None]:
    async with database.migrated_database(SERVER_URL, DATABASE_URL):
        yield


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_audit_operation_keeps_to_the_document(
    case: schemathesis.Case[Any],
) -> None:
    # A new mapping: schemathesis does not see a change made inside its own.
    case.headers = CaseInsensitiveDict(
        {**case.headers, "Authorization": f"Bearer {API_KEY}"}
    )
    response = case.call_and_validate()
    assert response.status_code in (200, 405, 422)  # 405: a method it lacks
