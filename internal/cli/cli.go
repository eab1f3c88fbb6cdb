// Package cli is the dbfleet command line: `dbfleet serve` runs the server,
// offline commands work on files, and every other command is a client of
// the server's API. docs/cli.md documents each command.
package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// env is what a command sees of its process: testable without globals.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string // KEY=value, as os.Environ

	// Global flags.
	server, token, output string
}

// usageError marks errors in how a command was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a specific exit status (e.g. a failed check).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

// Main runs the command line and returns the exit status.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
}

// Run runs one command line with the given environment (KEY=value).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	root := e.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	var xe exitError
	switch {
	case errors.As(err, &xe):
		if xe.err != nil && xe.err.Error() != "" {
			fmt.Fprintf(stderr, "error: %v\n", xe.err)
		}
		return xe.code
	case errors.As(err, &ue) || isCobraUsage(err):
		fmt.Fprintf(stderr, "error: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return 2
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
}

func isCobraUsage(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return false // the server's answer, whatever its words
	}
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "required flag", "accepts ", "requires at least", "requires at most", "bad flag syntax"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "dbfleet",
		Short: "Database operations for fleets of MariaDB/MySQL, PostgreSQL and Redis",
		Long: `dbfleet runs a DBA team's database operations from one binary.

Start the server with 'dbfleet serve', log in with 'dbfleet login', then
register hosts, clusters and instances. Every command except serve and the
offline ones talks to the server: --server/--token or DBFLEET_SERVER and
DBFLEET_TOKEN, else what 'dbfleet login' saved.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&e.server, "server", "", "server URL (default $DBFLEET_SERVER, else the one saved by login)")
	root.PersistentFlags().StringVar(&e.token, "token", "", "API token (default $DBFLEET_TOKEN, else the one saved by login)")
	root.PersistentFlags().StringVarP(&e.output, "output", "o", "table", "output format: table or json")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		e.serveCmd(),
		e.loginCmd(),
		e.logoutCmd(),
		e.whoamiCmd(),
		e.hostCmd(),
		e.clusterCmd(),
		e.instanceCmd(),
		e.groupCmd(),
		e.shardmapCmd(),
		e.userCmd(),
		e.tokenCmd(),
		e.auditCmd(),
		e.engineCmd(),
		e.metricsCmd(),
		e.forecastCmd(),
		e.healthCmd(),
		e.queryCmd(),
		e.flowCmd(),
		e.reportCmd(),
		e.ticketCmd(),
		e.reviewCmd(),
		e.execCmd(),
		e.slowlogCmd(),
		e.verifyCmd(),
		e.proxyCmd(),
		e.alertCmd(),
		e.oncallCmd(),
		e.versionCmd(),
	)
	return root
}

// getenv looks a variable up in the command's environment.
func (e *env) getenv(key string) string {
	for i := len(e.environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// client returns an API client from flags, environment or saved login.
func (e *env) client() (*client, error) {
	server, token := e.server, e.token
	if server == "" {
		server = e.getenv("DBFLEET_SERVER")
	}
	if token == "" {
		token = e.getenv("DBFLEET_TOKEN")
	}
	if server == "" || token == "" {
		saved, err := loadCredentials()
		if err != nil {
			return nil, err
		}
		if server == "" {
			server = saved.Server
		}
		if token == "" && (saved.Server == server || saved.Server == "") {
			token = saved.Token
		}
	}
	if server == "" {
		return nil, errors.New("no server: run 'dbfleet login --server URL ...' or set DBFLEET_SERVER")
	}
	if token == "" {
		return nil, fmt.Errorf("not logged in to %s: run 'dbfleet login' or set DBFLEET_TOKEN", server)
	}
	return &client{server: server, token: token, http: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// call is the common shape of a client command.
func (e *env) call(cmd *cobra.Command, method, path string, in, out any) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	return c.do(cmd.Context(), method, path, in, out)
}

// checkOutput validates -o before doing any work.
func (e *env) checkOutput() error {
	switch e.output {
	case "table", "json":
		return nil
	}
	return usageError{fmt.Errorf("invalid output format %q: want table or json", e.output)}
}

// print writes v as JSON with -o json, else calls table.
func (e *env) print(v any, table func(w io.Writer)) error {
	if e.output == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func row(w io.Writer, cols ...any) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		parts[i] = s
	}
	fmt.Fprintln(w, strings.Join(parts, "\t"))
}

// readSecret reads a password from stdin: the first line, without its
// line ending.
func (e *env) readSecret(what string) (string, error) {
	r := bufio.NewReader(e.stdin)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	return line, nil
}

// readLines reads up to n non-empty lines from stdin, without line endings.
func (e *env) readLines(n int) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(e.stdin)
	for len(out) < n && sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return out, nil
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return t.Local().Format("2006-01-02 15:04")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02 15:04")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func fmtDuration(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		return fmt.Sprintf("%dd%s", days, d.Truncate(time.Minute).String())
	}
	return d.Truncate(time.Second).String()
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

func oneName(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError{fmt.Errorf("want exactly one %s name, got %d arguments", what, len(args))}
		}
		return nil
	}
}
