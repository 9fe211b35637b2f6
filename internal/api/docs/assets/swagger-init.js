// Starts Swagger UI on #swagger-ui. The page names the OpenAPI document in a
// data attribute so that it needs no inline script, which its
// Content-Security-Policy forbids.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // The default sends the spec to validator.swagger.io for a badge.
    validatorUrl: null,
  });
})();
