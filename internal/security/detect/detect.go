package detect

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Rules a Finding can name.
const (
	RuleSQLi        = "sqli"
	RuleXSS         = "xss"
	RuleTraversal   = "traversal"
	RuleCmdi        = "cmdi"
	RuleCRLF        = "crlf"
	RuleScanner     = "scanner"
	RuleHeaderFlood = "header_flood"
	RuleHeaderSize  = "header_size"
)

// Defaults of Options.
const (
	DefaultMaxHeaders     = 100
	DefaultMaxHeaderBytes = 8 << 10
	DefaultCacheSize      = 4096
)

// maxEvidence caps the bytes of a value quoted in Finding.Evidence, maxLocationName the bytes
// of a query parameter or header name quoted in Finding.Location.
const (
	maxEvidence     = 64
	maxLocationName = 48
)

// Finding is one attack indicator found in a request.
type Finding struct {
	// Rule is what fired: RuleSQLi, RuleXSS, RuleTraversal (which covers well-known system
	// files and file-inclusion wrappers too), RuleCmdi (shell command injection), RuleCRLF
	// (header injection), RuleScanner, RuleHeaderFlood or RuleHeaderSize.
	Rule string
	// Location is where: "path", "query:NAME", "header:NAME", "header" (for a flood of
	// them), or the location the caller of InspectString passed, such as "json:FIELD".
	Location string
	// Evidence is a short excerpt of the offending value: at most 64 bytes of it, with
	// control bytes and invalid UTF-8 replaced, so that it is safe to log. The header rules
	// give the count or the size instead, never the value.
	Evidence string
}

// Options tune a Detector. The zero value is the defaults.
type Options struct {
	// MaxHeaders is the most header fields a request may carry (0: 100). More is a header
	// flood.
	MaxHeaders int
	// MaxHeaderBytes is the longest a single header value may be (0: 8 KiB).
	MaxHeaderBytes int
	// CacheSize is how many clean header values are remembered, so that the User-Agent a
	// client sends with every request is parsed once (0: 4096; negative: no cache).
	CacheSize int
	// SkipHeaders names further X-* headers that are not scanned for injections, in addition
	// to the secrets that never are (X-Api-Key, X-Auth-Token, X-Csrf-Token, X-Xsrf-Token).
	SkipHeaders []string
}

// Detector inspects requests and decoded JSON strings for attack indicators: SQL injection
// (libinjection and rules for what it misses, NoSQL operators included) and cross-site
// scripting (libinjection, injected markup, event handlers, script URIs, DOM sinks), shell
// command injection (with template expressions, server-side includes and injected mail
// commands), header (CRLF) injection, path traversal, null bytes, well-known system files,
// absolute paths into system directories and file-inclusion wrappers, scanner user agents
// (by tool name, or by the words tools name themselves with where a product name stands),
// header floods and oversized headers.
// Each value is inspected as sent and normalised (decoded again while escapes remain, and
// folded: see fold), so that an encoding cannot hide what a lenient server would read. It is
// safe for concurrent use; its only state is a lock-free cache of header values already found
// clean.
//
// What it reads of a request: the path (as sent and unescaped), every query parameter name
// and value (unescaped, and unescaped again while %xx sequences remain), and the headers
// User-Agent, Referer, Cookie (each cookie's value), X-Forwarded-For and every other X-*
// header. X-* headers that carry secrets (X-Api-Key and the like) are not scanned: random
// tokens produce false positives, and a secret must not end up quoted in a log. They still
// count towards the header flood and size limits.
//
// Strings made only of letters, digits and _.:- (identifiers, numbers, timestamps, addresses)
// are passed without running libinjection: they cannot carry an injection.
type Detector struct {
	maxHeaders     int
	maxHeaderBytes int
	skip           map[string]bool
	cache          *cleanCache
}

// New returns a Detector with opts.
func New(opts Options) *Detector {
	d := &Detector{
		maxHeaders:     opts.MaxHeaders,
		maxHeaderBytes: opts.MaxHeaderBytes,
		skip: map[string]bool{
			"X-Api-Key":    true,
			"X-Auth-Token": true,
			"X-Csrf-Token": true,
			"X-Xsrf-Token": true,
		},
	}
	if d.maxHeaders <= 0 {
		d.maxHeaders = DefaultMaxHeaders
	}
	if d.maxHeaderBytes <= 0 {
		d.maxHeaderBytes = DefaultMaxHeaderBytes
	}
	for _, h := range opts.SkipHeaders {
		d.skip[textproto.CanonicalMIMEHeaderKey(h)] = true
	}
	switch {
	case opts.CacheSize == 0:
		d.cache = newCleanCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		d.cache = newCleanCache(opts.CacheSize)
	}
	return d
}

