// Live refresh of a bulk run's progress: polls the run's JSON while it is planning or running;
// when planning ends the page reloads to show the counts and the start form.
(function () {
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const url = box.getAttribute("data-progress-url");
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  const planning = box.getAttribute("data-status") === "planning";
  const live = ["planning", "planned", "running"];
  async function tick() {
    const reply = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!reply.ok) return;
    const p = await reply.json();
    if (planning && p.status !== "planning") return location.reload();
    bar.max = Math.max(p.total, 1);
    bar.value = p.processed;
    const parts = Object.entries(p.results).map(([k, v]) => k + " " + v).join(", ");
    text.textContent = (p.status === "planning"
      ? "planning: " + p.total + " found so far, " + p.examined + " examined"
      : p.status + ": " + p.processed + " of " + p.total + (parts ? " (" + parts + ")" : "") +
        (p.in_flight ? ", " + p.in_flight + " in flight" : "")) +
      (p.stalled ? " — stalled" : "");
    box.setAttribute("data-status", p.status);
    const status = document.getElementById("run-status");
    if (status) status.textContent = p.status + (p.stalled ? " (stalled: no worker has moved it lately; is a worker running?)" : "");
    if (!live.includes(p.status)) {
      const cancel = document.getElementById("cancel-form");
      if (cancel) cancel.remove();
    }
    if (live.includes(p.status)) setTimeout(tick, 1000);
  }
  tick();
})();
