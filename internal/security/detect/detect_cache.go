package detect

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// maxCachedValue is the longest header value the clean cache remembers.
const maxCachedValue = 1024

// cleanCache remembers header values that were inspected and found clean. It is a direct-mapped
// table of atomic pointers: a lookup is a hash, a load and a compare, with no lock shared by
// requests; a miss that proves clean replaces whatever the slot held. Only clean verdicts are
// cached, so a collision or an eviction can cost a re-inspection, never a missed attack.
type cleanCache struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[cleanEntry]
}

type cleanEntry struct {
	name, value string
}

// newCleanCache returns a cache of at least size slots (a power of two).
func newCleanCache(size int) *cleanCache {
	n := 1
	for n < size {
		n <<= 1
	}
	return &cleanCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), slots: make([]atomic.Pointer[cleanEntry], n)}
}

// lookup reports whether value of header name is known clean, and returns its hash for store.
// A nil cache knows nothing.
func (c *cleanCache) lookup(name, value string) (uint64, bool) {
	if c == nil || len(value) > maxCachedValue {
		return 0, false
	}
	h := maphash.String(c.seed, value) ^ uint64(len(name))<<56
	e := c.slots[h&c.mask].Load()
	return h, e != nil && e.value == value && e.name == name
}

// store remembers that value of header name, whose lookup returned h, is clean.
func (c *cleanCache) store(h uint64, name, value string) {
	if c == nil || len(value) > maxCachedValue {
		return
	}
	c.slots[h&c.mask].Store(&cleanEntry{name: strings.Clone(name), value: strings.Clone(value)})
}
