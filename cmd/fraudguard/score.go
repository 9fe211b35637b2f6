package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/progress"
	"github.com/fraudguard/fraudguard/internal/scoring"
)

const scoreSummary = `Score a CSV file of card transactions (creditcard.csv schema: Time, V1..V28, Amount; an
optional transaction_id first or last and an optional Class anywhere).

  fraudguard score --file tx.csv --out scored.csv [--model-path models/] [--model-version V] [--explain]
  fraudguard score --file tx.csv --out scored.csv --url http://localhost:8000 [--api-key K]

Without --url the file is scored here with the newest model bundle under --model-path (or
--model-version), on every core. With --url it is sent gzipped to that fraudguard server as a
background batch job; the command follows the job's progress and downloads its results.

The output is the input, each row's text exactly as given, with three columns appended:
fraud_probability (shortest decimal that reads back as the same float64), is_fraud (true or
false) and risk_level (low, medium, high, critical). Blank lines are left out and every row
ends with the line ending it had (CRLF or LF). When the server scores every row, both modes
give the same bytes for the same file and model.

With --explain (locally or with --url), three more columns follow the others: reason_1, reason_2
and reason_3, the three features of largest |contribution| to the row's margin, largest first
(ties in feature order), each as feature:contribution, the contribution being the exact SHAP
value in log-odds (as /predict's explanations give it). A model that cannot be explained
(a tree without node covers) stops the command before anything is written.

Locally, a row that cannot be read stops the command with the file, line and column at fault,
and nothing is written. With --url the server decides: when it marks rows invalid, a fourth
column, error, holds why (the three result columns are then empty on those rows), the file is
still written, and the command exits with status 1.

Output to a file goes to a temporary file beside it, renamed into place only when complete;
--out - writes to standard output instead. Progress goes to standard error: a bar on a
terminal, a line every tenth of the work or every 5s otherwise. Interrupting the wait for a
job (Ctrl-C) leaves the job running on the server and prints its id and URLs.`

// ioBufferSize is the buffer of the output.
const ioBufferSize = 1 << 20

// scoreOptions are runScore's flags, checked.
type scoreOptions struct {
	file, out    string
	modelPath    string
	modelVersion string
	server       *url.URL
	apiKey       string
	poll         time.Duration
	quiet        bool
	explain      bool
}

// runScore implements "fraudguard score".
func runScore(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", scoreSummary, stderr)
	file := fs.String("file", "", `CSV file of transactions to score (required); "-" reads standard input (local scoring only)`)
	out := fs.String("out", "", `CSV file to write (required); "-" writes to standard output`)
	modelPath := fs.String("model-path", defaultModelPath(getenv), "directory of model bundles (env MODEL_PATH); not with --url")
	modelVersion := fs.String("model-version", "", "version of the model bundle to use (default: the newest); not with --url")
	serverURL := fs.String("url", "", "score on this fraudguard server as a background batch job, e.g. http://localhost:8000")
	apiKey := fs.String("api-key", "", "with --url: API key with the batch scope (default: env FRAUDGUARD_API_KEY)")
	poll := fs.Duration("poll", 500*time.Millisecond, "with --url: how often to ask for the job's status")
	quiet := fs.Bool("quiet", false, "write no progress and no summary to standard error")
	explain := fs.Bool("explain", false, "add reason_1..reason_3: the three features that moved each row's score most, as feature:contribution (log-odds)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	o := scoreOptions{file: *file, out: *out, modelPath: *modelPath, modelVersion: *modelVersion,
		apiKey: *apiKey, poll: *poll, quiet: *quiet, explain: *explain}
	if o.file == "" {
		return usageError{errors.New(`score: --file is required: the CSV file to score, or "-" for standard input`)}
	}
	if o.out == "" {
		return usageError{errors.New(`score: --out is required: the CSV file to write, or "-" for standard output`)}
	}
	if *serverURL != "" {
		for _, name := range []string{"model-path", "model-version"} {
			if set[name] {
				return usageError{fmt.Errorf("score: --%s cannot be combined with --url, where the server's model scores; drop one of them", name)}
			}
		}
		u, err := url.Parse(*serverURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{fmt.Errorf("score: --url %q is not a server URL; allowed: http://host:port or https://host:port", *serverURL)}
		}
		o.server = u
		if o.file == "-" {
			return usageError{errors.New("score: --file - cannot be combined with --url: the file is read twice, to send it and to join the results to it")}
		}
		if o.apiKey == "" {
			o.apiKey = getenv("FRAUDGUARD_API_KEY")
		}
		if o.poll <= 0 {
			return usageError{fmt.Errorf("score: --poll %v is out of range; allowed: a positive duration such as 500ms", o.poll)}
		}
	} else {
		for _, name := range []string{"api-key", "poll"} {
			if set[name] {
				return usageError{fmt.Errorf("score: --%s needs --url, the server to score on", name)}
			}
		}
	}
	if err := checkScoreOut(o.file, o.out); err != nil {
		return err
	}
	if o.server != nil {
		return scoreRemote(ctx, o, stdout, stderr)
	}
	return scoreLocal(ctx, o, stdin, stdout, stderr)
}

