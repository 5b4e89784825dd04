// Abundance table page: composition (stacked bars), alpha diversity (box plots), PCoA (scatter).
// Each chart fetches its JSON from the page's own endpoints and redraws when its controls change;
// each has a table with the same numbers for screen readers and for copying.
(function () {
  "use strict";

  // Okabe-Ito and Tableau colours: distinguishable for colour-blind readers.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
    "#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC", "#1B9E77", "#7570B3", "#E7298A", "#66A61E", "#E6AB02", "#A6761D",
    "#666666", "#8DD3C7", "#BEBADA", "#FB8072", "#80B1D3", "#FDB462", "#B3DE69"];
  var GREY = "#BBBBBB";
  var charts = {};

  function colour(i, name) {
    if (name === "Other") { return GREY; }
    if (name === "Unassigned") { return "#888888"; }
    return PALETTE[i % PALETTE.length];
  }

  function params(form) {
    var out = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.value !== "") { out.set(el.name, el.value); }
    });
    return out;
  }

  var table = window.fairdbTable;

  function draw(name, config) {
    var canvas = document.querySelector('[data-chart="' + name + '"]');
    if (charts[name]) { charts[name].destroy(); }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {});
    charts[name] = new window.Chart(canvas, config);
    canvas.setAttribute("data-ready", "true");
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { return r.json().then(function (p) { throw new Error(p.detail || r.statusText); }); }
        return r.json();
      });
  }

  function note(name, text) {
    var el = document.querySelector('[data-note="' + name + '"]');
    if (el) { el.textContent = text; }
  }

  function composition(root, form, current) {
    var url = root.getAttribute("data-composition-url") + "?" + params(form);
    return fetchJson(url).then(function (data) {
      if (!current()) { return; }
      var labels = data.samples.map(function (s, i) {
        if (data.mean) { return s + " (n=" + data.sizes[i] + ")"; }
        return data.groups ? s + " (" + data.groups[i] + ")" : s;
      });
      draw("composition", {
        type: "bar",
        data: {
          labels: labels,
          datasets: data.taxa.map(function (taxon, i) {
            return { label: taxon, data: data.values[i], backgroundColor: colour(i, taxon) };
          })
        },
        options: {
          scales: {
            x: { stacked: true, ticks: { autoSkip: true, maxRotation: 90 } },
            y: { stacked: true, min: 0, max: 1, title: { display: true, text: "relative abundance" } }
          },
          plugins: { legend: { position: "right" } }
        }
      });
      note("composition", data.mean
        ? "Mean composition of " + data.total_samples + " samples at " + data.level + " level."
        : data.total_samples > data.samples.length
          ? "Showing the first " + data.samples.length + " of " + data.total_samples + " samples."
          : data.total_samples + " samples at " + data.level + " level.");
      table(root.querySelector('[data-table="composition"]'),
        [data.mean ? "group" : "sample"].concat(data.taxa),
        data.samples.map(function (s, j) {
          return [labels[j]].concat(data.values.map(function (v) { return v[j].toFixed(4); }));
        }));
    });
  }

  function alpha(root, form, current) {
    var query = params(form);
    var metric = query.get("metric") || "shannon";
    query.delete("metric");
    return fetchJson(root.getAttribute("data-alpha-url") + "?" + query).then(function (data) {
      if (!current()) { return; }
      var groups = {};
      data.rows.forEach(function (r) {
        var key = data.group ? r.group : "all samples";
        if (r[metric] === null) { return; }
        (groups[key] = groups[key] || []).push(r[metric]);
      });
      var names = Object.keys(groups).sort();
      draw("alpha", {
        type: "boxplot",
        data: {
          labels: names,
          datasets: [{ label: metric, data: names.map(function (n) { return groups[n]; }),
            backgroundColor: "rgba(0, 114, 178, 0.35)", borderColor: "#0072B2", outlierRadius: 3 }]
        },
        options: { plugins: { legend: { display: false } },
          scales: { y: { title: { display: true, text: metric } } } }
      });
      var header = ["sample"].concat(data.group ? [data.group] : [], data.metrics);
      table(root.querySelector('[data-table="alpha"]'), header, data.rows.map(function (r) {
        return [r.sample].concat(data.group ? [r.group] : [], data.metrics.map(function (m) { return r[m]; }));
      }));
    });
  }

  function ordination(root, form, current) {
    var query = params(form);
    var link = root.querySelector('[data-link="distances"]');
    var linkQuery = new URLSearchParams({ metric: query.get("metric") || "braycurtis",
      pseudocount: query.get("pseudocount") || "1" });
    link.href = root.getAttribute("data-distances-url") + "?" + linkQuery;
    return fetchJson(root.getAttribute("data-ordination-url") + "?" + query).then(function (data) {
      if (!current()) { return; }
      var byGroup = {};
      data.samples.forEach(function (s, i) {
        var key = data.groups ? data.groups[i] : "samples";
        (byGroup[key] = byGroup[key] || []).push({ x: data.coordinates[i][0],
          y: data.coordinates[i].length > 1 ? data.coordinates[i][1] : 0, sample: s });
      });
      var pct = function (i) {
        var p = data.proportion_explained[i];
        return p === undefined ? "" : " (" + (100 * p).toFixed(1) + "%)";
      };
      draw("ordination", {
        type: "scatter",
        data: { datasets: Object.keys(byGroup).sort().map(function (g, i) {
          return { label: g, data: byGroup[g], backgroundColor: colour(i, g), pointRadius: 4 };
        }) },
        options: {
          scales: { x: { title: { display: true, text: "PC1" + pct(0) } },
            y: { title: { display: true, text: "PC2" + pct(1) } } },
          plugins: { tooltip: { callbacks: { label: function (c) { return c.raw.sample; } } } }
        }
      });
      note("ordination", (data.total_samples > data.samples.length
        ? "PCoA of the first " + data.samples.length + " of " + data.total_samples + " samples. "
        : "PCoA of " + data.samples.length + " samples. ") +
        (data.pseudocount ? "Pseudocount " + data.pseudocount + "." : ""));
      table(root.querySelector('[data-table="ordination"]'),
        ["sample"].concat(data.groups ? ["group"] : [], ["PC1", "PC2", "PC3"]),
        data.samples.map(function (s, i) {
          return [s].concat(data.groups ? [data.groups[i]] : [],
            data.coordinates[i].map(function (v) { return v.toFixed(4); }));
        }));
    });
  }

  function init() {
    var root = document.querySelector("[data-abundance]");
    if (!root || !window.Chart) { return; }
    var views = { composition: composition, alpha: alpha, ordination: ordination };
    Object.keys(views).forEach(function (name) {
      var form = root.querySelector('[data-controls="' + name + '"]');
      var latest = 0;
      var run = function () {
        // Answers can arrive out of order: only the answer to the latest change is drawn.
        var mine = ++latest;
        views[name](root, form, function () { return mine === latest; }).catch(function (error) {
          if (mine === latest) { note(name, "Could not draw this chart: " + error.message); }
        });
      };
      form.addEventListener("change", run);
      form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
      run();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
