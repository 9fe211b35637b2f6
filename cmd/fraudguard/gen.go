package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/fraudguard/fraudguard/internal/atomicfile"
	"github.com/fraudguard/fraudguard/internal/synth"
)

// maxGenRows caps --rows: 100 million rows make a file of about 30 GB.
const maxGenRows = 100_000_000

const genSummary = `Write synthetic card transactions in the creditcard.csv schema (Time, V1..V28, Amount,
Class) with a header line. Rows come in increasing Time order over two days, with a day/night
cycle, and each class's features follow distributions fitted on real data. The same --seed and
flags always give byte-identical output.

  fraudguard gen --rows 100000 --seed 7 --out synthetic.csv

With --fit, fit the generator's parameters on a real creditcard.csv-style file instead, and
write them as JSON (the built-in ones are refitted this way; use others with --params):

  fraudguard gen --fit datasets/creditcard-sample-train.csv --params-out internal/synth/params.json`

// runGen implements "fraudguard gen". It either writes synthetic transactions (--rows, --seed,
// --fraud-rate, --out, --params) or fits new generator parameters (--fit, --params-out); the
// two sets of flags do not mix.
//
// The parameters shipped in internal/synth/params.json are refitted, from the repository root,
// with (the Makefile's synth-params target):
//
//	go run ./cmd/fraudguard gen --fit datasets/creditcard-sample-train.csv --params-out internal/synth/params.json
//
// Files are written to a temporary file beside the target and renamed into place once
// complete, so a failure or a cancelled context never leaves a partial file.
func runGen(ctx context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen", genSummary, stderr)
	rows := fs.Int("rows", 10000, fmt.Sprintf("number of transactions to write, 1 to %d", maxGenRows))
	seed := fs.Uint64("seed", 1, "random seed; the same seed and flags give byte-identical output")
	fraudRate := fs.Float64("fraud-rate", synth.DefaultFraudRate, "expected share of fraud rows, 0 to 1 (the real data's is 0.00172)")
	out := fs.String("out", "-", `CSV file to write; "-" or "" writes to stdout`)
	paramsPath := fs.String("params", "", "generator parameters as JSON (written by --fit); empty uses the built-in ones")
	fitPath := fs.String("fit", "", "fit parameters on this creditcard.csv-style file instead of generating rows")
	paramsOut := fs.String("params-out", "-", `with --fit: JSON file to write the parameters to; "-" or "" writes to stdout`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if *fitPath != "" {
		for _, name := range []string{"rows", "seed", "fraud-rate", "out", "params"} {
			if set[name] {
				return usageError{fmt.Errorf("gen: --%s cannot be combined with --fit, which only fits parameters; drop one of them", name)}
			}
		}
		return genFit(ctx, *fitPath, *paramsOut, stdout, stderr)
	}
	if set["params-out"] {
		return usageError{fmt.Errorf("gen: --params-out %q needs --fit, which fits the parameters it writes", *paramsOut)}
	}
	if *rows < 1 || *rows > maxGenRows {
		return usageError{fmt.Errorf("gen: --rows %d is out of range; allowed: 1 to %d", *rows, maxGenRows)}
	}
	if !(*fraudRate >= 0 && *fraudRate <= 1) {
		return usageError{fmt.Errorf("gen: --fraud-rate %v is out of range; allowed: a number from 0 to 1 (the real data's is 0.00172)", *fraudRate)}
	}
	if err := checkOutPath("out", *out); err != nil {
		return err
	}

	params, err := loadGenParams(*paramsPath)
	if err != nil {
		return err
	}
	// The seed fully determines the stream; the second PCG word is fixed so that a seed means
	// the same output in every version that keeps this line.
	g, err := synth.NewGenerator(params, rand.New(rand.NewPCG(*seed, 0)), *fraudRate, *rows)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if isStdout(*out) {
		if _, err := synth.WriteCSV(ctx, stdout, g); err != nil {
			return fmt.Errorf("gen: write stdout: %w", err)
		}
		return nil
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error {
		_, err := synth.WriteCSV(ctx, w, g)
		return err
	}); err != nil {
		return fmt.Errorf("gen: write %s: %w", *out, err)
	}
	n, frauds := g.Counts()
	fmt.Fprintf(stderr, "fraudguard gen: wrote %d rows (%d fraud) to %s\n", n, frauds, *out)
	return nil
}

// genFit fits generator parameters on the file at path and writes them to out.
func genFit(ctx context.Context, path, out string, stdout, stderr io.Writer) error {
	if err := checkOutPath("params-out", out); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("gen: --fit: %w", err)
	}
	rows, err := synth.ReadRows(ctx, f, path)
	f.Close()
	if err != nil {
		return fmt.Errorf("gen: --fit: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := synth.Fit(rows, synth.FitOptions{Source: filepath.Base(path)})
	if err != nil {
		return fmt.Errorf("gen: --fit %s: %w", path, err)
	}
	if isStdout(out) {
		return p.WriteJSON(stdout)
	}
	if err := writeFileAtomic(out, p.WriteJSON); err != nil {
		return fmt.Errorf("gen: write %s: %w", out, err)
	}
	fmt.Fprintf(stderr, "fraudguard gen: fitted %d normal and %d fraud rows of %s; wrote %s\n", p.Normal.Rows, p.Fraud.Rows, path, out)
	return nil
}

// loadGenParams returns the parameters in the JSON file at path, or the built-in ones when
// path is empty.
func loadGenParams(path string) (*synth.Params, error) {
	if path == "" {
		return synth.DefaultParams()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gen: --params: %w", err)
	}
	p, err := synth.ParseParams(data)
	if err != nil {
		return nil, fmt.Errorf("gen: --params %s: %w", path, err)
	}
	return p, nil
}

func isStdout(path string) bool { return path == "" || path == "-" }

// checkOutPath rejects an output path that names a directory, before any work is done.
func checkOutPath(flagName, path string) error {
	if isStdout(path) {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageError{fmt.Errorf("gen: --%s %q is a directory; allowed: a file path, or \"-\" for stdout", flagName, path)}
	}
	return nil
}

// writeFileAtomic writes an output file of a command through write, with mode 0644, by
// atomicfile's rule: on any failure path is left as it was and no temporary file remains.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
}
