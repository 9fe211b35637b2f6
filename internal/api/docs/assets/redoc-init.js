// Starts ReDoc on #redoc. The page names the OpenAPI document in a data
// attribute so that it needs no inline script, which its
// Content-Security-Policy forbids.
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  // ReDoc's default theme names Roboto and Montserrat, which pages usually
  // load from a font CDN; these pages load nothing from elsewhere, so use the
  // fonts the reader already has.
  var sans =
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var mono = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace';
  Redoc.init(
    el.dataset.specUrl,
    {
      theme: {
        typography: {
          fontFamily: sans,
          headings: { fontFamily: sans },
          code: { fontFamily: mono },
        },
      },
    },
    el,
  );
})();
