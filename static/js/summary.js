// Dataset summary: bar charts of the samples by country, year, body site, host sex and age,
// each with a table of the same counts.
(function () {
  "use strict";

  var TITLES = { country: "Country", year: "Collection year", body_site: "Body site",
    host_sex: "Host sex", host_age: "Host age (years)" };

  function init() {
    var root = document.querySelector("[data-summary-url]");
    if (!root || !window.Chart) { return; }
    fetch(root.getAttribute("data-summary-url"), { headers: { Accept: "application/json" },
      credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(r.statusText)); })
      .then(function (data) {
        Object.keys(TITLES).forEach(function (name) {
          var entries = data[name] || [];
          var canvas = root.querySelector('canvas[data-summary="' + name + '"]');
          if (!canvas) { return; }
          new window.Chart(canvas, {
            type: "bar",
            data: { labels: entries.map(function (e) { return e.label; }),
              datasets: [{ label: "samples", data: entries.map(function (e) { return e.count; }),
                backgroundColor: "#0072B2" }] },
            options: { responsive: true, maintainAspectRatio: false, animation: false,
              plugins: { legend: { display: false }, title: { display: true, text: TITLES[name] } },
              scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
          });
          canvas.setAttribute("data-ready", "true");
          window.fairdbTable(root.querySelector('[data-summary-table="' + name + '"]'),
            ["value", "samples"],
            entries.map(function (e) { return [e.label, e.count.toLocaleString()]; }));
        });
      })
      .catch(function (error) {
        var note = root.querySelector("[data-summary-note]");
        if (note) { note.textContent = "Could not draw the summary: " + error.message; }
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
