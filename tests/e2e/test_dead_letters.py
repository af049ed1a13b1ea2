"""The dead-letter list in Chromium: selection replay, confirmed discard, edits, 375 px.

Replaying 3 of 5 ticked rows runs those 3 once each at the sandbox and leaves 2; discard asks
first; a refused edit keeps the operator's text; the list fits a phone without sideways scroll.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from schemas import CommandState
from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_dashboard import not_found_letter

pytestmark = pytest.mark.integration


def tick(page: Page, command_id: str) -> None:
    page.check(f"tr[data-command-id='{command_id}'] input[name=ids]")


def test_replay_a_selection_of_three_of_five(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads", concurrency=2)
    orders = [f"2001-0000000{i}" for i in range(5)]
    dead = [not_found_letter(producer, settled, order) for order in orders]
    chosen = [dead[0], dead[2], dead[4]]
    for order in orders:
        sandbox.admin.create_order("shoplazza", "placed", order_id=order)
    sign_in(page, web_url)
    page.goto(f"{web_url}/dead-letters?reason=not_found")
    rows = page.locator("#dead-letter-rows tr[data-command-id]")
    expect(rows).to_have_count(5)
    expect(page.locator("#dead-totals")).to_contain_text("5 dead letters match")
    expect(page.locator("#replay-selected")).to_be_disabled()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator(f"tr[data-command-id='{dead[0]}'] button.copy")
    expect(page.locator(f"tr[data-command-id='{dead[0]}'] .short-id code")).to_have_text(
        dead[0][:10] + "…"
    )
    copy.click()
    expect(copy).to_have_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == dead[0]
    for command_id in chosen:
        tick(page, command_id)
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    page.fill("#selection-form input[name=why]", "orders synced late")
    shot(page, "dead-letters")
    page.click("#replay-selected")
    expect(page.locator(".flash")).to_have_text("Replayed 3 of 3.")
    assert [settled(i).state for i in chosen] == [CommandState.SUCCEEDED] * 3
    for n in (0, 2, 4):  # the sandbox received each replayed cancel once
        assert len(sandbox.admin.mutations(order_id=orders[n])) == 1
    for n in (1, 3):
        assert sandbox.admin.mutations(order_id=orders[n]) == []
    page.goto(f"{web_url}/dead-letters?reason=not_found")
    expect(rows).to_have_count(2)
    expect(page.locator("#dead-totals")).to_contain_text("2 dead letters match")
    assert {rows.nth(i).get_attribute("data-command-id") for i in range(2)} == {dead[1], dead[3]}


def test_select_all_then_discard_asks_for_confirmation(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    dead = [not_found_letter(producer, settled, f"2002-0000000{i}") for i in range(2)]
    sign_in(page, web_url)
    page.goto(f"{web_url}/dead-letters?reason=not_found")
    page.check("#select-all")
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.click("#discard-selected")
    expect(page.locator("h1")).to_have_text("Discard 2 dead letters?")
    shot(page, "dead-letters-confirm-discard")
    assert [settled(i).state for i in dead] == [CommandState.DEAD] * 2  # nothing yet
    page.click("#confirm-form button[type=submit]")  # no reason yet: the browser asks for one
    assert [settled(i).state for i in dead] == [CommandState.DEAD] * 2
    page.fill("#confirm-form input[name=why]", "duplicates of a later command")
    page.click("#confirm-form button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Discarded 2 of 2.")
    assert [settled(i).state for i in dead] == [CommandState.DISCARDED] * 2
    expect(page.locator("#dead-letter-rows tr[data-command-id]")).to_have_count(0)


def test_a_refused_edit_shows_an_error_and_keeps_the_text(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    dead = not_found_letter(producer, settled, "2003-00000001")
    sign_in(page, web_url)
    page.goto(f"{web_url}/commands/{dead}")
    typed = page.input_value("#edit-form textarea").replace('"shoplazza"', '"shoplazza",,')
    page.fill("#edit-form textarea", typed)
    page.fill("#edit-form input[name=why]", "fix the note")
    page.click("#edit-form button")
    alert = page.locator("[role=alert]")
    expect(alert).to_contain_text("Not edited: command: not JSON")
    expect(alert).to_have_class("error")
    expect(page.locator(".flash")).to_have_count(0)
    expect(page).to_have_url(f"{web_url}/commands/{dead}")  # not the form's POST address
    expect(page.locator(".live")).not_to_have_attribute("data-live-state", "stale")
    assert page.input_value("#edit-form textarea") == typed
    assert page.input_value("#edit-form input[name=why]") == "fix the note"
    shot(page, "dead-letters-edit-refused")
    assert settled(dead).state is CommandState.DEAD


def test_the_list_fits_a_375_px_screen(
    browser: Browser, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    for i in range(3):
        not_found_letter(producer, settled, f"2004-0000000{i}", reason="a long reason " * 8)
    context = browser.new_context(viewport={"width": 375, "height": 800},
                                  timezone_id="America/Chicago")  # fmt: skip
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, web_url)
        page.goto(f"{web_url}/dead-letters")
        expect(page.locator("#dead-letter-rows tr[data-command-id]")).to_have_count(3)
        expect(page.locator(".local-time").first).to_contain_text("local (UTC-06)")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways: {width} px wide"
        row = page.locator("#dead-letter-rows tr[data-command-id]").first
        assert row.bounding_box()["width"] <= 375
        shot(page, "dead-letters-375")
    finally:
        context.close()


def test_select_and_discard_work_without_javascript(
    browser: Browser, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    dead = [not_found_letter(producer, settled, f"2005-0000000{i}") for i in range(2)]
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, web_url)
        page.goto(f"{web_url}/dead-letters?reason=not_found")
        expect(page.locator("#select-all")).to_be_hidden()  # needs JS; the boxes do not
        tick(page, dead[1])
        page.click("#discard-selected")
        expect(page.locator("h1")).to_have_text("Discard 1 dead letter?")
        page.fill("#confirm-form input[name=why]", "a duplicate")
        page.click("#confirm-form button[type=submit]")
        expect(page.locator(".flash")).to_have_text("Discarded 1 of 1.")
        assert [settled(i).state for i in dead] == [CommandState.DEAD, CommandState.DISCARDED]
    finally:
        context.close()


def test_rows_a_live_refresh_brings_are_decorated_too(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    not_found_letter(producer, settled, "2006-00000001")
    sign_in(page, web_url)
    page.goto(f"{web_url}/dead-letters")
    rows = page.locator("#dead-letter-rows tr[data-command-id]")
    expect(rows).to_have_count(1)
    newer = not_found_letter(producer, settled, "2006-00000002")  # arrives while the page is open
    expect(rows).to_have_count(2)
    expect(page.locator("#dead-letter-rows .local-time")).to_have_count(2)
    expect(page.locator(f"tr[data-command-id='{newer}'] button.copy")).to_be_visible()
    tick(page, newer)
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    page.check("#select-all")
    expect(page.locator("#selected-count")).to_have_text("2 selected")
