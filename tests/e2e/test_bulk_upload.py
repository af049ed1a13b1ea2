"""A bulk file in the browser: dry run with its bad rows, start, live progress, the result file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from producer.batches import Batches
from producer.bulk import BulkRun
from producer.bulk_rows import BulkFormat
from store.records import read_record
from tests.e2e.conftest import shot, sign_in
from tests.integration.harness import mutations_per_key

pytestmark = pytest.mark.integration

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
START_STATES = {"backd": "order_placed", "fastpod": "new_order", "shoplazza": "placed"}
ACCOUNTS = {"backd": "acme", "fastpod": "pod", "shoplazza": "store"}
ENDED = {"succeeded", "already_done"}  # both: the order shows the command done


def choose_file(page: Page, name: str, text: str) -> None:
    page.set_input_files(
        "#upload-form input[type=file]",
        files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}],
    )
    page.click("#upload-form button[type=submit]")


def good_file(sandbox) -> tuple[str, list[str]]:
    """Cancels for fresh orders of each provider (and a refund), with their order ids."""
    lines, orders = [HEADER], []
    # Shoplazza's 2 calls a second make the batch last a few seconds: the page sees it run
    for provider, count in (("backd", 3), ("fastpod", 2), ("shoplazza", 6)):
        for order_id in sandbox.admin.create_orders(provider, START_STATES[provider], count):
            lines.append(f"cancel,{provider},{ACCOUNTS[provider]},{order_id},e2e bulk,,,,\n")
            orders.append(order_id)
    return "".join(lines), orders


def test_an_upload_runs_a_batch_to_its_result_file(
    page, web_url, sandbox, store, start_worker, tmp_path
):
    start_worker(pool="threads", concurrency=4)
    sign_in(page, web_url)
    page.click("header a[href='/bulk']")
    # a file with bad rows: the dry run names each, and admits nothing
    bad = HEADER + (
        "cancel,backd,acme,BO-E2E-1,,,,,\n"
        "refund,backd,acme,BO-E2E-2,,12.345,,,\n"
        "cancel,nowhere,acme,BO-E2E-3,,,,,\n"
        "update,fastpod,pod,F-E2E-4,,,{not json,,\n"
    )
    choose_file(page, "with-bad-rows.csv", bad)
    expect(page.locator("#draft-summary")).to_contain_text("4 rows: 1 valid, 3 invalid")
    problems = page.locator("#problems tr")
    expect(problems).to_have_count(4)  # the header and three rows
    expect(problems.nth(1)).to_contain_text("2")
    expect(problems.nth(1)).to_contain_text("amount")
    expect(problems.nth(2)).to_contain_text("provider")
    expect(problems.nth(3)).to_contain_text("changes")
    expect(page.locator("#start-form input[name=skip_invalid]")).to_be_visible()
    shot(page, "bulk-preview")
    assert Batches(store).recent() == [], "a dry run admits nothing"
    # a good file: start it, and the batch page follows it to the end without a reload
    text, orders = good_file(sandbox)
    page.goto(f"{web_url}/bulk")
    choose_file(page, "cancels.csv", text)
    expect(page.locator("#draft-summary")).to_contain_text("11 rows: 11 valid, 0 invalid")
    expect(page.locator("#groups")).to_contain_text("shoplazza")
    page.click("#start-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/bulk/\d{8}-\d{6}-[0-9a-f]{6}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.notReloaded = true")
    assert page.get_attribute("#batch", "data-done") == "false", "shown while it runs"
    expect(page.locator("#batch-progress")).to_have_text(
        "done: 11 of 11 commands ended", timeout=60_000
    )
    assert page.evaluate("window.notReloaded") is True, "the page followed without a reload"
    ended = sum(int(page.inner_text(f"[data-state={s}]")) for s in ENDED)
    assert ended == 11
    expect(page.locator("#cancel")).to_have_count(0)
    shot(page, "bulk-batch")
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = "[...document.querySelectorAll('main > *')].filter(e => e.scrollWidth > 375).length"
    assert page.evaluate(overflow) == 0, "the batch page fits 375 px"
    shot(page, "bulk-batch-375")
    # the result file: one line per row, each in the state the store holds
    with page.expect_download() as download:
        page.click("#results-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [int(r["row"]) for r in rows] == list(range(1, 12))
    for row in rows:
        record = read_record(store.client, row["command_id"])
        assert record is not None
        assert (row["admission"], row["state"]) == ("new", str(record.state))
        assert row["state"] in ENDED
        assert record.envelope.batch_id == batch_id
    mutations = [m for m in sandbox.admin.mutations() if m["order_id"] in orders]
    assert sorted(m["order_id"] for m in mutations) == sorted(orders)
    assert set(mutations_per_key(mutations).values()) == {1}, "each mutation exactly once"


def test_cancel_asks_first_then_discards_what_has_not_run(
    page, web_url, sandbox, store, start_worker
):
    start_worker(pool="threads", concurrency=2)
    orders = sandbox.admin.create_orders("shoplazza", "placed", 30)  # 15 s at 2 calls a second
    text = HEADER + "".join(f"cancel,shoplazza,store,{o},e2e cancel,,,,\n" for o in orders)
    sign_in(page, web_url)
    page.goto(f"{web_url}/bulk")
    choose_file(page, "slow.csv", text)
    page.click("#start-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/bulk/\d{8}-\d{6}-[0-9a-f]{6}$"))
    batch_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-state=succeeded]")).not_to_have_text("0", timeout=30_000)
    page.fill("#cancel-form input[name=why]", "wrong file")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-form button[type=submit]")
    assert Batches(store).meta(batch_id).cancelled_by is None, "dismissed: nothing cancelled"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Cancelled:")
    discarded = int(re.search(r"Cancelled: (\d+)", page.inner_text(".flash")).group(1))
    assert 0 < discarded < 30
    expect(page.locator("#batch-progress")).to_have_text(
        "done: 30 of 30 commands ended", timeout=30_000
    )
    expect(page.locator("[data-state=discarded]")).to_have_text(str(discarded))
    ran = {o for o in orders if read_state(store, batch_id, o) in ENDED}
    assert len(ran) == 30 - discarded
    mutations = [m for m in sandbox.admin.mutations() if m["order_id"] in orders]
    assert sorted(m["order_id"] for m in mutations) == sorted(ran), "discarded ones never ran"


def read_state(store, batch_id: str, order_id: str) -> str:
    for chunk in Batches(store).command_ids(batch_id):
        for command_id in chunk:
            record = read_record(store.client, command_id)
            if record is not None and record.envelope.command.order_id == order_id:
                return str(record.state)
    raise AssertionError(f"no command for {order_id}")


def test_the_batch_page_stops_polling_while_its_tab_is_hidden(page, web_url, store, producer):
    # a batch no worker runs: its page would poll for as long as it is open
    with BulkRun(producer, file_name="idle.csv", fmt=BulkFormat.CSV) as run:
        run.check(io.BytesIO((HEADER + "cancel,backd,acme,BO-IDLE-1,,,,,\n").encode()))
        batch_id = run.admit(Batches(store), actor="test").batch_id
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/progress") else None)
    page.clock.install()  # the page's timers run only when the test moves this clock
    sign_in(page, web_url)
    page.goto(f"{web_url}/bulk/{batch_id}")
    with page.expect_request(re.compile(r"/progress$")):
        page.clock.run_for(1500)
    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    page.wait_for_load_state("networkidle")  # a poll already under way ends
    hidden_at = len(polls)
    page.clock.run_for(30_000)
    page.wait_for_load_state("networkidle")
    assert len(polls) == hidden_at, "no poll while hidden"
    with page.expect_request(re.compile(r"/progress$")):
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
    assert len(polls) == hidden_at + 1, "polling again once visible"
