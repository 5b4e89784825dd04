// window.fairdbTable(container, header, rows): the table that stands beside a chart, with the
// same numbers, for screen readers and for copying.
(function () {
  "use strict";
  window.fairdbTable = function (container, header, rows) {
    var t = document.createElement("table");
    var head = t.createTHead().insertRow();
    header.forEach(function (h) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.appendChild(th);
    });
    var body = t.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      r.forEach(function (v) {
        var td = tr.insertCell();
        td.textContent = v === null || v === undefined ? "" : String(v);
      });
    });
    container.replaceChildren(t);
  };
})();
