package security

import (
	"sync"
	"sync/atomic"
)

// KeyRing holds the live KeySet of a keys file and swaps in a new one on Reload. Reading it
// takes no lock, so authenticating never waits for a reload.
type KeyRing struct {
	path string
	mu   sync.Mutex // one Reload at a time, so an older file never replaces a newer one
	keys atomic.Pointer[KeySet]
}

// NewKeyRing loads the keys file at path; its error stops start-up. An empty path means no
// keys file: the ring stays empty and Reload does nothing.
func NewKeyRing(path string) (*KeyRing, error) {
	r := &KeyRing{path: path}
	ks := &KeySet{}
	if path != "" {
		var err error
		if ks, err = LoadKeys(path); err != nil {
			return nil, err
		}
	}
	r.keys.Store(ks)
	return r, nil
}

// Path returns the keys file's path; empty if there is none.
func (r *KeyRing) Path() string { return r.path }

// Keys returns the live key set.
func (r *KeyRing) Keys() *KeySet { return r.keys.Load() }

// Authenticate is Keys().Authenticate(presented).
func (r *KeyRing) Authenticate(presented string) (Key, bool) {
	return r.keys.Load().Authenticate(presented)
}

// Reload re-reads the keys file and, if it is valid, makes it the live set. If it is not, the
// old set stays live and the error (naming the file and the bad entry) is returned for the
// caller to log and count.
func (r *KeyRing) Reload() error {
	if r.path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ks, err := LoadKeys(r.path)
	if err != nil {
		return err
	}
	r.keys.Store(ks)
	return nil
}
