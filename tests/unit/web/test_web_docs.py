"""``/docs``, ``/redoc`` and ``/openapi.json`` need sign-in or a key; Swagger UI is served here."""

from __future__ import annotations

import re

import pytest

from tests.unit.web import test_web_app as web_app
from tests.unit.web.test_web_app import TOKENS, sign_in

client = web_app.client  # a fixture shared with test_web_app
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_strangers_are_sent_to_sign_in_or_refused(client, path):
    browser = client.get(path, headers=BROWSER)
    assert browser.status_code == 303
    assert browser.headers["location"] == f"/login?next={path}"
    assert client.get(path).status_code == 401
    wrong = client.get(
        path, headers={"Authorization": "Bearer oc_0123456789abcdef_nope-0123456789"}
    )
    assert wrong.status_code == 401


def test_a_signed_in_operator_reads_the_docs_from_the_apps_own_files(client):
    sign_in(client, "vic")
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    vendored = ["/static/swagger-ui/swagger-ui.css", "/static/swagger-ui/swagger-ui-bundle.js"]
    assert sources == [*vendored, "/static/docs.js"]
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100, source
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert client.get("/openapi.json").json()["info"]["title"] == "ordercmd"
    assert client.get("/redoc").headers["location"] == "/docs"


def test_an_api_token_reads_the_document(client):
    spec = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKENS['vic']}"})
    assert spec.status_code == 200
    assert "/v1/commands" in spec.json()["paths"]


def test_only_the_vendored_files_are_served(client):
    assert client.get("/static/swagger-ui/LICENSE").status_code == 404
    assert client.get("/static/swagger-ui/..%2F..%2Fauth.py").status_code == 404
