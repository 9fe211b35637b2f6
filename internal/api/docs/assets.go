package docs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
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
		s.files[name] = &asset{fsys: fsys, name: name, contentType: contentType(name)}
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

// An asset is read from the binary when it is served, never copied: the files weigh a few
// megabytes that most processes never serve.
type asset struct {
	fsys        fs.FS
	name        string
	contentType string

	versionOnce sync.Once
	version     string
	err         error

	gzipOnce sync.Once
	gzipped  []byte // nil when gzip would not make it smaller
}

// open returns the asset's content, which is read in place.
func (a *asset) open() (io.ReadSeeker, error) {
	f, err := a.fsys.Open(a.name)
	if err != nil {
		return nil, err
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		return nil, fmt.Errorf("docs: asset %s cannot seek", a.name)
	}
	return rs, nil
}

// versionOf computes the asset's version on first use.
func (a *asset) versionOf() (string, error) {
	a.versionOnce.Do(func() { a.version, a.err = fileVersion(a.fsys, a.name) })
	return a.version, a.err
}

// gzipFrom is the size below which gzip saves too little to bother.
const gzipFrom = 1024

// gzipData compresses the asset on first use, not at start-up: most
// processes never serve the docs.
func (a *asset) gzipData() []byte {
	a.gzipOnce.Do(func() {
		f, err := a.open()
		if err != nil {
			return // served uncompressed, where the error shows
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		n, err := io.Copy(zw, f)                                 // the file is in memory and a bytes.Buffer does not fail
		zw.Close()
		if err == nil && n >= gzipFrom && int64(buf.Len()) < n {
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

	version, err := a.versionOf()
	var body io.ReadSeeker
	if err == nil {
		body, err = a.open()
	}
	if err != nil { // the files are embedded at compile time
		http.Error(w, "asset unreadable", http.StatusInternalServerError)
		return
	}

	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}

	etag := `"` + version + `"`
	if gz := a.gzipData(); gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = bytes.NewReader(gz), `"`+version+`-gzip"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, body)
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