// InspectRequest reports the first attack indicator found in r, if any. It reads only the
// request line and headers, never the body. The checks run in a fixed order: header count and
// sizes, User-Agent, path, query, Referer, Cookie, X-Forwarded-For, other X-* headers.
func (d *Detector) InspectRequest(r *http.Request) (Finding, bool) {
	if f, ok := d.inspectHeaderShape(r.Header); ok {
		return f, true
	}
	if f, ok := d.inspectHeaderValues(r.Header, headerUserAgent, "User-Agent"); ok {
		return f, true
	}
	if r.URL != nil {
		if rule, ev, ok := d.inspectPath(r.URL.Path, r.URL.RawPath); ok {
			return Finding{Rule: rule, Location: "path", Evidence: ev}, true
		}
		if f, ok := inspectQuery(r.URL.RawQuery, ""); ok {
			return f, true
		}
	}
	for _, h := range [...]struct {
		kind headerKind
		name string
	}{
		{headerReferer, "Referer"},
		{headerCookie, "Cookie"},
		{headerList, "X-Forwarded-For"},
	} {
		if f, ok := d.inspectHeaderValues(r.Header, h.kind, h.name); ok {
			return f, true
		}
	}
	for name, values := range r.Header {
		if !isCustomHeader(name) || d.skip[textproto.CanonicalMIMEHeaderKey(name)] {
			continue
		}
		for _, v := range values {
			if f, ok := d.inspectHeader(headerCustom, name, v); ok {
				return f, true
			}
		}
	}
	return Finding{}, false
}

func (d *Detector) inspectHeaderValues(h http.Header, kind headerKind, name string) (Finding, bool) {
	for _, v := range h[name] {
		if f, ok := d.inspectHeader(kind, name, v); ok {
			return f, true
		}
	}
	return Finding{}, false
}

// InspectString reports whether value, a decoded JSON string or an object key found at
// location, carries an attack indicator. The Finding's Location is location as given; its
// Evidence is a copy, so value may be a buffer the caller reuses.
func (d *Detector) InspectString(location, value string) (Finding, bool) {
	if rule, ev, ok := inspectValue(value, false); ok {
		return Finding{Rule: rule, Location: location, Evidence: ev}, true
	}
	return Finding{}, false
}

// inspectHeaderShape applies the header flood and size limits to every header, scanned or not.
func (d *Detector) inspectHeaderShape(h http.Header) (Finding, bool) {
	n := 0
	bigName, bigLen := "", 0
	for name, values := range h {
		n += len(values)
		for _, v := range values {
			if len(v) > d.maxHeaderBytes && len(v) > bigLen {
				bigName, bigLen = name, len(v)
			}
		}
	}
	if n > d.maxHeaders {
		return Finding{
			Rule:     RuleHeaderFlood,
			Location: "header",
			Evidence: strconv.Itoa(n) + " header fields, limit " + strconv.Itoa(d.maxHeaders),
		}, true
	}
	if bigLen > 0 {
		return Finding{
			Rule:     RuleHeaderSize,
			Location: "header:" + sanitize(bigName, maxLocationName),
			Evidence: strconv.Itoa(bigLen) + " bytes, limit " + strconv.Itoa(d.maxHeaderBytes),
		}, true
	}
	return Finding{}, false
}

// headerKind says how a header is scanned.
type headerKind uint8

const (
	headerUserAgent headerKind = iota
	headerReferer
	headerCookie
	headerList   // X-Forwarded-For: comma-separated addresses
	headerCustom // any other X-* header
)

// isCustomHeader reports whether name is an X-* header other than X-Forwarded-For, which is
// scanned on its own.
func isCustomHeader(name string) bool {
	return len(name) > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-' &&
		!strings.EqualFold(name, "X-Forwarded-For")
}

// inspectHeader inspects one value of a scanned header. Values found clean are remembered, so
// that the same User-Agent or Referer sent again costs a hash and a compare.
func (d *Detector) inspectHeader(kind headerKind, name, v string) (Finding, bool) {
	if v == "" || (kind != headerUserAgent && isPlainList(v)) {
		return Finding{}, false
	}
	h, cached := d.cache.lookup(name, v)
	if cached {
		return Finding{}, false
	}
	var (
		rule, ev string
		hit      bool
	)
	switch kind {
	case headerUserAgent:
		if tok, ok := scannerToken(v); ok {
			return Finding{Rule: RuleScanner, Location: "header:User-Agent", Evidence: tok + ": " + evidence(v)}, true
		}
		rule, ev, hit = inspectValue(v, false)
		if !hit {
			if tok, ok := scannerVocabularyToken(v); ok {
				return Finding{Rule: RuleScanner, Location: "header:User-Agent", Evidence: tok + ": " + evidence(v)}, true
			}
		}
	case headerReferer:
		rule, ev, hit = inspectReferer(v)
	case headerCookie:
		rule, ev, hit = inspectCookies(v)
	case headerList:
		rule, ev, hit = inspectList(v)
	default:
		rule, ev, hit = inspectValue(v, false)
	}
	if hit {
		return Finding{Rule: rule, Location: "header:" + sanitize(name, maxLocationName), Evidence: ev}, true
	}
	d.cache.store(h, name, v)
	return Finding{}, false
}

