// Bulk files: refuse an oversize file before it is sent, one start per click, confirmation
// before cancel, and the batch page's live progress (paused while the tab is hidden).
(function () {
  const upload = document.getElementById("upload-form");
  if (upload) {
    const limit = Number(upload.getAttribute("data-max-bytes"));
    const input = upload.querySelector("input[type=file]");
    input.addEventListener("change", function () {
      const file = input.files[0];
      input.setCustomValidity(file && file.size > limit
        ? "file: " + file.size.toLocaleString() + " bytes, over the limit of " + limit.toLocaleString() + " bytes"
        : "");
      input.reportValidity();
    });
  }

  document.querySelectorAll("button[data-busy]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      // disabled after the submit has been taken: a second click sends nothing
      setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy");
      }, 0);
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  const box = document.getElementById("batch");
  if (!box || box.getAttribute("data-done") === "true") return;
  const url = box.getAttribute("data-progress-url");
  let timer = null;
  let fetching = false;

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function show(p) {
    const bar = box.querySelector("progress");
    bar.max = Math.max(p.commands, 1);
    bar.value = p.finished;
    document.getElementById("batch-progress").textContent =
      (p.done ? "done" : "running") + ": " + p.finished + " of " + p.commands + " commands ended";
    box.querySelector("[data-field=admission]").textContent = p.admission;
    box.querySelector("[data-field=cancelled]").textContent =
      p.cancelled_by ? "by " + p.cancelled_by + ": \u201c" + p.cancel_why + "\u201d" : "no";
    Object.entries(p.admitted).forEach(function ([name, n]) {
      const td = box.querySelector("[data-admitted='" + name + "']");
      if (td) td.textContent = n;
    });
    Object.entries(p.counts).forEach(function ([state, n]) {
      const td = box.querySelector("[data-state='" + state + "']");
      if (td) td.textContent = n;
    });
    const reasons = box.querySelector("[data-dead-reasons]");
    const rows = Object.entries(p.dead_reasons).map(function ([reason, n]) {
      const tr = document.createElement("tr");
      tr.append(cell(reason), cell(n, "n"));
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell("none", "muted");
      td.colSpan = 2;
      tr.append(td);
      rows.push(tr);
    }
    reasons.replaceChildren(...rows);
    box.setAttribute("data-done", p.done ? "true" : "false");
    if (p.done) {
      const cancel = document.getElementById("cancel");
      if (cancel) cancel.remove();
    }
  }

  async function tick() {
    timer = null;
    if (document.hidden) return; // visibilitychange starts it again
    fetching = true;
    try {
      const reply = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (reply.ok) {
        const p = await reply.json();
        show(p);
        if (p.done) return;
      }
    } catch (error) {
      // the server is away for a moment: try again on the next tick
    } finally {
      fetching = false;
    }
    if (!document.hidden) timer = setTimeout(tick, 1000);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null && !fetching && box.getAttribute("data-done") !== "true") tick();
  });
  timer = setTimeout(tick, 1000);
})();
