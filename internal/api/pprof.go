package api

import (
	"net/http"
	"net/http/pprof"
)

// pprofPrefix is where the Go profiler is served under PPROF=true. It is a tool for the
// operator, not part of the API: it is in neither the route table nor the OpenAPI document.
const pprofPrefix = "/debug/pprof/"

// pprofHandler serves net/http/pprof's pages and profiles on a mux of its own (the package
// also registers them on http.DefaultServeMux, which fraudguard never serves).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(pprofPrefix, pprof.Index) // the index, and every named profile: heap, allocs, goroutine, block, mutex ...
	mux.HandleFunc(pprofPrefix+"cmdline", pprof.Cmdline)
	mux.HandleFunc(pprofPrefix+"profile", pprof.Profile)
	mux.HandleFunc(pprofPrefix+"symbol", pprof.Symbol)
	mux.HandleFunc(pprofPrefix+"trace", pprof.Trace)
	return mux
}
