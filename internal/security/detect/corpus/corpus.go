// Package corpus reads the attack and benign payloads that the attack detector is measured on
// (internal/security/detect/testdata/corpus): public payload lists and ordinary inputs, each file cited
// in the directory's sources.tsv and assigned as a whole to the dev or the test half.
package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Kinds of Entry.
const (
	KindAttack = "attack"
	KindBenign = "benign"
)

// Halves of the corpus. Rules may be tuned on the dev half; the test half is only counted.
const (
	HalfDev  = "dev"
	HalfTest = "test"
)

// escPrefix marks a line that holds a double-quoted Go string: the payloads with control
// characters (CR, LF, NUL ...), which cannot be written as one raw line.
const escPrefix = "esc:"

// Entry is one payload of the corpus.
type Entry struct {
	// Class is what the payload is: for attacks sqli, xss, traversal, cmdi, crlf or scanner;
	// for benign strings the kind of input (text, email, useragent, url, name, merchant,
	// crs-negative).
	Class string
	// Kind is KindAttack or KindBenign.
	Kind string
	// Source is the file the payload is in, relative to the corpus directory
	// ("attacks/sqli/crs-942100.txt"); sources.tsv gives its origin and licence.
	Source string
	// Half is HalfDev or HalfTest.
	Half string
	// Payload is the string exactly as the source has it.
	Payload string
}

// Load reads the corpus in dir: every file listed in dir/sources.tsv, in the order listed, one
// payload per non-empty line. A line that starts with "esc:" holds a double-quoted Go string
// (strconv.Quote form), used only for payloads with control characters. The file's path gives
// the kind and class (attacks/<class>/*.txt, benign/<class>/*.txt). Load fails when a listed
// file is missing, a file under attacks/ or benign/ is not listed, a file's payload count
// differs from its rows column, or a half is neither dev nor test.
func Load(dir string) ([]Entry, error) {
	tsv, err := os.ReadFile(filepath.Join(dir, "sources.tsv"))
	if err != nil {
		return nil, fmt.Errorf("read corpus index: %w", err)
	}
	var entries []Entry
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if !strings.HasPrefix(line+"\t", "file\thalf\trows\t") {
				return nil, fmt.Errorf("sources.tsv: header %q, want it to start with the columns file, half, rows", line)
			}
			continue
		}
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 3 {
			return nil, fmt.Errorf("sources.tsv line %d: %d columns, want at least 3", n, len(cols))
		}
		file, half := cols[0], cols[1]
		rows, err := strconv.Atoi(cols[2])
		if err != nil {
			return nil, fmt.Errorf("sources.tsv line %d: rows %q: %w", n, cols[2], err)
		}
		if half != HalfDev && half != HalfTest {
			return nil, fmt.Errorf("sources.tsv line %d: half %q, want dev or test", n, half)
		}
		kind, class, err := kindClass(file)
		if err != nil {
			return nil, fmt.Errorf("sources.tsv line %d: %w", n, err)
		}
		if listed[file] {
			return nil, fmt.Errorf("sources.tsv line %d: %s listed twice", n, file)
		}
		listed[file] = true
		payloads, err := readPayloads(filepath.Join(dir, filepath.FromSlash(file)))
		if err != nil {
			return nil, err
		}
		if len(payloads) != rows {
			return nil, fmt.Errorf("%s: %d payloads, sources.tsv says %d", file, len(payloads), rows)
		}
		for _, p := range payloads {
			entries = append(entries, Entry{Class: class, Kind: kind, Source: file, Half: half, Payload: p})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read sources.tsv: %w", err)
	}
	for _, top := range []string{"attacks", "benign"} {
		err := filepath.WalkDir(filepath.Join(dir, top), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(dir, top) {
				return nil // a corpus may lack one of the two trees
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); !listed[rel] {
				return fmt.Errorf("%s is not listed in sources.tsv", rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// kindClass reads the kind and class from a corpus file's path.
func kindClass(file string) (kind, class string, err error) {
	parts := strings.Split(file, "/")
	if len(parts) != 3 || path.Ext(file) != ".txt" || parts[1] == "" {
		return "", "", fmt.Errorf("file %q: want attacks/<class>/<name>.txt or benign/<class>/<name>.txt", file)
	}
	switch parts[0] {
	case "attacks":
		return KindAttack, parts[1], nil
	case "benign":
		return KindBenign, parts[1], nil
	}
	return "", "", fmt.Errorf("file %q: not under attacks/ or benign/", file)
}

// readPayloads returns the payloads of one corpus file.
func readPayloads(name string) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read corpus file: %w", err)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, escPrefix); ok {
			p, err := strconv.Unquote(rest)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: escaped payload %q: %w", name, i+1, rest, err)
			}
			line = p
		}
		out = append(out, line)
	}
	return out, nil
}