// inspectReferer inspects a URL: the part before the query as one value, then each query
// parameter as the request's own are.
func inspectReferer(v string) (rule, ev string, hit bool) {
	base, query, hasQuery := strings.Cut(v, "?")
	if rule, ev, hit = inspectPathValue(base); hit {
		return rule, ev, true
	}
	if hasQuery {
		if f, ok := inspectQuery(query, "header:Referer"); ok {
			return f.Rule, f.Evidence, true
		}
	}
	return "", "", false
}

// inspectCookies inspects each cookie's value (and a name-only crumb as a value).
func inspectCookies(v string) (rule, ev string, hit bool) {
	for v != "" {
		var crumb string
		crumb, v, _ = strings.Cut(v, ";")
		crumb = strings.TrimSpace(crumb)
		_, value, found := strings.Cut(crumb, "=")
		if !found {
			value = crumb
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		// Cookie values are often form-encoded, '+' for a space, as PHP and others decode them.
		if rule, ev, hit = inspectValue(value, true); hit {
			return rule, ev, true
		}
	}
	return "", "", false
}

// inspectList inspects each element of a comma-separated list, then the whole, since an
// injection may itself contain commas.
func inspectList(v string) (rule, ev string, hit bool) {
	rest := v
	for rest != "" {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		if rule, ev, hit = inspectValue(strings.TrimSpace(item), false); hit {
			return rule, ev, true
		}
	}
	return inspectValue(strings.TrimSpace(v), false)
}

// inspectQuery inspects every name and value of a raw query string. location, when not empty,
// is used for every finding instead of "query:NAME".
func inspectQuery(raw, location string) (Finding, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		rule, ev, hit := inspectValue(name, true)
		if !hit {
			rule, ev, hit = inspectValue(value, true)
		}
		if hit {
			loc := location
			if loc == "" {
				loc = "query:" + sanitize(queryUnescapeLenient(name), maxLocationName)
			}
			return Finding{Rule: rule, Location: loc, Evidence: ev}, true
		}
	}
	return Finding{}, false
}

// inspectPath inspects a request path: unescaped (as net/url gives it) and as sent.
func (d *Detector) inspectPath(path, rawPath string) (rule, ev string, hit bool) {
	if rule, ev, hit = inspectPathValue(path); hit {
		return rule, ev, true
	}
	if rawPath != "" && rawPath != path {
		return inspectPathValue(rawPath)
	}
	return "", "", false
}

// maxPathTails bounds how many suffixes of a path are given to libinjection, and
// maxPathTailBytes the length of a path whose suffixes are: beyond it, the whole is inspected
// once, so that a long path cannot multiply the work.
const (
	maxPathTails     = 16
	maxPathTailBytes = 4096
)

// inspectPathValue inspects a path or URL: for traversal as a whole, and for injections the
// whole and each suffix that starts after a slash, so that an injection is seen from its start
// whichever segment it begins in, and whether or not it contains slashes itself. A line break
// in a path can only be an injection.
func inspectPathValue(p string) (rule, ev string, hit bool) {
	if isPlainPath(p) {
		// A number and an SQL comment as the last segment ("/items/1--") is the one injection
		// a plain path can hold.
		if k := strings.LastIndexByte(p, '/'); isNumberThenComment(p[k+1:]) {
			return RuleSQLi, evidence(p), true
		}
		return "", "", false
	}
	whole := checkTraversal | checkInjection | checkPattern | checkLooseBreaks
	if !hasPathSlash(p) {
		whole |= checkOwnValue // a single segment: a value of its own
	}
	if rule, ev, hit = inspectVariants(p, false, whole); hit {
		return rule, ev, true
	}
	if len(p) > maxPathTailBytes {
		return "", "", false
	}
	tails := 0
	for i := 0; i < len(p) && tails < maxPathTails; i++ {
		if p[i] != '/' || i+1 == len(p) {
			continue
		}
		tails++
		checks := checkInjection | checkPattern | checkLooseBreaks
		if !hasPathSlash(p[i+1:]) {
			checks |= checkOwnValue // the last segment: a value of its own
		}
		if rule, ev, hit = inspectVariants(p[i+1:], false, checks); hit {
			return rule, ev, true
		}
	}
	return "", "", false
}

// hasPathSlash reports whether p holds a '/' that separates segments, not one of a /* */
// comment.
func hasPathSlash(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		if i+1 < len(p) && p[i+1] == '*' || i > 0 && p[i-1] == '*' {
			continue
		}
		return true
	}
	return false
}
