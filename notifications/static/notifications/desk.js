// Live progress on the campaign page: poll the JSON endpoint while the campaign is scheduled or
// running, update the numbers, and reload when its status changes (the buttons change with it).
// While it runs, the timeline is fetched again as HTML and swapped in, less often (drawing it
// reads every event), and not at all while the tab is hidden.
// Without JavaScript the page is the same, as of when it was loaded.
"use strict";
function startCampaignProgress() {
  const desk = document.getElementById("campaign-desk");
  if (!desk || !desk.dataset.progressUrl) return;
  const every = 2000;
  // Numbers grouped as the page's language groups them (the server's `num` filter does the same).
  const fmt = (n) => Number(n).toLocaleString(document.documentElement.lang || "en-US");

  function show(data) {
    const text = {
      status_label: data.status_label,
      headline: data.headline,
      state_text: data.state_text,
      quiet_hours_text: data.quiet_hours_text,
      capped_text: data.capped_text,
      capped_skipped_text: data.capped_skipped_text,
      left: fmt(data.left),
      rate_per_minute: fmt(data.rate_per_minute),
      eta: data.eta || "—",
      eta_basis: data.eta_basis,
    };
    desk.querySelectorAll("[data-live]").forEach((el) => {
      const value = text[el.dataset.live];
      if (value !== undefined) el.textContent = value;
    });
    desk.querySelectorAll("[data-live-count]").forEach((el) => {
      const key = el.dataset.liveCount;
      const value = key === "total" ? data.total : data.counts[key];
      if (value !== undefined) el.textContent = fmt(value);
    });
    desk.querySelectorAll("[data-live-rate]").forEach((el) => {
      const value = (data.rates || {})[el.dataset.liveRate];
      if (value) el.textContent = "· " + value;
    });
    desk.querySelectorAll("[data-live-part]").forEach((el) => {
      const width = data.parts[el.dataset.livePart];
      if (width !== undefined) el.style.width = width + "%";
    });
    const bar = desk.querySelector("[data-live-bar]");
    if (bar) {
      bar.setAttribute("aria-valuenow", data.percent);
      bar.setAttribute("aria-label", data.headline);
    }
    const quiet = document.getElementById("live-quiet-hours");
    if (quiet) quiet.hidden = !data.quiet_hours_text;
    const capped = document.getElementById("live-capped");
    if (capped) capped.hidden = !data.capped_text;
    const cappedSkipped = document.getElementById("live-capped-skipped");
    if (cappedSkipped) cappedSkipped.hidden = !data.capped_skipped_text;
    // What is happening: information, or an alert when someone has to act.
    const state = document.getElementById("live-state");
    if (state) {
      state.dataset.state = data.state;
      state.hidden = !data.state_text;
      state.classList.toggle("errornote", data.alert);
      const help = state.querySelector("[data-live-help]");
      if (help) {
        help.hidden = !data.help_url;
        if (data.help_url) help.href = data.help_url;
      }
    }
  }

  function poll() {
    fetch(desk.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        show(data);
        if (data.status !== desk.dataset.status) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, every);
      })
      .catch(() => window.setTimeout(poll, every * 3));
  }
  window.setTimeout(poll, every);
}

function startTimelineRefresh() {
  const holder = document.getElementById("timeline-live");
  if (!holder || !holder.dataset.timelineUrl) return;
  const url = holder.dataset.timelineUrl;
  const every = Number(holder.dataset.refreshSeconds || 10) * 1000;
  let timer = null;
  let busy = false;
  let stopped = false;
  let last = Date.now();

  function swap(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("timeline-live");
    if (!fresh) return false;
    // A numbers table someone opened stays open: the charts' tables in order, old to new.
    const open = Array.from(holder.querySelectorAll("details.chart-numbers"), (d) => d.open);
    holder.replaceChildren(...fresh.childNodes);
    holder.querySelectorAll("details.chart-numbers").forEach((details, i) => {
      if (open[i]) details.open = true;
    });
    // No address in the answer: the campaign no longer runs, and the timeline is final.
    return Boolean(fresh.dataset.timelineUrl);
  }

  function later(delay) {
    if (!stopped) timer = window.setTimeout(refresh, delay);
  }

  function refresh() {
    timer = null;
    if (document.hidden) return; // picked up again when the tab is shown
    busy = true;
    last = Date.now();
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        stopped = !swap(html);
        later(every);
      })
      .catch(() => later(every * 3))
      .finally(() => { busy = false; });
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden || stopped || busy || timer !== null) return;
    later(Math.max(0, every - (Date.now() - last)));
  });
  later(every);
}

// A chart's numbers print with it: a folded <details> would print folded.
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("details.chart-numbers").forEach((details) => { details.open = true; });
});

// Admin loads form media in the page's head, before the desk exists.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => {
    startCampaignProgress();
    startTimelineRefresh();
  });
} else {
  startCampaignProgress();
  startTimelineRefresh();
}
