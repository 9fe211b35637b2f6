package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Scope is a permission an API key grants.
type Scope string

// The scopes a key can have. They are independent: admin does not imply predict.
const (
	ScopePredict Scope = "predict" // score transactions (/predict, /predict/batch)
	ScopeBatch   Scope = "batch"   // submit and read batch jobs
	ScopeAdmin   Scope = "admin"   // admin endpoints: reloads, IP blocks, the audit log
	ScopeRead    Scope = "read"    // read the decision log and the live model's quality
)

// allScopes lists every scope; its order is the bit order of ScopeSet and the order names are
// printed in.
func allScopes() []Scope { return []Scope{ScopePredict, ScopeBatch, ScopeAdmin, ScopeRead} }

// ScopeSet is a set of scopes. The zero value is empty.
type ScopeSet uint8

// AllScopes is the set of every scope, which the admin key has.
const AllScopes ScopeSet = 1<<4 - 1

func scopeBit(s Scope) ScopeSet {
	for i, known := range allScopes() {
		if s == known {
			return 1 << i
		}
	}
	return 0
}

// ParseScopes returns the set of the named scopes. Names are trimmed and lower-cased; an
// unknown name is an error that names it and lists the known ones.
func ParseScopes(names []string) (ScopeSet, error) {
	var set ScopeSet
	for _, n := range names {
		b := scopeBit(Scope(strings.ToLower(strings.TrimSpace(n))))
		if b == 0 {
			return 0, fmt.Errorf("unknown scope %q (known: predict, batch, admin, read)", n)
		}
		set |= b
	}
	return set, nil
}

// Has reports whether the set holds scope.
func (s ScopeSet) Has(scope Scope) bool {
	b := scopeBit(scope)
	return b != 0 && s&b != 0
}

// List returns the scopes in the set, in the order predict, batch, admin, read.
func (s ScopeSet) List() []Scope {
	var out []Scope
	for _, sc := range allScopes() {
		if s.Has(sc) {
			out = append(out, sc)
		}
	}
	return out
}

// String returns the scopes comma-separated, such as "predict,batch".
func (s ScopeSet) String() string {
	names := make([]string, 0, 4)
	for _, sc := range s.List() {
		names = append(names, string(sc))
	}
	return strings.Join(names, ",")
}

// Key is an authenticated API key: who it is and what it may do. It never holds the key itself.
type Key struct {
	Name   string
	Scopes ScopeSet
	// RateLimitPerMinute is the key's own request budget; 0 means the global default.
	RateLimitPerMinute int
}

// Has reports whether the key has scope.
func (k Key) Has(scope Scope) bool { return k.Scopes.Has(scope) }

// Prefix starts every generated key, so a leaked key is easy to recognise (and to scan for).
const Prefix = "fg_"

// Generate returns a new API key: Prefix and 32 bytes from random in unpadded base64url.
// A nil random means crypto/rand.
func Generate(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return Prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Hash returns the lower-case hex SHA-256 of key, the form a keys file stores.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Set is an immutable set of API keys, held as SHA-256 hashes. A nil *Set holds no keys.
type Set struct {
	keys []Key
	sums [][sha256.Size]byte
}

// NewSet checks entries (see Entry for the rules) and returns their set. The error names
// the first bad entry by position and name.
func NewSet(entries []Entry) (*Set, error) {
	ks := &Set{keys: make([]Key, 0, len(entries)), sums: make([][sha256.Size]byte, 0, len(entries))}
	names := make(map[string]int, len(entries))
	hashes := make(map[[sha256.Size]byte]int, len(entries))
	for i, e := range entries {
		k, sum, err := e.parse()
		if err != nil {
			return nil, entryError(i, e.Name, err)
		}
		// Names differing only in case would read as one key in the logs.
		lower := strings.ToLower(k.Name)
		if j, dup := names[lower]; dup {
			return nil, entryError(i, e.Name, fmt.Errorf("the name is already used by entry %d", j+1))
		}
		if j, dup := hashes[sum]; dup {
			return nil, entryError(i, e.Name, fmt.Errorf("the same key as entry %d (%q)", j+1, entries[j].Name))
		}
		names[lower], hashes[sum] = i, i
		ks.keys = append(ks.keys, k)
		ks.sums = append(ks.sums, sum)
	}
	return ks, nil
}

func entryError(i int, name string, err error) error {
	if name == "" {
		return fmt.Errorf("entry %d: %w", i+1, err)
	}
	return fmt.Errorf("entry %d (%q): %w", i+1, name, err)
}

// Len returns the number of keys in the set.
func (ks *Set) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.keys)
}

