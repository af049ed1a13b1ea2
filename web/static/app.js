// Live refresh of a bulk run's progress: polls the run's JSON while it is running.
(function () {
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const url = box.getAttribute("data-progress-url");
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  async function tick() {
    const reply = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!reply.ok) return;
    const p = await reply.json();
    bar.max = Math.max(p.total, 1);
    bar.value = p.processed;
    const parts = Object.entries(p.results).map(([k, v]) => k + " " + v).join(", ");
    text.textContent = p.status + ": " + p.processed + " of " + p.total +
      (parts ? " (" + parts + ")" : "") + (p.stalled ? " — stalled" : "");
    box.setAttribute("data-status", p.status);
    const status = document.getElementById("run-status");
    if (status) status.textContent = p.status + (p.stalled ? " (stalled: its driver stopped)" : "");
    if (p.status !== "running" && p.status !== "planned") {
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
    }
    if (p.status === "running" || p.status === "planned") setTimeout(tick, 1000);
  }
  tick();
})();
