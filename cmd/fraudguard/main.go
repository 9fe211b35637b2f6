// Command fraudguard scores card transactions for fraud: it serves the HTTP API, trains and
// imports models, and generates synthetic transactions.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP scoring service", runServe},
		{"train", "train a model bundle from a creditcard.csv-style file", runTrain},
		{"import", "import an XGBoost or LightGBM model as a model bundle", runImport},
		{"gen", "write synthetic transactions in the creditcard.csv schema", runGen},
		{"score", "score a CSV file of transactions, here or as a batch job on a server", runScore},
		{"report", "evaluate a model on a labelled file and write an HTML report", runReport},
		{"keys", "create and list API keys", runKeys},
		{"demo", "exercise a live server through the client and print a pass/fail table", runDemo},
		{"loadtest", "send load to a server and report throughput, latency and errors", runLoadtest},
		{"export", "write labelled decisions as a creditcard.csv-style file for train", runExport},
		{"probe", "check a server's probe route, for a container health check", runProbe},
		{"decision-writer", "store the decisions serve sends (serve starts it)", runDecisionWriter},
		{"version", "print the version", runVersion},
	}
}

// run executes the subcommand named by args[0]. It reads the environment only through getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return usageError{errors.New("no command given")}
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], getenv, stdin, stdout, stderr)
		}
	}
	usage(stderr)
	return usageError{fmt.Errorf("unknown command %q", name)}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fraudguard <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'fraudguard <command> --help' for a command's flags.")
}

// usageError marks a mistake in how the program was called (bad flag, bad configuration value):
// the process exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode prints err and returns the process exit status: 0 for success (and --help), 2 for a
// usage or configuration error, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "fraudguard:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
