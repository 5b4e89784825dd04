// Renders the OpenAPI document with the vendored Swagger UI (no CDN: servers may be offline).
(function () {
  "use strict";
  var target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: target.getAttribute("data-spec"),
    domNode: target,
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
})();
