package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/scoring"
	"github.com/fraudguard/fraudguard/wire"
)

// scoreRemote sends the file to the server as a batch job, follows it and joins its results to
// the file's rows.
func scoreRemote(ctx context.Context, o scoreOptions, stdout, stderr io.Writer) error {
	c, err := client.New(o.server.String(), client.Options{APIKey: o.apiKey})
	if err != nil {
		return usageError{fmt.Errorf("score: %w", err)}
	}
	f, name, size, err := openInput(o.file, nil)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	up := o.newBar(stderr, "uploading", "bytes", size)
	sub, err := scoring.Submit(ctx, c, f, o.explain, func(n int64) { up.Update(n, n) })
	f.Close()
	if err != nil {
		up.Stop()
		if ctx.Err() != nil {
			return errors.New("score: interrupted while sending the file; no job was started")
		}
		return fmt.Errorf("score: sending %s to %s: %w", name, c.BaseURL(), err)
	}
	up.Finish()
	statusURL := c.ResolveURL("/batch/" + sub.JobID + "/status")
	if sub.StatusURL != "" {
		statusURL = c.ResolveURL(sub.StatusURL)
	}
	resultsURL := c.ResolveURL("/batch/" + sub.JobID + "/results")
	if sub.ResultsURL != "" {
		resultsURL = c.ResolveURL(sub.ResultsURL)
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: job %s accepted; status at %s\n", sub.JobID, statusURL)
	}
	// later tells how to pick the job up again after the command gave up on it.
	later := func(what string) error {
		return fmt.Errorf("score: %s; job %s stays on the server: status at %s, results at %s (Accept: text/csv)",
			what, sub.JobID, statusURL, resultsURL)
	}

	// The share comes from the server, in hundredths of a percent; the rate from the rows it
	// has scored.
	sc := o.newBar(stderr, "scoring", "rows", 100*100)
	st, err := c.WaitBatch(ctx, sub.JobID, client.WaitOptions{Poll: o.poll, OnStatus: func(st *wire.BatchStatusResponse) {
		sc.Update(int64(st.ProgressPercent*100), st.ProcessedCount)
	}})
	if err == nil {
		_, err = scoring.Outcome(st)
		if err != nil {
			sc.Stop()
			return fmt.Errorf("score: job %s: %w", sub.JobID, err)
		}
	}
	if err != nil {
		sc.Stop()
		if ctx.Err() != nil {
			return later("stopped waiting for the job")
		}
		return later(fmt.Sprintf("following the job: %v", err))
	}
	sc.Finish()

	down := o.newBar(stderr, "downloading", "rows", st.TotalCount)
	var sum scoring.Summary
	err = writeOutput(o.out, stdout, func(w *bufio.Writer) error {
		results, err := c.BatchResultsStream(ctx, sub.JobID, client.CSV)
		if err != nil {
			return err
		}
		defer results.Close()
		in, err := os.Open(o.file)
		if err != nil {
			return err
		}
		defer in.Close()
		sum, err = scoring.Join(ctx, in, name, results, w, st.InvalidCount > 0, o.explain, down)
		return err
	})
	if err != nil {
		down.Stop()
		left := "nothing written to " + o.out
		if isStdout(o.out) {
			left = "standard output is incomplete"
		}
		if ctx.Err() != nil {
			return later("interrupted while downloading the results; " + left)
		}
		return later(fmt.Sprintf("downloading the results: %v; %s", err, left))
	}
	down.Finish()
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: job %s: %d rows, %d flagged as fraud, %d invalid; wrote %s\n",
			sub.JobID, sum.Rows, sum.Frauds, sum.Invalid, outName(o.out))
	}
	if sum.Invalid > 0 {
		return fmt.Errorf("score: %d of %d rows could not be scored (the first, %s:%d: %s); the error column of %s says why for each",
			sum.Invalid, sum.Rows, name, sum.FirstInvalidLine, sum.FirstInvalid, outName(o.out))
	}
	return nil
}
