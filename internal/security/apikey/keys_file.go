package apikey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fraudguard/fraudguard/internal/atomicfile"
)

// maxKeysFileBytes caps what Load reads: a keys file of this size holds thousands of keys.
const maxKeysFileBytes = 4 << 20

// ErrExists is returned (wrapped) by Append when the file already has a key of that
// name.
var ErrExists = errors.New("a key of that name already exists")

// keysFile is the layout of a keys file:
//
//	keys:
//	  - name: checkout
//	    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	    scopes: [predict, batch]
//	    rate_limit_per_minute: 600   # optional; 0 or absent: the global default
//
// or the same in JSON: {"keys": [{"name": ..., "sha256": ..., "scopes": [...]}]}.
type keysFile struct {
	Keys []Entry `yaml:"keys" json:"keys"`
}

// fileFormat is how a keys file is written, chosen by its extension.
type fileFormat int

const (
	formatYAML fileFormat = iota
	formatJSON
)

func formatOf(path string) (fileFormat, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return formatYAML, nil
	case ".json":
		return formatJSON, nil
	}
	return 0, fmt.Errorf("keys file %q: the name must end in .yaml, .yml or .json", path)
}

// Load reads and checks the keys file at path: YAML for .yaml or .yml, JSON for .json.
// Unknown fields are errors, so a misspelt field is not silently ignored; an empty file holds no
// keys. Every error is one line naming the file and, for a bad entry, its position and name.
func Load(path string) (*Set, error) {
	entries, err := ReadEntries(path)
	if err != nil {
		return nil, err
	}
	ks, err := NewSet(entries)
	if err != nil {
		return nil, fmt.Errorf("keys file %q: %w", path, err)
	}
	return ks, nil
}

// ReadEntries reads the keys file at path as Load does and returns its entries as
// written, after checking them.
func ReadEntries(path string) ([]Entry, error) {
	format, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	data, err := readCapped(path, maxKeysFileBytes)
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	entries, err := decodeKeys(data, format)
	if err != nil {
		return nil, fmt.Errorf("keys file %q: %w", path, err)
	}
	if _, err := NewSet(entries); err != nil {
		return nil, fmt.Errorf("keys file %q: %w", path, err)
	}
	return entries, nil
}

func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// decodeKeys parses a keys file's contents. The errors are flattened to one line.
func decodeKeys(data []byte, format fileFormat) ([]Entry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var kf keysFile
	switch format {
	case formatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&kf); err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		if dec.More() {
			return nil, errors.New("bad JSON: more than one value")
		}
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&kf); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("bad YAML: %s", oneLine(err.Error()))
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, errors.New("bad YAML: more than one document")
		}
	}
	return kf.Keys, nil
}

// oneLine joins a multi-line message (yaml lists one problem per line) with "; ".
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// Append adds e to the keys file at path, creating the file if it does not exist. The
// file is checked as Load checks it both before and after the change, and is replaced
// atomically (a temporary file renamed over it) with mode 0600, so a reader never sees half a
// file and a failure leaves it as it was. A YAML file keeps its comments. A name already in the
// file returns an error wrapping ErrExists.
//
// The read, check and rename run under an exclusive lock on the file's directory (flock), so
// two runs at the same moment, in one process or several, both land their entries.
func Append(path string, e Entry) error {
	format, err := formatOf(path)
	if err != nil {
		return err
	}
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	defer unlock()
	data, err := readCapped(path, maxKeysFileBytes)
	if errors.Is(err, os.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	entries, err := decodeKeys(data, format)
	if err == nil {
		_, err = NewSet(entries)
	}
	if err != nil {
		return fmt.Errorf("keys file %q: %w", path, err)
	}
	for _, old := range entries {
		if strings.EqualFold(old.Name, e.Name) {
			return fmt.Errorf("keys file %q: %w: %q", path, ErrExists, e.Name)
		}
	}
	if _, err := NewSet(append(entries, e)); err != nil {
		return fmt.Errorf("new key: %w", err)
	}

	var out []byte
	switch format {
	case formatJSON:
		out, err = json.MarshalIndent(keysFile{Keys: append(entries, e)}, "", "  ")
		out = append(out, '\n')
	default:
		out, err = appendYAML(data, e)
	}
	if err != nil {
		return fmt.Errorf("keys file %q: %w", path, err)
	}
	// Belt and braces: what is written must load.
	got, err := decodeKeys(out, format)
	if err == nil {
		_, err = NewSet(got)
	}
	if err == nil && len(got) != len(entries)+1 {
		err = fmt.Errorf("the rewritten file holds %d keys, want %d", len(got), len(entries)+1)
	}
	if err != nil {
		return fmt.Errorf("keys file %q: rewriting it would break it: %w", path, err)
	}
	// A directory that could not be synced still holds the new file: failing here would lose
	// the key, which the caller prints only on success.
	if err := atomicfile.WriteFile(path, out, 0o600); err != nil && !errors.Is(err, atomicfile.ErrDirNotSynced) {
		return fmt.Errorf("keys file: %w", err)
	}
	return nil
}

// newKeysFileYAML starts a keys file that does not exist yet.
const newKeysFileYAML = `# fraudguard API keys. Only each key's SHA-256 is kept here; a key itself is shown once, when
# 'fraudguard keys create' makes it. Scopes: predict, batch, admin, read. rate_limit_per_minute is
# optional (0 or absent: the global RATE_LIMIT_PER_MINUTE).
keys: []
`

// appendYAML adds e to the keys list of a YAML document, editing the parsed node tree so the
// file's comments and the order of its fields survive.
func appendYAML(data []byte, e Entry) ([]byte, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(newKeysFileYAML)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bad YAML: %s", oneLine(err.Error()))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the file must be a mapping with a keys: list")
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "keys" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "keys"}, list)
	}
	switch {
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null": // "keys:" with nothing after it
		*list = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", LineComment: list.LineComment}
	case list.Kind != yaml.SequenceNode:
		return nil, errors.New("keys: must be a list")
	}
	list.Style &^= yaml.FlowStyle // "keys: []" grows into a block list

	var item yaml.Node
	if err := item.Encode(e); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "scopes" {
			item.Content[i+1].Style = yaml.FlowStyle // scopes: [predict, batch]
		}
	}
	list.Content = append(list.Content, &item)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
