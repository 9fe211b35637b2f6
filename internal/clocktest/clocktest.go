// Package clocktest gives tests a clock they move by hand, for code that takes an injected
// now func() time.Time (rate limits, IP blocks, the audit log).
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time source that only moves when Advance is called. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock reading t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
