"""The overview's charts in Chromium, drawn from what real commands did through a worker.

Some commands succeed, one retries after 503s first, two dead-letter as not_found; the charts'
figures (totals under each chart, the legend's value under the cursor) must be those counts.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from schemas import CommandState, DeadReason
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.integration


def total(page: Page, chart_id: str, label: str) -> str | None:
    """The figure a chart shows for one series over its range (the line under the chart)."""
    item = page.locator(f"figure[data-chart-id='{chart_id}'] [data-series='{label}']")
    return item.get_attribute("data-total")


def charts_json(page: Page, span: str = "3h") -> dict[str, Any]:
    return page.evaluate("async (span) => (await fetch('/charts.json?range=' + span)).json()", span)  # type: ignore[no-any-return]


def painted_pixels(page: Page, chart_id: str) -> int:
    """How many pixels of the chart's canvas are not blank (axes, ticks, lines)."""
    script = """(id) => {
      const canvas = document.querySelector(`figure[data-chart-id='${id}'] canvas`);
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    }"""
    return int(page.evaluate(script, chart_id))


def pixels_of_colour(page: Page, chart_id: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the chart's canvas are about ``rgb`` (a series' line)."""
    script = """([id, rgb]) => {
      const canvas = document.querySelector(`figure[data-chart-id='${id}'] canvas`);
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if ([0, 1, 2].every((c) => Math.abs(data[i + c] - rgb[c]) <= 12) && data[i + 3] > 200) n++;
      }
      return n;
    }"""
    return int(page.evaluate(script, [chart_id, list(rgb)]))


def hover_bucket(page: Page, chart_id: str, times: list[int], index: int) -> None:
    """Put the cursor over time bucket ``index`` of a chart (its x scale spans ``times``)."""
    over = page.locator(f"figure[data-chart-id='{chart_id}'] .u-over")
    box = over.bounding_box()
    assert box is not None
    x = (times[index] - times[0]) / (times[-1] - times[0]) * box["width"]
    over.hover(position={"x": min(max(x, 1), box["width"] - 1), "y": box["height"] / 2})


def legend_value(page: Page, chart_id: str, label: str) -> str:
    rows = page.locator(f"figure[data-chart-id='{chart_id}'] .u-legend .u-series")
    row = rows.filter(has=page.locator(".u-label", has_text=label)).first
    return row.locator(".u-value").inner_text()


def test_charts_render_from_real_data(
    page, web_url, sandbox, producer, start_worker, settled
):  # fmt: skip
    # Given three Shoplazza orders, a Backd order whose first mutations get a 503, and two
    # Shoplazza order ids the provider does not know
    shop_orders = sandbox.admin.create_orders("shoplazza", "placed", 3)
    backd_order = sandbox.admin.create_order("backd", "order_placed")["backd_order_id"]
    sandbox.admin.set_faults(provider="backd", scope="mutations", script=["503"] * 3)
    start_worker(pool="threads", concurrency=2)

    # When cancels of all of them run through the worker
    def cancel(provider: str, account: str, order: str) -> str:
        command = {"kind": "cancel", "provider": provider, "account": account, "order_id": order}
        return producer.submit(command).command_id

    done = [settled(cancel("shoplazza", "store", order)) for order in shop_orders]
    retried = settled(cancel("backd", "acme", str(backd_order)))
    dead = [settled(cancel("shoplazza", "store", f"1999-0000000{i}")) for i in range(2)]
    assert {r.state for r in [*done, retried]} == {CommandState.SUCCEEDED}
    assert {(r.state, r.dead_reason) for r in dead} == {(CommandState.DEAD, DeadReason.NOT_FOUND)}
    retries = len(retried.attempts) - 1
    assert retries >= 1, retried.attempts  # the 503s made it retry at least once

    # Then the overview's charts show those counts (and the page breaks no CSP rule)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, web_url)
    expect(page.locator("#charts")).to_have_attribute("data-range", "3h")
    assert total(page, "outcomes", "succeeded") == "4"
    assert total(page, "outcomes", "dead") == "2"
    assert total(page, "outcomes", "already_done") == "0"
    assert total(page, "dead", "not_found") == "2"
    assert total(page, "retries", "retries") == str(retries)
    # every call let through a gate is one attempt here
    assert total(page, "rate", "shoplazza/store") == "5"
    assert total(page, "rate", "backd/acme") == str(len(retried.attempts))
    expect(
        page.locator("figure[data-chart-id='latency-shoplazza'] [data-observations]")
    ).to_have_attribute("data-observations", "5")
    expect(page.locator("figure[data-chart-id='latency-backd'] figcaption")).to_have_text(
        "Latency of backd, admission to end (seconds)"
    )
    for chart_id in ("outcomes", "retries", "dead", "latency-shoplazza", "rate"):
        assert painted_pixels(page, chart_id) > 2000, chart_id  # axes, ticks and lines drawn
    # the lines themselves: succeeded in green and dead in red (web/static/charts/charts.js COLORS)
    assert pixels_of_colour(page, "outcomes", (0x06, 0x76, 0x47)) > 20
    assert pixels_of_colour(page, "outcomes", (0xB4, 0x23, 0x18)) > 20
    assert errors == []
    expect(page.locator("[data-zone]")).to_contain_text("local time")

    # and hovering the minute the commands finished in shows its counts in the legend
    data = charts_json(page)
    outcomes = {s["label"]: s["values"] for s in data["charts"][0]["series"]}
    index = max(i for i, n in enumerate(outcomes["succeeded"]) if n)
    hover_bucket(page, "outcomes", data["t"], index)
    assert legend_value(page, "outcomes", "succeeded") == str(outcomes["succeeded"][index])
    assert legend_value(page, "outcomes", "dead") == str(outcomes["dead"][index])
    assert "UTC" in legend_value(page, "outcomes", "time")
    shot(page, "charts")

    # and a command finished since shows without a reload: the live overview says the store
    # changed, and the charts redraw (still the same charts: none was swapped out)
    page.evaluate("document.querySelector('#charts').dataset.marked = 'yes'")
    settled(cancel("shoplazza", "store", "1999-00000009"))
    dead_total = page.locator("figure[data-chart-id='outcomes'] [data-series='dead']")
    expect(dead_total).to_have_attribute("data-total", "3", timeout=20_000)
    expect(page.locator("#charts")).to_have_attribute("data-marked", "yes")
    assert page.evaluate("typeof window.ordercmdCharts.refresh") == "function"

    # and per hour over 7 days, the same outcomes
    page.click("button[data-range='7d']")
    expect(page.locator("#charts")).to_have_attribute("data-range", "7d")
    assert total(page, "outcomes", "succeeded") == "4"
    assert total(page, "dead", "not_found") == "3"
    expect(page.locator("[data-kept-note]")).to_be_visible()
    shot(page, "charts-7d")

    # and at 375 px wide every chart fits the screen
    page.set_viewport_size({"width": 375, "height": 800})
    page.click("button[data-range='3h']")
    expect(page.locator("#charts")).to_have_attribute("data-range", "3h")
    widths = page.locator("figure.chart").evaluate_all("(fs) => fs.map((f) => f.scrollWidth)")
    assert len(widths) >= 5
    assert max(widths) <= 375, widths
    page.locator("#charts").scroll_into_view_if_needed()
    shot(page, "charts-375")
    assert errors == []
