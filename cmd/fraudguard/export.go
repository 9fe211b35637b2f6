package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// exportPage is how many decisions export reads from the store at a time.
const exportPage = 1000

func runExport(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "write labelled decisions of the decision log as a creditcard.csv-style file that train reads", stderr)
	labelled := fs.Bool("labelled", false, "export the decisions that have a label, with Class from the latest label (required: the only export there is)")
	dataDir := fs.String("data-dir", "", "directory of the store (default $DATA_DIR, else data/)")
	sinceFlag := fs.String("since", "", "only decisions at or after this time (RFC 3339)")
	untilFlag := fs.String("until", "", "only decisions before this time (RFC 3339)")
	version := fs.String("model-version", "", "only decisions of this model version")
	out := fs.String("out", "-", "output file, or - for stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*labelled {
		return usageError{errors.New("export: --labelled is required (the only export: labelled decisions, with Class from their latest label)")}
	}
	var since, until time.Time
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", *sinceFlag, &since}, {"until", *untilFlag, &until}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			return usageError{fmt.Errorf("export: --%s %q: must be an RFC 3339 time such as 2026-11-26T07:00:00Z", f.name, f.v)}
		}
		*f.dst = t
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return usageError{fmt.Errorf("export: --until %s must be after --since %s", *untilFlag, *sinceFlag)}
	}
	if err := checkOutPath("out", *out); err != nil {
		return usageError{errors.New(strings.Replace(err.Error(), "gen:", "export:", 1))}
	}
	dir := *dataDir
	if dir == "" {
		dir = getenv("DATA_DIR")
	}
	if dir == "" {
		dir = "data/"
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "fraudguard.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer store.Close()
	rows, err := labelledRows(ctx, store, fraud.DecisionFilter{Since: since, Until: until, ModelVersion: *version, Labelled: true, Limit: exportPage})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	write := func(w io.Writer) error { return writeLabelled(w, rows) }
	if isStdout(*out) {
		err = write(stdout)
	} else {
		err = writeFileAtomic(*out, write)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	frauds := 0
	for _, d := range rows {
		if d.Label.Label == fraud.LabelFraud {
			frauds++
		}
	}
	if !isStdout(*out) {
		fmt.Fprintf(stdout, "wrote %d labelled transactions (%d fraud) to %s\n", len(rows), frauds, *out)
	}
	return nil
}

// labelledRows reads every labelled decision that f selects, keeps the newest decision of each
// transaction (a transaction scored twice is one row, with the inputs last scored), and returns
// them oldest first.
func labelledRows(ctx context.Context, store fraud.DecisionLog, f fraud.DecisionFilter) ([]fraud.Decision, error) {
	seen := map[string]bool{}
	var rows []fraud.Decision
	for {
		page, err := store.ListDecisions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if !seen[d.TransactionID] && d.Label != nil {
				seen[d.TransactionID] = true
				rows = append(rows, d)
			}
		}
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.After = &fraud.DecisionCursor{Time: last.Time, ID: last.ID}
	}
	slices.Reverse(rows)
	return rows, nil
}

// writeLabelled writes rows in the creditcard.csv schema: Time, V1..V28, Amount and Class (1
// for fraud), each input as the shortest decimal that reads back as the same float64.
func writeLabelled(w io.Writer, rows []fraud.Decision) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(strings.Join(fraud.FeatureNames(), ",") + ",Class\n")
	var line []byte
	for _, d := range rows {
		line = line[:0]
		for _, v := range d.Features {
			line = strconv.AppendFloat(line, v, 'g', -1, 64)
			line = append(line, ',')
		}
		if d.Label.Label == fraud.LabelFraud {
			line = append(line, "1\n"...)
		} else {
			line = append(line, "0\n"...)
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
