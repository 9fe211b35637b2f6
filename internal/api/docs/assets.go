package docs

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Assets returns the handler of the files the documentation pages load, by
// their names under assets/ (mount it with http.StripPrefix). It sets the
// Content-Type and an ETag, answers If-None-Match and Range, and gzips a file
// for clients that accept it. A request that names the file's current version
// (?v=, as the pages do) may be cached for a year; any other must revalidate.
// An unknown file is answered by notFound. With dirs, only the files under those directories
// of assets/ (named with a trailing slash) are served.
func Assets(notFound http.Handler, dirs ...string) http.Handler {
	fsys := files()
	s := &assetServer{files: make(map[string]*asset), notFound: notFound}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if len(dirs) > 0 && !slices.ContainsFunc(dirs, func(dir string) bool { return strings.HasPrefix(name, dir) }) {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		s.files[name] = &asset{
			data:        data,
			version:     version(data),
			contentType: contentType(name),
		}
		return nil
	})
	if err != nil {
		panic(err) // assets/ is embedded at compile time
	}
	return s
}

type assetServer struct {
	files    map[string]*asset // read-only after Assets returns
	notFound http.Handler
}

type asset struct {
	data        []byte
	version     string
	contentType string

	gzipOnce sync.Once
	gzipped  []byte // nil when gzip would not make it smaller
}

// gzipFrom is the size below which gzip saves too little to bother.
const gzipFrom = 1024

// gzipData compresses the asset on first use, not at start-up: most
// processes never serve the docs.
func (a *asset) gzipData() []byte {
	a.gzipOnce.Do(func() {
		if len(a.data) < gzipFrom {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		zw.Write(a.data)                                         // a bytes.Buffer does not fail
		zw.Close()
		if buf.Len() < len(a.data) {
			a.gzipped = buf.Bytes()
		}
	})
	return a.gzipped
}

func (s *assetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		s.notFound.ServeHTTP(w, r)
		return
	}

	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}

	body, etag := a.data, `"`+a.version+`"`
	if gz := a.gzipData(); gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = gz, `"`+a.version+`-gzip"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// contentType is set by name, not from the system's MIME tables, so that it
// is the same on every machine.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default: // licence texts and VERSIONS
		return "text/plain; charset=utf-8"
	}
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, param, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		key, value, _ := strings.Cut(param, "=")
		if strings.TrimSpace(key) != "q" {
			return true
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return err == nil && q > 0
	}
	return false
}
