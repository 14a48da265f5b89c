// Test sends: the results under a campaign refresh until every message is done, and the send
// page's button says how many people the test goes to.
(function () {
  "use strict";
  const POLL_MS = 1500;

  function refreshResults() {
    const section = document.getElementById("test-sends");
    if (!section || section.dataset.finished === "true" || section.dataset.polling) return;
    section.dataset.polling = "yes";
    setTimeout(function () {
      fetch(section.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
        .then(function (data) {
          const fresh = document.createElement("div");
          fresh.innerHTML = data.html;
          const replacement = fresh.querySelector("#test-sends");
          if (replacement) section.replaceWith(replacement);
          else delete section.dataset.polling;
          refreshResults();
        })
        .catch(function () { delete section.dataset.polling; setTimeout(refreshResults, POLL_MS * 4); });
    }, POLL_MS);
  }

  function countChosen(form) {
    const chosen = new Set();
    form.querySelectorAll("input[name=seeds]:checked").forEach(function (box) { chosen.add(box.value); });
    const others = form.querySelector("select[name=others]");
    if (others) Array.from(others.selectedOptions).forEach(function (option) { chosen.add(option.value); });
    const button = form.querySelector("#send-test-button");
    const list = form.querySelectorAll("input[name=seeds]:checked").length;
    // The labels come translated from the page (data-label-*), one per plural form.
    const lang = document.documentElement.lang || "en";
    const count = (n) => n.toLocaleString(lang);
    if (others && others.selectedOptions.length) {
      const form = new Intl.PluralRules(lang).select(chosen.size);
      const label = button.dataset["label" + form.charAt(0).toUpperCase() + form.slice(1)];
      button.value = (label || button.dataset.labelOther).replace("__count__", count(chosen.size));
    } else {
      button.value = button.dataset.listLabel.replace("__count__", count(list));
    }
  }

  function watchSendForm() {
    const form = document.getElementById("send-test-form");
    if (!form) return;
    const recount = function () { countChosen(form); };
    form.addEventListener("change", recount);
    // The autocomplete (select2) announces its changes through jQuery only.
    if (window.django && window.django.jQuery) window.django.jQuery(form).on("change", "select", recount);
    recount();
  }

  function start() { refreshResults(); watchSendForm(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
