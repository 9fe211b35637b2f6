package client

import (
	"net/http"
	"testing"
	"time"
)

func TestPace(t *testing.T) {
	tests := []struct {
		name             string
		limit, remaining string
		want             time.Duration
	}{
		{"no headers", "", "", 500 * time.Millisecond},
		{"plenty left", "100", "50", 500 * time.Millisecond},
		{"under half left", "100", "49", 1200 * time.Millisecond},
		{"slow poll already", "1000", "0", 500 * time.Millisecond},
		{"bad headers", "x", "1", 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.limit != "" {
				h.Set("RateLimit-Limit", tc.limit)
				h.Set("RateLimit-Remaining", tc.remaining)
			}
			if got := pace(500*time.Millisecond, h); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
