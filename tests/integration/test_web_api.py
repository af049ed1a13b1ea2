"""The operator API against its own OpenAPI spec (schemathesis): no input makes it answer 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redisconn.client import redis_client
from schemas import CommandState, DeadReason
from store.command_store import Claim, CommandStore, StoreLimits
from tests.factories import make_envelope
from tests.unit.web.test_web_app import TOKENS, Published, web_settings
from web import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def api_schema(redis_url: str):
    store = CommandStore(redis_client(redis_url), StoreLimits(3600, 60_000, 30_000))
    for i, reason in enumerate(DeadReason):
        command_id = store.admit(make_envelope(f"k{i}", order_id=f"O-{i}")).command_id
        claim = store.claim(command_id)
        assert isinstance(claim, Claim)
        store.finish(claim, CommandState.DEAD, None, reason=reason, message="no")
    app = create_app(web_settings(), store, Published())
    auth = {"Authorization": f"Bearer {TOKENS['alice']}"}  # the document needs a key too
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
    yield schema.include(path_regex="^/(api|metrics)")
    store.client.close()


def test_the_operator_api_never_answers_5xx(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(), label=st.just(operation.label))
        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def no_server_error(case, label):
            for token in (TOKENS["alice"], TOKENS["vic"], "not-a-token"):
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                assert response.status_code < 500, (label, response.text[:500])

        no_server_error()


def test_the_spec_documents_bearer_auth_on_every_operation(api_schema):
    raw = api_schema.raw_schema
    assert raw["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    api_paths = {p: ops for p, ops in raw["paths"].items() if p.startswith(("/api/", "/metrics"))}
    assert len(api_paths) >= 9
    for path, operations in api_paths.items():
        for method, operation in operations.items():
            assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
    assert not any(
        p.startswith(("/login", "/runs", "/dead-letters", "/commands")) for p in raw["paths"]
    )
