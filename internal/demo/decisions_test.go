package demo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLookupWaitsASecondAtMost plays a server that never stores the decision: the look-up
// tries again until a second after the answer, then fails; a 403 turns into a skip that
// the later read steps share.
func TestLookupWaitsASecondAtMost(t *testing.T) {
	status := http.StatusNotFound
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		code := map[int]string{http.StatusNotFound: "NOT_FOUND", http.StatusForbidden: "FORBIDDEN"}[status]
		w.Write([]byte(`{"error_code":"` + code + `","message":"no","details":[],"request_id":"r1"}`))
	}))
	defer srv.Close()
	d, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	answered := time.Now().Add(-700 * time.Millisecond)
	_, tries, err := d.lookup(context.Background(), "demo-x-1", answered)
	if took := time.Since(answered); err == nil || !strings.Contains(err.Error(), "not readable") || took < readableWithin || took > readableWithin+500*time.Millisecond || tries < 3 {
		t.Errorf("got %v after %v and %d tries, want a failure just after %v, having tried again", err, took, tries, readableWithin)
	}

	status = http.StatusForbidden
	_, _, err = d.lookup(context.Background(), "demo-x-1", time.Now())
	var sk skipError
	if !errors.As(err, &sk) || d.canRead() {
		t.Errorf("got %v (can read: %v), want a skip and no more reads", err, d.canRead())
	}
	if _, err := stepDecisionList(context.Background(), d); !errors.As(err, &sk) {
		t.Errorf("the list step after a 403: got %v, want a skip", err)
	}
}
