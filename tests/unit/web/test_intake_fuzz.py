"""Hypothesis throws JSON garbage (and near-commands) at the intake: never a 5xx, always our shape.

schemathesis is not installed in the project's environment, so the OpenAPI-driven fuzzing is
done with hypothesis strategies shaped like the documented bodies.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from store.command_store import CommandStore, StoreLimits
from tests.unit.web.test_intake import AUTH, make_settings
from web import create_app

FIELDS = [
    "kind",
    "provider",
    "account",
    "order_id",
    "reason",
    "amount",
    "changes",
    "line_items",
    "idempotency_key",
    "extra",
]
PLAUSIBLE = {
    "kind": st.sampled_from(["cancel", "update", "refund", "other", ""]),
    "provider": st.sampled_from(["backd", "shoplazza", "fastpod", "nope"]),
    "account": st.sampled_from(["acme", "store", "nobody", ""]),
    "amount": st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str), st.floats(), st.integers()
    ),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def near_commands(draw: st.DrawFn) -> dict[str, Any]:
    """Objects with command field names and values that are sometimes right."""
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS)))
    return {n: draw(PLAUSIBLE.get(n, json_values) | json_values) for n in names}


bodies = st.one_of(
    json_values.map(json.dumps),
    near_commands().map(json.dumps),
    st.lists(near_commands(), max_size=3).map(lambda items: json.dumps({"commands": items})),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
header_text = st.text(alphabet=string.printable.strip(), max_size=40)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    store = CommandStore(
        fakeredis.FakeRedis(decode_responses=True),
        StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000),
    )
    with TestClient(create_app(make_settings(), store, lambda ids: None)) as test_client:
        yield test_client


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/v1/commands", "/v1/commands:batch"]),
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/x+json"]),
    key=st.none() | header_text,
)
def test_garbage_never_gets_a_5xx_and_refusals_have_the_errors_shape(
    client, path, body, content_type, key
):
    headers = AUTH | ({"Content-Type": content_type} if content_type else {})
    headers |= {"Idempotency-Key": key} if key is not None else {}
    response = client.post(path, content=body.encode(), headers=headers)
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        problems = response.json()["errors"]
        assert problems, response.text
        assert all(set(p) == {"field", "reason"} for p in problems), response.text
    else:
        assert response.status_code in (200, 202)
