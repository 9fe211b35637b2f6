package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"

	"github.com/fraudguard/fraudguard/internal/decision/process"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// runDecisionWriter is the decision log's writer process that serve starts
// (DECISION_WRITER=process): it lowers its CPU priority to the idle class, opens the decisions
// file and stores the batches serve sends on standard input, answering each on standard output,
// until its input ends. SIGINT and SIGTERM do not stop it (a service manager may send them to
// every process of the service at once): the server stops it when it has sent the last batch,
// and its input ends as well when the server dies.
func runDecisionWriter(ctx context.Context, args []string, _ func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("decision-writer", "store the decisions serve sends on standard input in the decisions file (serve starts it; not for use by hand)", stderr)
	db := fs.String("db", "", "the decisions file, made by serve's store (DATA_DIR/fraudguard-decisions.db)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *db == "" {
		return usageError{errors.New("--db: the decisions file is required")}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if _, err := process.Lower(); err != nil {
		fmt.Fprintln(stderr, "CPU priority not lowered:", err)
	}
	var rec fraud.DecisionRecorder
	r, err := sqlite.OpenRecorder(ctx, *db, sqlite.Options{})
	if err == nil {
		defer r.Close()
		rec = r
	}
	// While serve says the log is behind, the process leaves the idle class for nice 19, which
	// a busy CPU still gives a share, and it goes back once the log has caught up.
	behind := func(behind bool) {
		var err error
		if behind {
			err = process.Behind()
		} else {
			_, err = process.Lower()
		}
		if err != nil {
			fmt.Fprintf(stderr, "CPU priority not changed (behind: %t): %v\n", behind, err)
		}
	}
	return process.Serve(context.WithoutCancel(ctx), stdin, stdout, rec, err, behind)
}

// startDecisionWriter starts the decision log's writer process on the decisions file of the
// embedded store at dbPath: this executable's decision-writer command.
func startDecisionWriter(ctx context.Context, dbPath string, logger *slog.Logger) (*process.Writer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start decision writer process: %w", err)
	}
	file := sqlite.DecisionsFile(dbPath)
	w := process.New(func() *exec.Cmd {
		cmd := exec.Command(exe, "decision-writer", "--db", file)
		cmd.Env = []string{} // it reads no setting: the server's secrets stay out of it
		return cmd
	}, logger, process.Options{})
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	return w, nil
}
