// Upload with a progress bar: bytes sent, then rows checked (polled), then go to the result.
// Without JavaScript the form posts normally and the server answers with the same pages.
(function () {
  "use strict";

  function newToken() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    return String(Date.now()) + String(Math.random()).slice(2);
  }

  function showDocument(html) {
    document.open();
    document.write(html);
    document.close();
  }

  function attach(form) {
    var box = form.querySelector("[data-progress]");
    var bar = box.querySelector("progress");
    var status = box.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");
    var input = form.querySelector("input[type=file]");

    form.addEventListener("submit", function (event) {
      if (!input.files || input.files.length === 0) {
        return; // the server explains what is missing
      }
      event.preventDefault();
      var token = newToken();
      form.querySelector("input[name=token]").value = token;
      var pollUrl = form.getAttribute("data-progress-url").replace("TOKEN", token);
      var polling = null;
      box.hidden = false;
      button.disabled = true;
      status.textContent = "Uploading…";

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round((100 * e.loaded) / e.total);
          bar.value = pct;
          status.textContent = "Uploading… " + pct + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server checks
        status.textContent = "Checking every cell…";
        polling = window.setInterval(function () {
          fetch(pollUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (p) {
              if (p && p.rows_done) {
                status.textContent = "Checking and storing… " +
                  p.rows_done.toLocaleString() + " rows checked";
              }
            })
            .catch(function () {});
        }, 700);
      });
      xhr.addEventListener("load", function () {
        if (polling) { window.clearInterval(polling); }
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (type.indexOf("json") !== -1) {
          var body = JSON.parse(xhr.responseText);
          if (body.redirect) { window.location.assign(body.redirect); return; }
          if (body.report) { window.location.assign(body.report); return; }
          form.submit(); // form errors: let the server render them
          return;
        }
        showDocument(xhr.responseText);
      });
      xhr.addEventListener("error", function () {
        if (polling) { window.clearInterval(polling); }
        button.disabled = false;
        status.textContent = "The upload was interrupted. Check your connection and try again.";
      });
      xhr.send(new FormData(form));
    });
  }

  document.querySelectorAll("[data-upload-form]").forEach(attach);
})();
