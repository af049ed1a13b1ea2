"""Pausing a provider account from the dashboard, in Chromium.

The sandbox gets no call until the resume, then every held command runs once; the audit log
shows both actions with who and why. A viewer sees pauses but gets no form, at 375 px too.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from schemas import CommandState
from store import keys
from store.pauses import Pauses, Target
from tests.e2e.conftest import shot, sign_in
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration
HELD = 3


def row(page: Page, target: str) -> Locator:
    return page.locator(f"table.pauses tr[data-target='{target}']")


def test_pause_stops_a_providers_calls_and_resume_restarts_them(
    page, web_url, sandbox, producer, store, start_worker, settled
):
    start_worker(pool="threads", concurrency=2)
    sign_in(page, web_url)
    page.click("header >> text=Providers")
    expect(row(page, "shoplazza:store")).to_have_attribute("data-state", "running")
    # pause the store with a reason
    row(page, "shoplazza:store").locator("input[name=why]").fill("provider maintenance window")
    row(page, "shoplazza:store").locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Paused shoplazza:store")
    expect(row(page, "shoplazza:store")).to_have_attribute("data-state", "paused")
    # its commands wait aside: the sandbox receives no call
    orders = sandbox.admin.create_orders("shoplazza", "placed", HELD)
    ids = [
        producer.submit({"kind": "cancel", "provider": "shoplazza", "account": "store",
                         "order_id": order}).command_id
        for order in orders
    ]  # fmt: skip
    wait_for(lambda: store.client.zcard(keys.held("store")) == HELD, what="the commands held")
    page.reload()
    expect(row(page, "shoplazza:store").locator("td.n")).to_have_text(str(HELD))
    expect(row(page, "shoplazza:store")).to_contain_text("provider maintenance window")
    shot(page, "pause-provider")
    assert sandbox.admin.mutations(provider="shoplazza") == []
    # resume: the calls restart, each once
    row(page, "shoplazza:store").locator("input[name=why]").fill("maintenance over")
    row(page, "shoplazza:store").locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Resumed shoplazza:store")
    assert {settled(i).state for i in ids} == {CommandState.SUCCEEDED}
    called = [m["order_id"] for m in sandbox.admin.mutations(provider="shoplazza")]
    assert sorted(called) == sorted(orders)
    page.reload()
    expect(row(page, "shoplazza:store")).to_have_attribute("data-state", "running")
    # the audit log shows both, with who, what and why
    page.click("header >> text=Audit log")
    audit = page.locator("table.audit")
    expect(audit.locator("tr", has_text="resume")).to_contain_text("maintenance over")
    expect(audit.locator("tr", has_text="pause").last).to_contain_text(
        "provider maintenance window"
    )
    expect(audit).to_contain_text("shoplazza:store")
    expect(audit).to_contain_text("olivia")
    shot(page, "pause-audit")


def test_a_viewer_sees_the_pause_but_gets_no_form(page, web_url, store, settings):
    Pauses(store.client, settings.accounts).pause(Target("backd", None), actor="ann", why="down")
    sign_in(page, web_url, "victor")
    page.goto(web_url + "/providers")
    expect(row(page, "backd:acme")).to_have_attribute("data-state", "paused")
    expect(page.locator("form[data-action]")).to_have_count(0)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(row(page, "backd:acme")).to_contain_text("down")
    right = (
        "Math.max(...[...document.querySelectorAll('div.scroll')]"
        ".map(d => d.getBoundingClientRect().right))"
    )
    assert page.evaluate(right) <= 375, "the tables scroll inside the screen's width"
    shot(page, "pause-provider-375")
