// A live war room: pages follow every change made anywhere (Server-Sent Events from /api/v1/events),
// SLA countdowns tick, and every time shows the viewer's own zone (unless it is UTC), with the date when it
// is not today.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localTimes(root) {
    const today = new Date().toDateString();
    for (const el of root.querySelectorAll("time[data-local]")) {
      if (el.querySelector(".local")) continue;
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) continue;
      el.title = d.toString();
      if (d.getTimezoneOffset() === 0) continue;  // the viewer's zone is UTC then: the time already says so
      const opts = {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"};
      if (d.toDateString() !== today) { opts.month = "short"; opts.day = "numeric"; }
      const span = document.createElement("span");
      span.className = "local";
      span.textContent = "(" + d.toLocaleString([], opts) + ")";
      el.appendChild(span);
    }
  }

  function span(seconds) {
    const s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h >= 24) return Math.floor(h / 24) + "d" + pad(h % 24) + "h";
    if (h > 0) return h + "h" + pad(m) + "m";
    return m + "m" + pad(sec) + "s";
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const left = (new Date(el.getAttribute("data-deadline")).getTime() - now) / 1000;
      if (isNaN(left)) continue;
      if (left < 0 && el.hasAttribute("data-done")) {  // a window that ends well (the quiet window), not a breach
        el.textContent = el.getAttribute("data-done");
        el.className = "met";
        continue;
      }
      const label = el.getAttribute("data-label") || "";
      const late = el.getAttribute("data-late") || "breached by";  // an overdue update is late, not a breach
      el.textContent = (label ? label + ": " : "") + (left >= 0 ? span(left) + " left" : late + " " + span(left));
      el.className = left >= 0 ? "running" : "breached";
    }
  }

  function typing() {
    if (document.querySelector("main #error")) return true;  // a refusal and what was typed stay until acted on
    const active = document.activeElement;
    if (active && ["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)) return true;
    for (const el of document.querySelectorAll("main input[type=text], main input:not([type]), main textarea")) {
      if (el.value && el.value !== el.defaultValue) return true;
    }
    return false;
  }

  let pending = false;
  function hold() {  // a newer page waits until the viewer leaves the form; a note says it does
    pending = true;
    const note = document.getElementById("live-note");
    if (note) note.hidden = false;
  }

  async function refresh() {
    if (typing()) return hold();
    pending = false;
    const resp = await fetch(location.href, {headers: {"accept": "text/html"}, credentials: "same-origin"});
    if (!resp.ok || resp.redirected) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    if (typing()) return hold();  // they began typing while the page was fetched: what they typed stays
    const fresh = doc.querySelector("main");
    const main = document.querySelector("main");
    if (fresh && main) {
      main.replaceWith(fresh);
      localTimes(fresh);
      tick();
      const note = document.getElementById("live-note");
      if (note) note.hidden = true;
    }
  }

  localTimes(document);
  tick();
  setInterval(tick, 1000);
  document.addEventListener("focusout", function () { if (pending) setTimeout(refresh, 300); });

  const body = document.body;
  const watch = body.getAttribute("data-live");
  if (watch === null || !window.EventSource) return;
  const incident = body.getAttribute("data-incident");
  const source = new EventSource("/api/v1/events" + (incident ? "?incident=" + encodeURIComponent(incident) : ""));
  source.addEventListener("changed", function () { refresh(); });
})();
