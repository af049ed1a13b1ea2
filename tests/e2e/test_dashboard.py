"""An operator's day in the browser: find a dead letter, replay it, bulk replay, edit, audit."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from schemas import CommandState, DeadReason
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.integration


def not_found_letter(producer, settled, order_id: str, **extra) -> str:
    """A Shoplazza command for an order the provider does not have yet: dead as not_found."""
    command = {"kind": "cancel", "provider": "shoplazza", "account": "store",
               "order_id": order_id, **extra}  # fmt: skip
    record = settled(producer.submit(command).command_id)
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.NOT_FOUND)
    return record.id


def wait_for_state(page: Page, url: str, state: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        if page.inner_text("#state").startswith(state):
            return
        assert time.monotonic() < deadline, f"{url} never reached {state}"
        time.sleep(0.3)


def test_find_a_dead_letter_by_order_and_replay_it(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    dead = not_found_letter(producer, settled, "1001-00000001")
    sign_in(page, web_url, screenshot="01-sign-in")
    shot(page, "02-overview")
    page.click("text=Search")
    page.fill("input[name=order_id]", "1001-00000001")
    page.click("form.filter button[type=submit]")
    expect(page.locator(f"tr[data-command-id='{dead}']")).to_contain_text("not_found")
    shot(page, "03-search-by-order")
    page.click(f"a[href='/commands/{dead}']")
    expect(page.locator("#state")).to_have_text("dead (not_found)")
    shot(page, "04-command-dead")
    sandbox.admin.create_order("shoplazza", "placed", order_id="1001-00000001")
    page.fill("#replay-form input[name=why]", "the order exists now")
    page.click("#replay-form button")
    expect(page.locator(".flash")).to_contain_text("Replayed")
    wait_for_state(page, f"{web_url}/commands/{dead}", "succeeded")
    expect(page.locator("table.attempts")).to_contain_text("404")
    shot(page, "05-command-replayed")
    assert settled(dead).state is CommandState.SUCCEEDED
    assert len(sandbox.admin.mutations(order_id="1001-00000001")) == 1


def test_bulk_replay_dry_run_then_run(page, web_url, sandbox, producer, start_worker, settled):
    start_worker(pool="threads", concurrency=2)
    orders = [f"1002-0000000{i}" for i in range(3)]
    dead = [not_found_letter(producer, settled, order) for order in orders]
    for order in orders:
        sandbox.admin.create_order("shoplazza", "placed", order_id=order)
    sign_in(page, web_url)
    page.goto(f"{web_url}/dead-letters?reason=not_found")
    expect(page.locator("table.records tr[data-command-id]")).to_have_count(3)
    shot(page, "06-dead-letters")
    page.click("text=Replay or discard everything this filter matches")
    page.fill("#plan-form input[name=why]", "orders synced late")
    page.click("#plan-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Dry run: 3 dead letters would be replayed")
    expect(page.locator("#run-counts")).to_contain_text("shoplazza")
    shot(page, "07-bulk-dry-run")
    page.fill("#start-form input[name=rate]", "5")
    page.click("#start-form button")
    expect(page.locator("[data-progress-text]")).to_have_text(re.compile(r"^done: 3 of 3"))
    shot(page, "08-bulk-done")
    assert [settled(i).state for i in dead] == [CommandState.SUCCEEDED] * 3


def test_edit_and_replay_then_read_the_audit_log(
    page, web_url, sandbox, producer, start_worker, settled
):
    start_worker(pool="threads")
    dead = not_found_letter(producer, settled, "1003-00000001", reason="duplicate order")
    sandbox.admin.create_order("shoplazza", "placed", order_id="1003-00000001")
    sign_in(page, web_url)
    page.goto(f"{web_url}/commands/{dead}")
    edited = page.input_value("#edit-form textarea").replace("duplicate order", "customer asked")
    page.fill("#edit-form textarea", edited)
    page.fill("#edit-form input[name=why]", "reason text from support")
    shot(page, "09-edit")
    page.click("#edit-form button")
    expect(page.locator(".flash")).to_contain_text("Edited and replayed")
    wait_for_state(page, f"{web_url}/commands/{dead}", "succeeded")
    expect(page.locator("body")).to_contain_text("Before it was edited")
    record = settled(dead)
    assert record.envelope.command.reason == "customer asked"
    page.click("text=Audit log")
    row = page.locator("table.audit tr", has_text="edit_replay")
    expect(row).to_contain_text("olivia")
    expect(row).to_contain_text("reason text from support")
    shot(page, "10-audit")


def test_a_viewer_sees_but_cannot_act(page, web_url, sandbox, producer, start_worker, settled):
    start_worker(pool="threads")
    dead = not_found_letter(producer, settled, "1004-00000001")
    sign_in(page, web_url, "victor")
    page.goto(f"{web_url}/commands/{dead}")
    expect(page.locator("body")).to_contain_text("only operators can replay")
    expect(page.locator("#replay-form")).to_have_count(0)
    shot(page, "11-viewer")
    status = page.evaluate(
        """async (id) => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const body = new URLSearchParams({csrf_token: token, why: "sneaky"});
            const reply = await fetch(`/dead-letters/${id}/replay`, {method: "POST", body});
            return reply.status;
        }""",
        dead,
    )
    assert status == 403
    assert settled(dead).state is CommandState.DEAD
