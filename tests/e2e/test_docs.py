"""The API docs in Chromium: behind sign-in, and every file they load comes from the app itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORDS, shot

pytestmark = pytest.mark.integration


def test_the_docs_need_sign_in_and_load_only_the_apps_own_files(page: Page, web_url: str):
    requested: list[str] = []
    failed: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("console", lambda m: problems.append(m.text) if "Refused" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{web_url}/docs")
    expect(page).to_have_url(re.compile(r"/login\?next=/docs$"))
    page.fill("input[name=name]", "victor")
    page.fill("input[name=password]", PASSWORDS["victor"])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{web_url}/docs")
    # Swagger UI resolves the whole document before it draws: slow on a busy 2-core machine
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ordercmd", timeout=90_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator(".opblock").count() >= 10
    shot(page, "20-api-docs")
    assert f"{web_url}/static/swagger-ui/swagger-ui-bundle.js" in requested
    assert f"{web_url}/openapi.json" in requested
    assert [url for url in requested if not url.startswith(web_url)] == [], "no CDN, no other host"
    assert failed == []
    assert problems == [], "no script error and no CSP refusal"
