"""An operator subscribes a receiver from the webhooks page and manages it there.

The secret is shown once; a real worker runs a command and delivers its signed outcome to a
real receiver; disabling holds deliveries and enabling sends what was missed; a delivery that
died while the receiver was down is replayed from the page and arrives once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from schemas import CommandState
from store.outcomes import Outcomes
from store.webhooks.deliveries import Deliveries
from store.webhooks.signing import verify
from tests.e2e.conftest import shot, sign_in
from tests.integration.harness import order_command, unthrottled, wait_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """Unthrottled accounts, fast webhook retries (2 attempts) for the workers."""
    ordercmd_env |= unthrottled(ordercmd_env) | {
        "ORDERCMD_WEBHOOK_POLICY__BASE_S": "0.05",
        "ORDERCMD_WEBHOOK_POLICY__CAP_S": "0.1",
        "ORDERCMD_WEBHOOK_POLICY__MAX_ATTEMPTS": "2",
        "ORDERCMD_WEBHOOK_POLICY__COOL_DOWN_S": "0.1",
    }
    return ordercmd_env


def command_ids_at(receiver: Receiver, secret: str) -> list[str]:
    """The command of each delivery the receiver accepted, each signature verified."""
    return [verify(r.body, r.headers, [secret])["data"]["command_id"] for r in receiver.requests]


def test_subscribe_deliver_disable_enable_and_replay_from_the_page(
    hook_env, page, web_url, store, sandbox, producer, start_worker, settled, receiver
):
    start_worker(pool="threads", concurrency=2)
    sign_in(page, web_url)
    page.goto(f"{web_url}/webhooks")
    # subscribe: the secret is shown once, on the answer, and nowhere after
    page.fill("#subscribe-form input[name=url]", receiver.url)
    page.click("#subscribe-form button[type=submit]")
    secret = page.inner_text("#webhook-secret").strip()
    assert secret.startswith("whsec_")
    shot(page, "webhooks-secret")
    page.click("text=Back to webhooks")
    section = page.locator("section.hook")
    expect(section).to_have_count(1)
    assert secret not in page.content()
    sub_id = section.get_attribute("data-subscription-id")
    # a command run by a real worker: its signed outcome reaches the receiver
    orders = sandbox.admin.create_orders("fastpod", "new_order", 3)
    first = producer.submit(order_command("fastpod", "cancel", orders[0])).command_id
    assert settled(first).state is CommandState.SUCCEEDED
    wait_for(lambda: command_ids_at(receiver, secret) == [first], what="the first outcome")
    delivered = json.loads(receiver.requests[0].body)
    assert (delivered["type"], delivered["data"]["order_id"]) == ("command.succeeded", orders[0])
    # disabled: the next outcome waits (the subscription's cursor stays at the first event)
    page.click(f"section[data-subscription-id='{sub_id}'] summary")
    page.fill(f"section[data-subscription-id='{sub_id}'] input[aria-label='why disable']",
              "receiver maintenance")  # fmt: skip
    page.click(f"section[data-subscription-id='{sub_id}'] button:has-text('Disable')")
    expect(page.locator(".flash")).to_contain_text(f"Disabled {sub_id}")
    expect(section.locator(".hook-status")).to_have_text("disabled")
    cursor = Deliveries(store.client).state(sub_id)["cursor"]
    second = producer.submit(order_command("fastpod", "cancel", orders[1])).command_id
    assert settled(second).state is CommandState.SUCCEEDED
    assert Outcomes(store.client).last_id() != cursor
    assert Deliveries(store.client).state(sub_id)["cursor"] == cursor
    assert command_ids_at(receiver, secret) == [first]
    # enabled: what it missed arrives
    page.click(f"section[data-subscription-id='{sub_id}'] summary")
    page.fill(f"section[data-subscription-id='{sub_id}'] input[aria-label='why enable']",
              "maintenance over")  # fmt: skip
    page.click(f"section[data-subscription-id='{sub_id}'] button:has-text('Enable')")
    expect(page.locator(".flash")).to_contain_text(f"Enabled {sub_id}")
    wait_for(lambda: command_ids_at(receiver, secret) == [first, second], what="the missed one")
    # the receiver is down: the third outcome dies after two attempts
    receiver.status = 503
    third = producer.submit(order_command("fastpod", "cancel", orders[2])).command_id
    assert settled(third).state is CommandState.SUCCEEDED
    wait_for(lambda: Deliveries(store.client).dead(), what="a dead delivery")
    receiver.status = 200
    page.goto(f"{web_url}/webhooks")
    row = page.locator("table.dead-deliveries tr", has_text=third)
    expect(row).to_contain_text("HTTP 503")
    shot(page, "webhooks")
    row.locator("input[name=why]").fill("receiver is back")
    row.locator("button:has-text('Replay')").click()
    expect(page.locator(".flash")).to_contain_text("Replayed 1 dead delivery")
    wait_for(lambda: command_ids_at(receiver, secret) == [first, second, third],
             what="the replayed delivery")  # fmt: skip
    assert Deliveries(store.client).dead() == []
    # many: two more die while it is down, then a planned replay run (dry run first) sends them
    receiver.status = 503
    more = sandbox.admin.create_orders("fastpod", "new_order", 2)
    later = [producer.submit(order_command("fastpod", "cancel", o)).command_id for o in more]
    for command_id in later:
        assert settled(command_id).state is CommandState.SUCCEEDED
    wait_for(lambda: len(Deliveries(store.client).dead()) == 2, what="two dead deliveries")
    receiver.status = 200
    page.goto(f"{web_url}/webhooks")
    page.fill("#replay-filter-form input[name=why]", "receiver is back again")
    page.click("#replay-filter-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Dry run: 2 dead deliveries would be replayed")
    expect(page.locator("#run-counts")).to_contain_text("HTTP 503")
    page.fill("#start-form input[name=rate]", "5")
    page.click("#start-form button")
    expect(page.locator("[data-progress-text]")).to_have_text(re.compile(r"^done: 2 of 2"))
    shot(page, "webhooks-replay-run")
    wait_for(lambda: sorted(command_ids_at(receiver, secret)[3:]) == sorted(later),
             what="the run's deliveries")  # fmt: skip
    # at 375 px the page still shows each subscription and its actions
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{web_url}/webhooks")
    expect(section).to_be_visible()
    # (the nav bar is base.html's; the table scrolls in its own box)
    too_wide = page.evaluate("""[...document.querySelectorAll('main *')]
        .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > 376)
        .map(e => e.tagName + '.' + e.className)""")
    assert too_wide == []
    shot(page, "webhooks-375")
