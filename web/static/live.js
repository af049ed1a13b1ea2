// Live pages (web/live.py): while the tab is visible, ask /live/version every few seconds; when
// the page's version moved, fetch the page again and swap its [data-live] regions. A region the
// operator is using (a focused field, a changed field, a ticked box) is left alone until they
// are done. After a swap, "live:updated" is dispatched on document for scripts that draw into
// the page.
// The indicator says: live, paused (tab hidden), reconnecting, or stale (updates failed).
(function () {
  const box = document.querySelector("[data-live-scope]");
  if (!box) return;
  const scope = box.getAttribute("data-live-scope");
  let version = box.getAttribute("data-live-version");
  let pollMs = 2000;
  let failures = 0;
  let timer = null;
  let pending = false; // a newer version was seen but a region was held
  let stopped = false; // signed out: no more polls
  let busy = false; // a tick is on its way (a tab shown again does not start a second)
  const headers = { "X-Live": "1" };

  function show(state, text) {
    if (box.getAttribute("data-live-state") === state && box.textContent === text) return;
    box.setAttribute("data-live-state", state);
    box.textContent = text; // role=status: announced only when it changes
  }

  function clock() {
    return new Date().toLocaleTimeString();
  }

  function held(region) {
    const active = document.activeElement;
    if (active && active !== document.body && region.contains(active) &&
        /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    for (const field of region.querySelectorAll("input, textarea, select")) {
      if (field.type === "hidden") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        if (selectChanged(field)) return true;
      } else if (field.value !== field.defaultValue) return true;
    }
    return false;
  }

  function selectChanged(select) {
    const options = Array.from(select.options);
    const defaults = options.map((option) => option.defaultSelected);
    if (!select.multiple && !defaults.includes(true) && options.length) defaults[0] = true;
    return options.some((option, i) => option.selected !== defaults[i]);
  }

  async function refresh() {
    const reply = await fetch(location.href, { credentials: "same-origin", cache: "no-store", headers });
    if (!reply.ok) throw new Error("page " + reply.status);
    const doc = new DOMParser().parseFromString(await reply.text(), "text/html");
    if (!doc.querySelector("[data-live-scope]")) return "signed-out"; // sent to sign in
    let kept = false;
    for (const region of document.querySelectorAll("[data-live]")) {
      const name = region.getAttribute("data-live");
      const fresh = doc.querySelector('[data-live="' + CSS.escape(name) + '"]');
      if (!fresh) continue;
      if (held(region)) { kept = true; continue; }
      region.replaceWith(document.importNode(fresh, true));
    }
    document.dispatchEvent(new CustomEvent("live:updated", { detail: { scope } }));
    return kept ? "held" : "done";
  }

  async function tick() {
    timer = null;
    if (document.hidden || busy) return;
    busy = true;
    try {
      const url = "/live/version?scope=" + encodeURIComponent(scope) +
        (version && !pending ? "&since=" + encodeURIComponent(version) : "");
      const reply = await fetch(url, { credentials: "same-origin", cache: "no-store", headers });
      if (reply.status === 401) return signedOut();
      if (!reply.ok && reply.status !== 204) throw new Error("version " + reply.status);
      if (reply.status !== 204) {
        const body = await reply.json();
        pollMs = Math.max(1000, (body.poll_s || 2) * 1000);
        if (body.version !== version || pending) {
          const result = await refresh();
          if (result === "signed-out") return signedOut();
          pending = result === "held";
          version = body.version;
        }
      }
      failures = 0;
      show("live", pending ? "Live (held while you edit)" : "Live");
    } catch (error) {
      failures += 1;
      show(failures >= 3 ? "stale" : "reconnecting",
        failures >= 3 ? "Stale since " + clock() + ": updates failing, retrying" : "Reconnecting…");
    } finally {
      busy = false;
    }
    schedule();
  }

  function signedOut() {
    stopped = true;
    show("stale", "Stale: signed out — reload to sign in");
  }

  function schedule() {
    if (timer !== null || document.hidden || stopped) return;
    const backoff = Math.min(30000, pollMs * Math.pow(2, Math.max(0, failures - 1)));
    timer = setTimeout(tick, failures ? backoff : pollMs);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      show("paused", "Paused while hidden");
    } else if (!stopped) {
      show("live", "Live");
      tick();
    }
  });

  if (document.hidden) show("paused", "Paused while hidden");
  else { show("live", "Live"); schedule(); }
})();
