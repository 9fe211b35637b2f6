package model

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Watching MODEL_PATH is done by polling with the standard library rather than with inotify
// (fsnotify): a poll sees every way a bundle arrives — Save's rename into place, a copy, a
// Kubernetes volume whose symlinks are swapped, a network file system — where inotify misses
// the last two, and it needs no dependency. A copy in progress is not taken half-done: a
// change fires only once the directory has stayed the same for one more poll. The cost is a
// directory listing per bundle per interval.

// Fingerprint sums the state of root's bundles: every non-hidden subdirectory and the name,
// size and modification time of each of its files. It changes when a bundle appears, goes or
// is rewritten.
func Fingerprint(root string) [32]byte {
	h := sha256.New()
	entries, err := os.ReadDir(root)
	if err != nil {
		h.Write([]byte("unreadable: " + err.Error()))
	}
	var n [8]byte
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		h.Write([]byte(e.Name()))
		h.Write([]byte{0})
		files, _ := os.ReadDir(filepath.Join(root, e.Name()))
		for _, f := range files {
			info, err := f.Info()
			if err != nil {
				continue
			}
			h.Write([]byte(f.Name()))
			h.Write([]byte{1})
			binary.BigEndian.PutUint64(n[:], uint64(info.Size()))
			h.Write(n[:])
			binary.BigEndian.PutUint64(n[:], uint64(info.ModTime().UnixNano()))
			h.Write(n[:])
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// Watch polls root every interval and calls changed (with ctx) once a change to its bundles
// has settled: the fingerprint differs from the last one acted on and equals the one polled
// before. It returns when ctx ends.
func Watch(ctx context.Context, root string, interval time.Duration, changed func(context.Context)) error {
	acted := Fingerprint(root)
	prev := acted
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cur := Fingerprint(root)
		if cur != acted && cur == prev {
			acted = cur
			changed(ctx)
		}
		prev = cur
	}
}