// Keys returns the keys of the set, in file order.
func (ks *Set) Keys() []Key {
	if ks == nil {
		return nil
	}
	return append([]Key(nil), ks.keys...)
}

// Authenticate returns the key whose hash matches presented, and whether there is one.
//
// The presented key is hashed once and the hash is compared with every stored hash in constant
// time, without stopping at a match; the index of the match is picked with
// subtle.ConstantTimeSelect. The work done therefore depends only on the length of the presented
// key (which its sender knows) and the number of keys, never on which key matched or how much
// of one did. Comparing hashes rather than keys adds a second guard: even a leaky comparison
// would only reveal how much of a SHA-256 matched, which gives nothing away about a key.
// The one unavoidable signal is whether authentication succeeded at all.
func (ks *Set) Authenticate(presented string) (Key, bool) {
	if ks == nil || presented == "" {
		return Key{}, false
	}
	// A key of usual length is copied to the stack rather than allocated on every request.
	var buf [128]byte
	sum := sha256.Sum256(append(buf[:0], presented...))
	found, idx := 0, 0
	for i := range ks.sums {
		eq := subtle.ConstantTimeCompare(sum[:], ks.sums[i][:])
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	if found == 0 {
		return Key{}, false
	}
	return ks.keys[idx], true
}

// Entry is one key as a keys file holds it. NewSet requires a Name of 1 to 64 letters,
// digits, '.', '_' or '-' that is unique in the file, ignoring case, and is not "admin" (the admin key's name);
// SHA256 as 64 hex digits, unique in the file; at least one known scope; and a
// RateLimitPerMinute from 0 (the global default) to 10,000,000.
type Entry struct {
	Name               string   `yaml:"name" json:"name"`
	SHA256             string   `yaml:"sha256" json:"sha256"`
	Scopes             []string `yaml:"scopes" json:"scopes"`
	RateLimitPerMinute int      `yaml:"rate_limit_per_minute,omitempty" json:"rate_limit_per_minute,omitempty"`
}

// Check reports the first problem with e by the rules above, leaving out the ones that need
// the other entries of a file (unique names and keys).
func (e Entry) Check() error {
	_, _, err := e.parse()
	return err
}

// maxRateLimit matches the largest RATE_LIMIT_PER_MINUTE the configuration accepts.
const maxRateLimit = 10_000_000

// errReservedName is the error for a keys-file entry named like the admin key.
var errReservedName = errors.New(`the name "admin" is reserved for the admin key`)

func (e Entry) parse() (Key, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if err := checkKeyName(e.Name); err != nil {
		return Key{}, sum, err
	}
	h := strings.TrimSpace(e.SHA256)
	if len(h) != 2*sha256.Size {
		return Key{}, sum, fmt.Errorf("sha256 must be 64 hex digits, got %d characters", len(h))
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil {
		return Key{}, sum, errors.New("sha256 must be 64 hex digits (0-9, a-f)")
	}
	if len(e.Scopes) == 0 {
		return Key{}, sum, errors.New("needs at least one scope (predict, batch, admin, read)")
	}
	scopes, err := ParseScopes(e.Scopes)
	if err != nil {
		return Key{}, sum, err
	}
	if e.RateLimitPerMinute < 0 || e.RateLimitPerMinute > maxRateLimit {
		return Key{}, sum, fmt.Errorf("rate_limit_per_minute must be from 0 (the global default) to %d, got %d", maxRateLimit, e.RateLimitPerMinute)
	}
	return Key{Name: e.Name, Scopes: scopes, RateLimitPerMinute: e.RateLimitPerMinute}, sum, nil
}

// checkKeyName enforces the name rules of Entry: names show up in logs and the audit log,
// so they are kept short and free of spaces and control characters.
func checkKeyName(name string) error {
	if name == "" {
		return errors.New("needs a name")
	}
	if len(name) > 64 {
		return fmt.Errorf("name is %d characters long, at most 64 are allowed", len(name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("name %q may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	if strings.EqualFold(name, AdminKeyName) {
		return errReservedName
	}
	return nil
}
