package apikey

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/fraudguard/fraudguard/internal/atomicfile"
)

// The admin key.
const (
	// AdminKeyName is the name the admin key authenticates as; keys files may not use it.
	AdminKeyName = "admin"
	// AdminKeyFile is the file in DATA_DIR that holds a generated admin key.
	AdminKeyFile = "admin.key"
	// MinAdminKeyLength is the shortest admin key accepted.
	MinAdminKeyLength = 16
)

// AdminKeySource says where the admin key came from, for the start-up log. It never holds the
// key.
type AdminKeySource struct {
	// Path is the admin key file; empty when the key came from ADMIN_API_KEY.
	Path string
	// Generated is true when this start created the file.
	Generated bool
}

// AdminKey resolves the admin key and returns a Set holding only its hash, as a key named
// AdminKeyName with every scope.
//
// A non-empty configured key (ADMIN_API_KEY) is used as it is. Otherwise the key is read from
// dataDir/admin.key, which is generated (Prefix and 32 random bytes, from random or
// crypto/rand if it is nil) on the first start. The file is created with mode 0600 and appears
// whole or not at all: the key is written to a temporary file (created with O_EXCL), synced, and
// hard-linked to its name, which fails if another process got there first, in which case its
// key is used. An existing file readable or writable by anyone but its owner (mode wider than
// 0600) is refused, as is one that holds no key.
func AdminKey(configured, dataDir string, random io.Reader) (*Set, AdminKeySource, error) {
	if configured != "" {
		if len(configured) < MinAdminKeyLength {
			return nil, AdminKeySource{}, fmt.Errorf("admin key: ADMIN_API_KEY must be at least %d characters", MinAdminKeyLength)
		}
		return adminKeySet(configured), AdminKeySource{}, nil
	}
	if dataDir == "" {
		return nil, AdminKeySource{}, errors.New("admin key: no ADMIN_API_KEY and no data directory to keep a generated one in")
	}
	path := filepath.Join(dataDir, AdminKeyFile)
	key, err := readAdminKey(path)
	if err == nil {
		return adminKeySet(key), AdminKeySource{Path: path}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, AdminKeySource{}, err
	}

	key, err = Generate(random)
	if err != nil {
		return nil, AdminKeySource{}, fmt.Errorf("admin key: %w", err)
	}
	created, err := createAdminKey(dataDir, path, key)
	if err != nil {
		return nil, AdminKeySource{}, fmt.Errorf("admin key: create %s: %w", path, err)
	}
	if !created { // another process created it meanwhile: its key wins
		key, err = readAdminKey(path)
		if err != nil {
			return nil, AdminKeySource{}, err
		}
	}
	return adminKeySet(key), AdminKeySource{Path: path, Generated: created}, nil
}

func adminKeySet(key string) *Set {
	return &Set{
		keys: []Key{{Name: AdminKeyName, Scopes: AllScopes}},
		sums: [][sha256.Size]byte{sha256.Sum256([]byte(key))},
	}
}

// readAdminKey reads the key in path, checking the mode of the file it opened (not of whatever
// the name pointed to a moment before). A missing file returns an error wrapping
// os.ErrNotExist.
func readAdminKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("admin key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("admin key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("admin key: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&^0o600 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("admin key: %s has mode %04o, which lets others read or run it; allow only its owner (chmod 600 %s) or set ADMIN_API_KEY", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("admin key: read %s: %w", path, err)
	}
	key := string(bytes.TrimSpace(data))
	if len(key) < MinAdminKeyLength {
		return "", fmt.Errorf("admin key: %s holds no key of at least %d characters; delete it to have a new one generated", path, MinAdminKeyLength)
	}
	return key, nil
}

// createAdminKey writes key to path unless path exists, and reports whether it did.
func createAdminKey(dir, path, key string) (created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	err = atomicfile.Create(path, []byte(key+"\n"), 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	return err == nil, err
}
