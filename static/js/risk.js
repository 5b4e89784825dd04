// Risk reports: each class-size distribution as a bar chart (the table beside it has the same numbers).
(function () {
  "use strict";
  function draw(report) {
    var canvas = report.querySelector("canvas[data-class-sizes]");
    var source = report.querySelector("script[data-class-sizes-data]");
    if (!canvas || !source) { return; }
    var buckets = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: buckets.map(function (b) { return b.label; }),
        datasets: [{ label: "records", data: buckets.map(function (b) { return b.records; }),
          backgroundColor: buckets.map(function (b, i) { return i < 4 ? "#D55E00" : "#0072B2"; }) }]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false },
          title: { display: true, text: "Records by the size of their class (small classes are risky)" } },
        scales: { x: { title: { display: true, text: "class size" } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "records" } } } }
    });
    canvas.setAttribute("data-ready", "true");
  }
  function init() {
    if (!window.Chart) { return; }
    document.querySelectorAll("[data-class-sizes-report]").forEach(draw);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