// defaultModelPath is --model-path's default: MODEL_PATH, as for serve, or models/.
func defaultModelPath(getenv func(string) string) string {
	if p := getenv("MODEL_PATH"); p != "" {
		return p
	}
	return "models/"
}

// checkScoreOut rejects, before any work, an output path that is a directory or the input.
func checkScoreOut(in, out string) error {
	if isStdout(out) {
		return nil
	}
	fo, err := os.Stat(out)
	if err != nil {
		return nil // a new file
	}
	if fo.IsDir() {
		return usageError{fmt.Errorf("score: --out %q is a directory; allowed: a file path, or \"-\" for standard output", out)}
	}
	if fi, err := os.Stat(in); err == nil && os.SameFile(fi, fo) {
		return usageError{fmt.Errorf("score: --out %q is the input file; write the scores to another file", out)}
	}
	return nil
}

// newBar returns a progress bar on stderr, or one writing nowhere with --quiet.
func (o scoreOptions) newBar(stderr io.Writer, label, unit string, total int64) *progress.Bar {
	if o.quiet {
		return progress.New(io.Discard, total, progress.Options{Label: label, Unit: unit})
	}
	return progress.New(stderr, total, progress.Options{Label: label, Unit: unit, Terminal: progress.IsTerminal(stderr)})
}

// writeOutput runs write on a buffered writer over standard output or a temporary file
// renamed over path once write has succeeded.
func writeOutput(path string, stdout io.Writer, write func(w *bufio.Writer) error) error {
	run := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, ioBufferSize)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	if isStdout(path) {
		return run(stdout)
	}
	return writeFileAtomic(path, run)
}

// openInput opens the file to score, "-" being standard input, and returns its size when it
// is known (0 otherwise) and the name that errors give it.
func openInput(path string, stdin io.Reader) (io.ReadCloser, string, int64, error) {
	if path == "-" {
		return io.NopCloser(stdin), "stdin", 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, path, size, nil
}

func scoreLocal(ctx context.Context, o scoreOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	m, err := model.LoadLatest(o.modelPath, o.modelVersion)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	if o.explain {
		if err := scoring.CanExplain(m); err != nil {
			return fmt.Errorf("score: --explain: %w; score without --explain", err)
		}
	}
	in, name, size, err := openInput(o.file, stdin)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	defer in.Close()

	bar := o.newBar(stderr, "scoring", "rows", size)
	var sum scoring.Summary
	err = writeOutput(o.out, stdout, func(w *bufio.Writer) error {
		var err error
		sum, err = scoring.Stream(ctx, m, in, name, w, bar, runtime.GOMAXPROCS(0), o.explain)
		return err
	})
	if err != nil {
		bar.Stop()
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			if isStdout(o.out) {
				return errors.New("score: interrupted")
			}
			return fmt.Errorf("score: interrupted; nothing written to %s", o.out)
		}
		return fmt.Errorf("score: %w", err)
	}
	bar.Finish()
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: %d rows, %d flagged as fraud, by model %s; wrote %s\n",
			sum.Rows, sum.Frauds, m.Version(), outName(o.out))
	}
	return nil
}

func outName(path string) string {
	if isStdout(path) {
		return "standard output"
	}
	return path
}
