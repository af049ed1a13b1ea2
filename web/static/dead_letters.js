// Dead-letter pages: copy buttons for short ids, local times beside UTC ones, and row selection
// ("N selected", select all on the page). Everything here is an extra: the forms work without it.
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function localText(date) {
    const offset = -date.getTimezoneOffset();
    const zone = "UTC" + (offset >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(offset) / 60)) +
      (Math.abs(offset) % 60 ? ":" + pad(Math.abs(offset) % 60) : "");
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      " local (" + zone + ")";
  }

  function showLocalTimes(root) {
    root.querySelectorAll("time[data-utc]:not([data-local-done])").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      const local = document.createElement("span");
      local.className = "local-time";
      local.textContent = localText(date);
      el.setAttribute("data-local-done", "");
      el.after(local);
    });
  }

  // the old select-and-copy way, for plain-HTTP pages (no clipboard API) or a refused permission
  function legacyCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }

  function copyText(text) {
    const fallback = function () {
      if (!legacyCopy(text)) throw new Error("copy refused");
    };
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(fallback);
    }
    return Promise.resolve().then(fallback);
  }

  function showCopyButtons(root) {
    root.querySelectorAll("button.copy[hidden]").forEach(function (b) { b.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy[data-copy]");
    if (!button) return;
    copyText(button.getAttribute("data-copy")).then(
      function () { button.textContent = "copied"; },
      function () { button.textContent = "press Ctrl+C"; window.prompt("Copy the id:", button.getAttribute("data-copy")); }
    ).finally(function () { setTimeout(function () { button.textContent = "copy"; }, 1500); });
  });

  function boxes() {
    return Array.from(document.querySelectorAll("input[type=checkbox][name=ids][form=selection-form]"));
  }

  function updateSelection() {
    const form = document.getElementById("selection-form");
    if (!form) return;
    const all = boxes();
    const n = all.filter(function (b) { return b.checked; }).length;
    document.getElementById("selected-count").textContent =
      n ? n + " selected" : "Tick rows to act on them";
    form.classList.toggle("active", n > 0);
    form.querySelectorAll("button[name=action]").forEach(function (b) { b.disabled = n === 0; });
    const every = document.getElementById("select-all");
    if (every) {
      every.hidden = false;
      every.checked = all.length > 0 && n === all.length;
      every.indeterminate = n > 0 && n < all.length;
    }
  }

  // delegated, so rows and the header swapped in by a live refresh (live.js) keep working
  document.addEventListener("change", function (event) {
    if (event.target.id === "select-all") {
      boxes().forEach(function (b) { b.checked = event.target.checked; });
    }
    if (event.target.id === "select-all" || event.target.matches("input[name=ids][form=selection-form]")) {
      updateSelection();
    }
  });

  // a refused edit is rendered at its form's POST address: name the command page instead, so a
  // reload or a live refresh asks for the page (the kept text stays until the command changes)
  const edit = document.getElementById("edit-form");
  const home = edit && edit.getAttribute("data-command-url");
  if (home && location.pathname !== home) history.replaceState(null, "", home);

  function decorate(root) {
    showLocalTimes(root);
    showCopyButtons(root);
    updateSelection();
  }
  document.addEventListener("live:updated", function () { decorate(document); });
  decorate(document);
})();
