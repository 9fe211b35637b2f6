package apikey

import (
	"sync"
	"sync/atomic"
)

// Ring holds the live Set of a keys file and swaps in a new one on Reload. Reading it
// takes no lock, so authenticating never waits for a reload.
type Ring struct {
	path string
	mu   sync.Mutex // one Reload at a time, so an older file never replaces a newer one
	keys atomic.Pointer[Set]
}

// NewRing loads the keys file at path; its error stops start-up. An empty path means no
// keys file: the ring stays empty and Reload does nothing.
func NewRing(path string) (*Ring, error) {
	r := &Ring{path: path}
	ks := &Set{}
	if path != "" {
		var err error
		if ks, err = Load(path); err != nil {
			return nil, err
		}
	}
	r.keys.Store(ks)
	return r, nil
}

// Path returns the keys file's path; empty if there is none.
func (r *Ring) Path() string { return r.path }

// Keys returns the live key set.
func (r *Ring) Keys() *Set { return r.keys.Load() }

// Authenticate is Keys().Authenticate(presented).
func (r *Ring) Authenticate(presented string) (Key, bool) {
	return r.keys.Load().Authenticate(presented)
}

// Reload re-reads the keys file and, if it is valid, makes it the live set. If it is not, the
// old set stays live and the error (naming the file and the bad entry) is returned for the
// caller to log and count.
func (r *Ring) Reload() error {
	if r.path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ks, err := Load(r.path)
	if err != nil {
		return err
	}
	r.keys.Store(ks)
	return nil
}
