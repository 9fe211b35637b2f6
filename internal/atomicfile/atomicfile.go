// Package atomicfile replaces files and creates directories so that a reader, or a machine
// that crashes part-way, sees either the old content or the whole new content, never a part.
//
// Every function follows one rule:
//
//  1. write into a hidden temporary file (or directory) in the same directory as the target,
//     so that the final rename never crosses a file system;
//  2. set the permissions asked for, explicitly (the umask does not apply), and fsync every
//     file written, data and mode;
//  3. rename the temporary over the target (Create links it to the target instead, which
//     fails when the target exists);
//  4. fsync the parent directory, so that the rename itself survives a crash.
//
// On any error before the rename the temporary is removed and the target is left exactly as
// it was. An error from step 4 is returned too, wrapping ErrDirNotSynced: the new content is
// then in place, but may not survive a crash.
//
// Temporary names start with "." and end in ".tmp", so directory listings that skip hidden
// entries never see one.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrDirNotSynced is wrapped by the error returned when everything succeeded but the final
// fsync of the parent directory: the new content is in place and readable, and a crash may
// still undo its rename.
var ErrDirNotSynced = errors.New("the directory could not be synced")

// Write replaces the file at path with what write writes, with permissions perm, following
// the package's rule. write is called once; when it returns an error, so does Write, and
// path is unchanged.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is done: from here on the temporary no longer exists, and path is new.
	if serr := SyncDir(dir); serr != nil {
		return dirNotSynced(path, serr)
	}
	return nil
}

// WriteFile replaces the file at path with data, with permissions perm, following the
// package's rule.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Create creates the file at path holding data, with permissions perm, unless path exists, in
// which case the error wraps fs.ErrExist and path is left as it was. It follows the package's
// rule with a hard link in place of the rename, so that of two processes creating the same
// file at once exactly one succeeds and neither sees the other's file half written. On a file
// system without hard links it creates path itself exclusively (O_EXCL) and writes it there:
// still only one succeeds, but a reader may briefly see a partial file, and a failed write
// removes it.
func Create(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the link, path keeps the file
	if err := finish(f, data, perm); err != nil {
		return err
	}
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if err != nil { // no hard links here: create the name itself exclusively instead
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if err := finish(f, data, perm); err != nil {
			os.Remove(path)
			return err
		}
	}
	if serr := SyncDir(dir); serr != nil {
		return dirNotSynced(path, serr)
	}
	return nil
}

// File is one file of a directory made by CreateDir.
type File struct {
	// Name is a plain file name, without a separator.
	Name string
	Data []byte
	Perm fs.FileMode
}

// CreateDir creates the directory path, with permissions perm, holding files (written in the
// order given), following the package's rule for a directory: the files are written and
// fsynced in a hidden temporary directory beside path, which is given perm and fsynced, then
// renamed to path, and the parent is fsynced. A directory is never replaced: when path exists,
// the error wraps fs.ErrExist and nothing changes. The parent directory must exist.
func CreateDir(path string, perm fs.FileMode, files []File) (err error) {
	parent := filepath.Dir(path)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.MkdirTemp(parent, tempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if f.Name == "" || f.Name == "." || f.Name == ".." || filepath.Base(f.Name) != f.Name {
			return fmt.Errorf("file name %q is not a plain file name", f.Name)
		}
		if err := createFile(filepath.Join(tmp, f.Name), f.Data, f.Perm); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	if err := SyncDir(tmp); err != nil {
		return err
	}
	// rename(2) would replace an empty directory created since the check above; a non-empty
	// one makes it fail with an error that wraps fs.ErrExist.
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if serr := SyncDir(parent); serr != nil {
		return dirNotSynced(path, serr)
	}
	return nil
}

func dirNotSynced(path string, err error) error {
	return fmt.Errorf("%s is written, but %w: %w", path, ErrDirNotSynced, err)
}

// createFile writes a new file at path, with permissions perm, and fsyncs it.
func createFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return finish(f, data, perm)
}

// finish writes data to the new file f, sets its permissions to perm, fsyncs and closes it.
func finish(f *os.File, data []byte, perm fs.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir fsyncs the directory dir, making the creation, rename or removal of its entries
// durable. On Windows, where a directory cannot be fsynced and the file system journals
// renames itself, it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// tempPattern is the os.CreateTemp pattern of a temporary beside path: hidden, named after
// path, ending in ".tmp".
func tempPattern(path string) string {
	base := filepath.Base(path)
	if len(base) > 0 && base[0] == '.' {
		base = base[1:]
	}
	return "." + base + ".*.tmp"
}
