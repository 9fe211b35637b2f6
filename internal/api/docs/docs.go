// Package docs serves the browser pages of the API — the documentation pages,
// Swagger UI and ReDoc, and the dashboard — and the files they load.
// Everything is embedded in the binary: the pages work with no network access
// and their Content-Security-Policy keeps the browser from loading anything
// from another host.
//
// The third-party files under assets/ (Swagger UI, ReDoc, Chart.js) come from
// npm at the versions pinned in scripts/docs-assets.sh, which also writes
// assets/VERSIONS.
package docs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed assets
var embedded embed.FS

// files is the embedded assets/ directory, so that names are as served.
func files() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // assets/ is embedded at compile time
	}
	return sub
}

// version names the content of an asset: its pages ask for it as ?v=version,
// so a browser may cache it for good, and it is the asset's ETag.
func version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

const swaggerHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fraudguard API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{asset "swagger-ui-dist/swagger-ui.css"}}">
<link rel="stylesheet" href="{{asset "docs.css"}}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{{.SpecURL}}"></div>
<script src="{{asset "swagger-ui-dist/swagger-ui-bundle.js"}}"></script>
<script src="{{asset "swagger-init.js"}}"></script>
</body>
</html>
`

const redocHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fraudguard API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{asset "docs.css"}}">
</head>
<body>
<div id="redoc" data-spec-url="{{.SpecURL}}"></div>
<script src="{{asset "redoc/redoc.standalone.js"}}"></script>
<script src="{{asset "redoc-init.js"}}"></script>
</body>
</html>
`

// SwaggerPage returns the handler of the Swagger UI page for the OpenAPI
// document at specURL, loading its files from assetsPrefix (where Assets is
// mounted, with a trailing slash). Both are normally paths on the same server;
// the page's Content-Security-Policy allows the host of either if it is an
// absolute URL, and no other.
func SwaggerPage(specURL, assetsPrefix string) http.Handler {
	return newPage(swaggerHTML, specURL, assetsPrefix, "")
}

// RedocPage returns the handler of the ReDoc page for the OpenAPI document at
// specURL, loading its files from assetsPrefix, on the same terms as
// SwaggerPage.
func RedocPage(specURL, assetsPrefix string) http.Handler {
	// ReDoc runs its search index in a worker that it builds from a blob.
	return newPage(redocHTML, specURL, assetsPrefix, "; worker-src blob:")
}

// page is a documentation page, rendered once.
type page struct {
	body   []byte
	policy string
}

func newPage(text, specURL, assetsPrefix, extraPolicy string) *page {
	fsys := files()
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return "", err
			}
			return assetsPrefix + name + "?v=" + version(data), nil
		},
	}
	tmpl := template.Must(template.New("page").Funcs(funcs).Parse(text))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ SpecURL string }{specURL}); err != nil {
		panic(fmt.Sprintf("docs: render page: %v", err)) // the templates and assets are fixed at compile time
	}

	assets, spec := origin(assetsPrefix), origin(specURL)
	// Swagger UI and ReDoc set inline styles (ReDoc through styled-components)
	// and use data: images; nothing else is inline.
	policy := "default-src 'none'" +
		"; script-src 'self'" + assets +
		"; style-src 'self'" + assets + " 'unsafe-inline'" +
		"; img-src 'self' data:" +
		"; connect-src 'self'" + spec +
		"; base-uri 'none'; form-action 'self'; frame-ancestors 'self'" +
		extraPolicy
	return &page{body: buf.Bytes(), policy: policy}
}

// origin gives the host of an absolute URL as a CSP source, with a leading
// space, and "" for a path on this server.
func origin(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Scheme == "" {
		return " " + u.Host
	}
	return " " + strings.ToLower(u.Scheme) + "://" + u.Host
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.policy)
	h.Set("X-Content-Type-Options", "nosniff")
	// The page is tiny and names its assets by version, so it is always
	// fetched afresh and a new build's assets are picked up at once.
	h.Set("Cache-Control", "no-cache")
	w.Write(p.body)
}
