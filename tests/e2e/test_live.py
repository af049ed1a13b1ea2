"""Live pages in Chromium: pages update without a reload and pause while hidden; the workers page.

A command page and the overview follow the store; the workers page shows a running worker and
the queues.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from schemas import CommandState
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.integration

INDICATOR = "[data-live-scope]"
COUNT_FETCHES = """() => {
  window.__fetches = 0;
  const original = window.fetch;
  window.fetch = (...args) => { window.__fetches += 1; return original(...args); };
  window.__not_reloaded = true;
}"""
SET_HIDDEN = """(hidden) => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(document, "visibilityState", { configurable: true,
    get: () => (hidden ? "hidden" : "visible") });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def cancel(order_id: str) -> dict[str, str]:
    return {"kind": "cancel", "provider": "shoplazza", "account": "store", "order_id": order_id}


def dead_letters_count(page: Page):
    """The overview's dead-letter count (the link in "Right now")."""
    return page.locator("main table a[href='/dead-letters']").first


def test_a_command_page_follows_its_command_without_a_reload(
    page, web_url, sandbox, producer, start_worker, settled
):
    sandbox.admin.create_order("shoplazza", "placed", order_id="2001-00000001")
    command_id = producer.submit(cancel("2001-00000001")).command_id  # no worker yet: queued
    sign_in(page, web_url)
    page.goto(f"{web_url}/commands/{command_id}")
    expect(page.locator("#state")).to_have_text("queued")
    expect(page.locator(INDICATOR)).to_have_text("Live")
    page.evaluate(COUNT_FETCHES)
    start_worker(pool="threads")
    expect(page.locator("#state")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator("table.attempts")).to_contain_text("200")  # the attempt came in too
    assert page.evaluate("window.__not_reloaded") is True  # swapped in place, never reloaded
    assert page.evaluate("window.__fetches") >= 2  # a version, then the page
    expect(page.locator(INDICATOR)).to_have_attribute("data-live-state", "live")
    shot(page, "live-command")
    assert settled(command_id).state is CommandState.SUCCEEDED


def test_the_overview_counts_update_and_pause_while_the_tab_is_hidden(
    page, web_url, sandbox, producer, start_worker, settled
):
    page.clock.install()  # the page's timers run when the test says: polls are counted exactly
    start_worker(pool="threads")
    sign_in(page, web_url)
    expect(dead_letters_count(page)).to_have_text("0")
    expect(page.locator(INDICATOR)).to_have_text("Live")
    page.evaluate(COUNT_FETCHES)
    first = producer.submit(cancel("2002-00000001")).command_id  # no such order: dead
    assert settled(first).state is CommandState.DEAD
    page.clock.run_for(2_500)  # one poll
    expect(dead_letters_count(page)).to_have_text("1")  # without a reload

    page.evaluate(SET_HIDDEN, True)
    expect(page.locator(INDICATOR)).to_have_text("Paused while hidden")
    expect(page.locator(INDICATOR)).to_have_attribute("data-live-state", "paused")
    fetches = page.evaluate("window.__fetches")
    second = producer.submit(cancel("2002-00000002")).command_id
    assert settled(second).state is CommandState.DEAD
    page.clock.run_for(60_000)  # a minute hidden: thirty polls if it did not pause
    assert page.evaluate("window.__fetches") == fetches
    expect(dead_letters_count(page)).to_have_text("1")
    shot(page, "live-paused")

    page.evaluate(SET_HIDDEN, False)  # shown again: it asks at once
    expect(dead_letters_count(page)).to_have_text("2")
    expect(page.locator(INDICATOR)).to_have_text("Live")
    assert page.evaluate("window.__not_reloaded") is True


