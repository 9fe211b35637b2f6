package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the corpus this package reads in production use.
const corpusDir = "../testdata/corpus"

func mustLoad(t testing.TB, dir string) []Entry {
	t.Helper()
	entries, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return entries
}

// TestCorpusShape checks what the measurement relies on: enough rows, every attack class in both
// halves, no payload in two places, escapes decoded.
func TestCorpusShape(t *testing.T) {
	entries := mustLoad(t, corpusDir)
	count := map[string]int{}
	where := map[string]string{}
	for _, e := range entries {
		count[e.Kind]++
		count[e.Kind+"/"+e.Class+"/"+e.Half]++
		if prev, dup := where[e.Payload]; dup {
			t.Errorf("payload %q is in %s and %s", e.Payload, prev, e.Source)
		}
		where[e.Payload] = e.Source
		if strings.HasPrefix(e.Payload, escPrefix) {
			t.Errorf("%s: payload %q still escaped", e.Source, e.Payload)
		}
	}
	if count[KindAttack] < 3000 || count[KindBenign] < 1000 {
		t.Errorf("got %d attacks and %d benign strings, want at least 3000 and 1000", count[KindAttack], count[KindBenign])
	}
	for _, class := range []string{"sqli", "xss", "traversal", "cmdi", "crlf", "scanner"} {
		for _, half := range []string{HalfDev, HalfTest} {
			if n := count[KindAttack+"/"+class+"/"+half]; n == 0 {
				t.Errorf("class %s has no rows in the %s half", class, half)
			}
		}
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name  string
		index string
		files map[string]string
		want  string
	}{
		{"bad header", "name\thalf\n", nil, "header"},
		{"bad half", "file\thalf\trows\nattacks/sqli/a.txt\tboth\t1\n", map[string]string{"attacks/sqli/a.txt": "x\n"}, "half"},
		{"missing file", "file\thalf\trows\nattacks/sqli/a.txt\tdev\t1\n", nil, "read corpus file"},
		{"count differs", "file\thalf\trows\nattacks/sqli/a.txt\tdev\t2\n", map[string]string{"attacks/sqli/a.txt": "x\n"}, "sources.tsv says 2"},
		{"unlisted file", "file\thalf\trows\nattacks/sqli/a.txt\tdev\t1\n", map[string]string{"attacks/sqli/a.txt": "x\n", "benign/text/b.txt": "y\n"}, "not listed"},
		{"bad escape", "file\thalf\trows\nattacks/crlf/a.txt\ttest\t1\n", map[string]string{"attacks/crlf/a.txt": "esc:\"unterminated\n"}, "escaped payload"},
		{"bad path", "file\thalf\trows\nsqli/a.txt\tdev\t1\n", nil, "want attacks/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustWrite(t, filepath.Join(dir, "sources.tsv"), tc.index)
			for name, body := range tc.files {
				mustWrite(t, filepath.Join(dir, filepath.FromSlash(name)), body)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoadDecodes(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "sources.tsv"), "file\thalf\trows\trepository\nattacks/crlf/a.txt\ttest\t3\tsomewhere\n")
	mustWrite(t, filepath.Join(dir, "attacks/crlf/a.txt"), " or 1=1 \n\nesc:\"x\\r\\nSet-Cookie: a=b\"\n#not a comment\n")
	got := mustLoad(t, dir)
	want := []Entry{
		{Class: "crlf", Kind: KindAttack, Source: "attacks/crlf/a.txt", Half: HalfTest, Payload: " or 1=1 "},
		{Class: "crlf", Kind: KindAttack, Source: "attacks/crlf/a.txt", Half: HalfTest, Payload: "x\r\nSet-Cookie: a=b"},
		{Class: "crlf", Kind: KindAttack, Source: "attacks/crlf/a.txt", Half: HalfTest, Payload: "#not a comment"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func mustWrite(t testing.TB, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
