package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/fraudguard/fraudguard/internal/security/apikey"
)

const keysSummary = `Manage the API keys file (API_KEYS_FILE). It holds each key's name, scopes, optional rate
limit and SHA-256; never a key itself. YAML for .yaml/.yml, JSON for .json.

  fraudguard keys create --name checkout --scopes predict,batch [--rate-limit 600] [--file keys.yaml]
  fraudguard keys list [--file keys.yaml]

create prints the new key once, on standard output; it cannot be shown again.
Scopes: predict, batch, admin, read.`

// runKeys implements "fraudguard keys": its create and list subcommands.
func runKeys(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: fraudguard keys create|list [flags]\n\n%s\n", keysSummary)
		return usageError{errors.New("keys: no subcommand given: create or list")}
	}
	switch args[0] {
	case "create":
		return runKeysCreate(ctx, args[1:], getenv, stdout, stderr)
	case "list":
		return runKeysList(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "usage: fraudguard keys create|list [flags]\n\n%s\n", keysSummary)
		return nil
	}
	fmt.Fprintf(stderr, "usage: fraudguard keys create|list [flags]\n\n%s\n", keysSummary)
	return usageError{fmt.Errorf("keys: unknown subcommand %q: want create or list", args[0])}
}

// defaultKeysFile is --file's default: API_KEYS_FILE, or keys.yaml in the working directory.
func defaultKeysFile(getenv func(string) string) string {
	if f := getenv("API_KEYS_FILE"); f != "" {
		return f
	}
	return "keys.yaml"
}

// runKeysCreate generates a key, adds its hash to the keys file and prints the key. The file is
// written first, so a key is only ever shown once it works.
func runKeysCreate(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys create", "Generate an API key, add its hash to the keys file and print the key once.\n\n"+keysSummary, stderr)
	name := fs.String("name", "", "name of the key, unique in the file: letters, digits, '.', '_', '-' (required)")
	scopes := fs.String("scopes", "", "comma-separated scopes: predict, batch, admin, read (required)")
	rateLimit := fs.Int("rate-limit", 0, "the key's requests per minute; 0 uses the global RATE_LIMIT_PER_MINUTE")
	file := fs.String("file", defaultKeysFile(getenv), "keys file to add the key to (created if missing; env API_KEYS_FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{errors.New("keys create: --name is required")}
	}
	if *scopes == "" {
		return usageError{errors.New("keys create: --scopes is required, such as --scopes predict,batch")}
	}
	entry := apikey.Entry{Name: *name, Scopes: strings.Split(*scopes, ","), RateLimitPerMinute: *rateLimit}
	// Check the flags before a key exists: a placeholder hash stands in for the real one.
	check := entry
	check.SHA256 = apikey.Hash("")
	if err := check.Check(); err != nil {
		return usageError{fmt.Errorf("keys create: %w", err)}
	}

	key, err := apikey.Generate(nil)
	if err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	entry.SHA256 = apikey.Hash(key)
	if err := apikey.Append(*file, entry); err != nil {
		if errors.Is(err, apikey.ErrExists) {
			return fmt.Errorf("keys create: %s already has a key named %q: choose another name, or remove the old entry first", *file, *name)
		}
		return fmt.Errorf("keys create: %w", err)
	}
	set, _ := apikey.ParseScopes(entry.Scopes)
	fmt.Fprintln(stdout, key)
	fmt.Fprintf(stderr, "Added key %q (scopes %s) to %s.\n", *name, set, *file)
	fmt.Fprintln(stderr, "The key above will not be shown again: store it now. Only its SHA-256 is kept.")
	fmt.Fprintln(stderr, "A running fraudguard serve picks it up on SIGHUP or POST /security/keys/reload.")
	return nil
}

// runKeysList prints the keys file's entries: names, scopes, rate limits and the start of each
// hash, enough to tell entries apart without copying the hashes around.
func runKeysList(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys list", "List the keys in the keys file: name, scopes, rate limit and the first 8 hex digits of the SHA-256.", stderr)
	file := fs.String("file", defaultKeysFile(getenv), "keys file to read (env API_KEYS_FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	entries, err := apikey.ReadEntries(*file)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	if len(entries) == 0 {
		fmt.Fprintf(stderr, "%s holds no keys.\n", *file)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tRATE LIMIT\tSHA-256")
	for _, e := range entries {
		set, _ := apikey.ParseScopes(e.Scopes) // ReadKeyEntries checked them
		limit := "default"
		if e.RateLimitPerMinute > 0 {
			limit = fmt.Sprintf("%d/min", e.RateLimitPerMinute)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\n", e.Name, set, limit, strings.ToLower(strings.TrimSpace(e.SHA256))[:8])
	}
	return tw.Flush()
}
