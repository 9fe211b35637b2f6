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
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

// fileVersion names the content of the file name in fsys, read in place: its pages ask for it
// as ?v=version, so a browser may cache it for good, and it is the asset's ETag.
func fileVersion(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
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

// page is a documentation page, rendered on its first request: naming its assets by version
// reads them, megabytes that most processes never serve.
type page struct {
	tmpl   *template.Template
	data   any
	policy string

	once sync.Once
	body []byte
	err  error
}

// newPageTemplate parses text, whose {{asset "name"}} gives the URL of an asset under
// assetsPrefix with its version.
func newPageTemplate(text, assetsPrefix string) *template.Template {
	fsys := files()
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			v, err := fileVersion(fsys, name)
			if err != nil {
				return "", err
			}
			return assetsPrefix + name + "?v=" + v, nil
		},
	}
	return template.Must(template.New("page").Funcs(funcs).Parse(text))
}

func newPage(text, specURL, assetsPrefix, extraPolicy string) *page {
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
	return &page{tmpl: newPageTemplate(text, assetsPrefix), data: struct{ SpecURL string }{specURL}, policy: policy}
}

// render returns the page's HTML, rendering it on first use.
func (p *page) render() ([]byte, error) {
	p.once.Do(func() {
		var buf bytes.Buffer
		if p.err = p.tmpl.Execute(&buf, p.data); p.err == nil {
			p.body = buf.Bytes()
		}
	})
	return p.body, p.err
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
	body, err := p.render()
	if err != nil { // the templates and assets are fixed at compile time
		http.Error(w, "page unrenderable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.policy)
	h.Set("X-Content-Type-Options", "nosniff")
	// The page is tiny and names its assets by version, so it is always
	// fetched afresh and a new build's assets are picked up at once.
	h.Set("Cache-Control", "no-cache")
	w.Write(body)
}