def test_the_indicator_says_reconnecting_stale_and_signed_out(page, web_url):
    page.clock.install()
    sign_in(page, web_url)
    page.goto(f"{web_url}/dead-letters")
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text("Live")
    page.route("**/live/version*", lambda route: route.abort())  # the server is unreachable
    page.clock.run_for(2_500)
    expect(indicator).to_have_text("Reconnecting…")
    page.clock.run_for(2_500)  # retried after 2 s, then 4 s
    expect(indicator).to_have_attribute("data-live-state", "reconnecting")
    page.clock.run_for(4_500)
    expect(indicator).to_have_text(re.compile(r"^Stale since .*: updates failing, retrying$"))
    expect(indicator).to_have_attribute("data-live-state", "stale")
    shot(page, "live-stale")
    page.unroute("**/live/version*")
    page.clock.run_for(8_500)
    expect(indicator).to_have_text("Live")
    other = page.context.new_page()  # the operator signs out in another tab
    other.goto(f"{web_url}/")
    other.click("header button:has-text('Sign out')")
    expect(other).to_have_url(re.compile(r"/login"))
    page.clock.run_for(2_500)
    expect(indicator).to_have_text("Stale: signed out — reload to sign in")


def test_a_list_being_edited_is_held_until_the_operator_is_done(
    page, web_url, sandbox, producer, start_worker, settled
):
    page.clock.install()
    sandbox.admin.create_order("shoplazza", "placed", order_id="2004-00000001")
    command_id = producer.submit(cancel("2004-00000001")).command_id  # queued: no worker yet
    sign_in(page, web_url)
    page.goto(f"{web_url}/search?order_id=2004-00000001")
    state = page.locator(f"tr[data-command-id='{command_id}'] td[class^=state-]")
    expect(state).to_have_text("queued")
    account = page.locator("input[name=account]")
    account.fill("sto")  # the operator starts another search, then looks elsewhere
    account.blur()
    start_worker(pool="threads")
    assert settled(command_id).state is CommandState.SUCCEEDED
    page.clock.run_for(2_500)
    expect(page.locator(INDICATOR)).to_have_text("Live (held while you edit)")
    expect(state).to_have_text("queued")
    expect(account).to_have_value("sto")  # their text is kept
    account.fill("")  # done: back as it was rendered
    account.blur()
    page.clock.run_for(2_500)
    expect(state).to_have_text("succeeded")
    expect(page.locator(INDICATOR)).to_have_text("Live")


def test_the_workers_page_lists_a_running_worker_and_the_queues(
    page, web_url, sandbox, producer, start_worker
):
    start_worker(pool="threads", concurrency=3)
    sign_in(page, web_url)
    page.click("header a[href='/workers']")
    row = page.locator("tr[data-worker^='w1@']")
    expect(row).to_contain_text("online", timeout=15_000)
    expect(row).to_contain_text("threads", timeout=15_000)  # the card comes with the first tick
    expect(row.locator("td.n")).to_have_text("3")
    queues_named = r"ordercmd, ordercmd\.bulk, ordercmd\.resend, ordercmd\.webhooks"
    expect(row).to_contain_text(re.compile(queues_named))
    queues = page.locator("#broker-queues")
    for name in ("ordercmd", "ordercmd.resend", "ordercmd.bulk", "ordercmd.webhooks"):
        expect(queues.locator("tr", has_text=name).first.locator("td.n")).to_have_text(
            re.compile(r"^\d+$")
        )
    expect(page.locator("#store-queues")).to_contain_text("Oldest queued command")
    expect(page.locator(INDICATOR)).to_have_text("Live")

    # every call hangs to the account's 1.5 s deadline: the command runs most of the time
    sandbox.admin.set_faults("shoplazza", timeout_rate=1.0, timeout_hold_s=5)
    sandbox.admin.create_order("shoplazza", "placed", order_id="2003-00000001")
    command_id = producer.submit(cancel("2003-00000001")).command_id
    running = row.locator(f"a[href='/commands/{command_id}']")
    expect(running).to_be_visible(timeout=15_000)  # shown by a live update, while it runs
    expect(row).to_contain_text("shoplazza:store:2003-00000001")
    shot(page, "workers")
    sandbox.admin.clear_faults()
    expect(row).to_contain_text("idle", timeout=30_000)  # and gone when it ends
    page.set_viewport_size({"width": 375, "height": 800})
    shot(page, "workers-375")
