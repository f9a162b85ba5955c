// Swagger UI over this server's /openapi.json. Everything is served locally: no CDN, no
// validator badge (it would call validator.swagger.io).
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {
      document.body.dataset.docsRendered = "true";
    },
  });
});
