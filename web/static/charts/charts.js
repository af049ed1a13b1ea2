// The overview's charts, drawn with uPlot (vendored in /static/uplot) from /charts.json: per
// minute over 3 hours or per hour over 7 days. They refresh when the live overview swapped in
// news ("live:updated", static/live.js), at most every 5 s, and every 15 s anyway, never while
// the tab is hidden; window.ordercmdCharts.refresh() redraws them at once.
(function () {
  const root = document.getElementById("charts");
  if (!root || !window.uPlot) return;
  const url = root.getAttribute("data-charts-url");
  const board = root.querySelector("[data-charts]");
  const REFRESH_MS = 15000;
  const AT_MOST_EVERY_MS = 5000; // however often the live overview says something changed
  const HEIGHT = 200;
  const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
  const COLORS = { succeeded: "#067647", already_done: "#0e9384", dead: "#b42318",
    discarded: "#667085", retries: "#b54708", p50: "#1f5fbf", p95: "#b54708", p99: "#b42318" };
  const PALETTE = ["#1f5fbf", "#6941c6", "#c11574", "#0e9384", "#b54708", "#475467", "#b42318"];
  const plots = new Map(); // chart id -> { plot, shape, figure }
  let span = "3h";
  let busy = false;

  const two = (n) => String(n).padStart(2, "0");
  function localTime(sec) {
    const d = new Date(sec * 1000);
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function utcTime(sec) {
    const d = new Date(sec * 1000);
    return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + " UTC";
  }
  function zoneNote() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "−" : "+";
    const offset = "UTC" + sign + two(Math.floor(Math.abs(minutes) / 60)) + ":" + two(Math.abs(minutes) % 60);
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
    return "Times are your local time (" + zone + ", " + offset + "); hover shows UTC too.";
  }
  function number(v, unit) {
    if (v == null) return "—";
    if (unit === "seconds") return (v < 10 ? v.toPrecision(3).replace(/\.?0+$/, "") : Math.round(v)) + " s";
    if (unit.startsWith("%")) return v.toFixed(1) + " %";
    return String(Math.round(v * 1000) / 1000);
  }
  function tickValue(v, unit) {
    return unit.startsWith("%") ? +v.toFixed(1) + " %" : number(v, unit);
  }
  function colour(label, i) {
    return COLORS[label] || PALETTE[i % PALETTE.length];
  }

  function tick(sec) {
    const d = new Date(sec * 1000);
    const hm = two(d.getHours()) + ":" + two(d.getMinutes());
    if (span !== "7d") return hm;
    const day = two(d.getMonth() + 1) + "-" + two(d.getDate());
    return hm === "00:00" ? day : day + " " + hm;
  }
  // a log axis keeps grid lines at 1, 2 and 5 of each decade: all nine crowd a small chart
  function onesTwosFives(u, splits) {
    return splits.map((v) => {
      const m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
      return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? v : null;
    });
  }

  function options(chart, width) {
    const series = [{ label: "time", value: (u, v) => (v == null ? "—" : localTime(v) + " (" + utcTime(v) + ")") }];
    const counts = !chart.unit.startsWith("%") && chart.unit !== "seconds";
    chart.series.forEach((s, i) => series.push({
      label: s.label, stroke: colour(s.label, i), width: 1.5,
      value: (u, v) => number(v, chart.unit),
      // percentiles have gaps where nothing finished: a lone bucket shows as a dot
      points: chart.unit === "seconds" ? { show: true, size: 5, fill: colour(s.label, i) } : {},
    }));
    const log = chart.unit === "seconds";
    const y = log ? { distr: 3 } : { range: (u, min, max) => [0, Math.max(max, 1)] };
    const yAxis = { stroke: "#475467", grid: { stroke: "#eaecf0" }, label: chart.unit, size: 60,
      values: (u, ticks) => ticks.map((v) => (v == null ? "" : tickValue(v, chart.unit))) };
    if (log) {
      yAxis.grid.filter = onesTwosFives;
      yAxis.ticks = { filter: onesTwosFives };
    }
    if (counts) yAxis.incrs = WHOLE_STEPS; // no 0.5 of a command
    return {
      width: width, height: HEIGHT, series: series,
      scales: { x: { time: true }, y: y },
      axes: [
        { stroke: "#475467", grid: { stroke: "#eaecf0" }, values: (u, ticks) => ticks.map(tick) },
        yAxis,
      ],
      legend: { live: true },
    };
  }

  function summary(chart) {
    const p = document.createElement("p");
    p.className = "chart-totals muted";
    if (chart.unit === "seconds") {
      p.textContent = "Finished in range: " + chart.observations;
      p.setAttribute("data-observations", chart.observations);
      return p;
    }
    p.append("In range: ");
    chart.series.forEach((s, i) => {
      const item = document.createElement("span");
      item.setAttribute("data-series", s.label);
      const total = s.calls_total != null ? s.calls_total : s.total;
      item.setAttribute("data-total", total);
      item.textContent = (i ? " · " : "") + s.label + " " + total + (s.calls_total != null ? " calls" : "");
      p.append(item);
    });
    return p;
  }

  function plotWidth(fig) {
    return Math.max(fig.querySelector(".plot").clientWidth, 200);
  }

  function figure(chart) {
    const fig = document.createElement("figure");
    fig.className = "chart";
    fig.setAttribute("data-chart-id", chart.id);
    const caption = document.createElement("figcaption");
    caption.textContent = chart.title + " (" + chart.unit + ")";
    const plot = document.createElement("div");
    plot.className = "plot";
    fig.append(caption, plot);
    return fig;
  }

  function draw(chart, data) {
    const shape = chart.series.map((s) => s.label).join("\n");
    let entry = plots.get(chart.id);
    if (entry && entry.shape === shape) {
      entry.plot.setData(data);
      entry.figure.querySelector(".chart-totals").replaceWith(summary(chart));
      return entry.figure;
    }
    if (entry) entry.plot.destroy();
    const fig = entry ? entry.figure : figure(chart);
    fig.querySelectorAll(".uplot, .chart-totals, .chart-empty").forEach((el) => el.remove());
    board.append(fig);
    if (!chart.series.length) {
      const empty = document.createElement("p");
      empty.className = "chart-empty muted";
      empty.textContent = "Nothing in this range.";
      fig.append(empty, summary(chart));
      plots.set(chart.id, { plot: { setData() {}, setSize() {}, destroy() {} }, shape: shape, figure: fig });
      return fig;
    }
    const plot = new uPlot(options(chart, plotWidth(fig)), data, fig.querySelector(".plot"));
    fig.append(summary(chart));
    plots.set(chart.id, { plot: plot, shape: shape, figure: fig });
    return fig;
  }

  function render(payload) {
    const seen = new Set();
    payload.charts.forEach((chart) => {
      seen.add(chart.id);
      board.append(draw(chart, [payload.t].concat(chart.series.map((s) => s.values))));
    });
    plots.forEach((entry, id) => {
      if (seen.has(id)) return;
      entry.plot.destroy();
      entry.figure.remove();
      plots.delete(id);
    });
    const note = root.querySelector("[data-kept-note]");
    note.hidden = payload.range !== "7d";
    root.setAttribute("data-range", payload.range);
    root.setAttribute("data-drawn-at", String(payload.now_ms));
  }

  let lastMs = 0;
  let later = null;
  function soon() {
    if (later !== null) return;
    const wait = Math.max(0, lastMs + AT_MOST_EVERY_MS - Date.now());
    later = setTimeout(() => { later = null; if (!document.hidden) refresh(); }, wait);
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    lastMs = Date.now();
    try {
      const reply = await fetch(url + "?range=" + span, { credentials: "same-origin", cache: "no-store" });
      if (reply.ok && (reply.headers.get("content-type") || "").includes("json")) render(await reply.json());
    } finally {
      busy = false;
    }
  }

  root.querySelector("[data-zone]").textContent = zoneNote();
  root.querySelectorAll("button[data-range]").forEach((button) => {
    button.addEventListener("click", () => {
      span = button.getAttribute("data-range");
      root.querySelectorAll("button[data-range]").forEach((b) =>
        b.setAttribute("aria-pressed", String(b === button)));
      plots.forEach((entry) => { entry.plot.destroy(); entry.figure.remove(); });
      plots.clear();
      refresh();
    });
  });
  new ResizeObserver(() => {
    plots.forEach((entry) => entry.plot.setSize({ width: plotWidth(entry.figure), height: HEIGHT }));
  }).observe(board);
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  document.addEventListener("live:updated", soon);
  window.ordercmdCharts = { refresh: refresh };
  refresh();
})();
