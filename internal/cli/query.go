package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/query"
)

// splitScope reads INSTANCE[/DB[/TABLE]].
func splitScope(s string) (instance, db, table string, err error) {
	parts := strings.SplitN(s, "/", 3)
	for _, p := range parts {
		if p == "" {
			return "", "", "", usageError{fmt.Errorf("%q: want INSTANCE, INSTANCE/DB or INSTANCE/DB/TABLE", s)}
		}
	}
	instance = parts[0]
	if len(parts) > 1 {
		db = parts[1]
	}
	if len(parts) > 2 {
		table = parts[2]
	}
	return instance, db, table, nil
}

func (e *env) queryCmd() *cobra.Command {
	var file, timeout string
	var limit int
	var primary bool
	cmd := &cobra.Command{
		Use:   "query INSTANCE[/DB] [STATEMENT]",
		Short: "Run a read-only query (SELECT, SHOW, EXPLAIN, DESCRIBE; Redis read commands) within your grants",
		Long: `Run one read-only statement on an instance, within your query grants.

The statement is parsed and only reads pass; the session is read-only, with
a statement timeout and a row limit; a healthy replica of the instance's
cluster serves it when there is one (--primary to use the instance named).
Masked columns are shown masked. Every query is audited.

The statement comes from the argument, --file FILE, or stdin (--file -).
Output: -o table (default), json or csv.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("want INSTANCE[/DB] and a statement (or --file), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch e.output {
			case "table", "json", "csv":
			default:
				return usageError{fmt.Errorf("invalid output format %q: want table, json or csv", e.output)}
			}
			instance, db, table, err := splitScope(args[0])
			if err != nil {
				return err
			}
			if table != "" {
				return usageError{fmt.Errorf("%q: want INSTANCE or INSTANCE/DB", args[0])}
			}
			var stmt string
			switch {
			case len(args) == 2 && file != "":
				return usageError{errors.New("give the statement as an argument or with --file, not both")}
			case len(args) == 2:
				stmt = args[1]
			case file == "-":
				b, err := io.ReadAll(e.stdin)
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				stmt = string(b)
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				stmt = string(b)
			default:
				return usageError{errors.New("no statement: give it as an argument or with --file FILE (- for stdin)")}
			}
			req := query.Request{Instance: instance, Database: db, Statement: stmt, Limit: limit, Timeout: timeout, Primary: primary}
			c, err := e.client()
			if err != nil {
				return err
			}
			if e.output == "csv" {
				body, err := c.doRaw(cmd.Context(), "POST", "/api/v1/console/csv", req)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(body)
				return err
			}
			var res query.Result
			if err := c.do(cmd.Context(), "POST", "/api/v1/console/run", req, &res); err != nil {
				return err
			}
			if e.output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printResult(e.stdout, e.stderr, &res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "read the statement from FILE (- for stdin)")
	f.IntVar(&limit, "limit", 0, "return at most N rows (lower than your row limit)")
	f.StringVar(&timeout, "timeout", "", "stop the statement after this long, e.g. 5s (at most the server's limit)")
	f.BoolVar(&primary, "primary", false, "run on the instance named even when a healthy replica could serve")
	cmd.AddCommand(e.queryInstancesCmd(), e.querySchemaCmd(), e.queryGrantCmd(), e.queryGrantsCmd(), e.queryRevokeCmd(), e.queryMaskCmd(), e.queryCredentialCmd(), e.queryReaderCmd())
	return cmd
}

// printResult writes the rows as a table on out and a summary on errOut.
func printResult(out, errOut io.Writer, res *query.Result) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = cell(c.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = cell(query.FormatValue(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	var masked []string
	for _, c := range res.Columns {
		if c.Masked != "" {
			masked = append(masked, fmt.Sprintf("%s (%s)", c.Name, c.Masked))
		}
	}
	summary := fmt.Sprintf("%d row(s) in %s on %s", len(res.Rows), res.Took.Round(100_000), res.RanOn)
	if res.Truncated {
		summary += fmt.Sprintf("; truncated at the row limit %d", res.RowLimit)
	}
	if len(masked) > 0 {
		summary += "; masked: " + strings.Join(masked, ", ")
	}
	fmt.Fprintln(errOut, "("+summary+")")
	for _, n := range res.Notes {
		fmt.Fprintln(errOut, "note: "+n)
	}
}

// cell keeps a value on one line of a table.
func cell(s string) string {
	if s == "" {
		return `""`
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

// doRaw calls the API and returns the body as it came (CSV downloads).
func (c *client) doRaw(ctx context.Context, method, path string, in any) ([]byte, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bad server address %q: %w", c.server, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach dbfleet server at %s: %w", c.server, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("read response from %s: %w", c.server, err)
	}
	if resp.StatusCode >= 400 {
		var eb httpx.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return nil, &apiError{Status: resp.StatusCode, Kind: eb.Error.Kind, Message: eb.Error.Message, Rule: eb.Error.Rule}
		}
		return nil, &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("server answered %s", resp.Status)}
	}
	return data, nil
}

func (e *env) queryInstancesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "instances",
		Short: "List the instances you may query and what your grants cover",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []query.QueryInstance
			if err := e.call(cmd, "GET", "/api/v1/console/instances", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "INSTANCE", "ENGINE", "CLUSTER", "ROLE", "GRANTED")
				for _, in := range out {
					row(w, in.Name, in.Engine, in.Cluster, in.Role, strings.Join(in.Scopes, ", "))
				}
			})
		},
	}
}

func (e *env) querySchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema INSTANCE[/DB[/TABLE]]",
		Short: "Browse what you may query: databases, a database's tables, a table's columns",
		Args:  oneName("INSTANCE[/DB[/TABLE]]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			instance, db, table, err := splitScope(args[0])
			if err != nil {
				return err
			}
			path := "/api/v1/console/schema/" + p(instance)
			switch {
			case table != "":
				var out []query.SchemaColumn
				if err := e.call(cmd, "GET", path+"/"+p(db)+"/"+p(table), nil, &out); err != nil {
					return err
				}
				return e.print(out, func(w io.Writer) {
					row(w, "COLUMN", "TYPE", "MASKED")
					for _, c := range out {
						row(w, c.Name, c.Type, c.Masked)
					}
				})
			case db != "":
				var out []query.SchemaTable
				if err := e.call(cmd, "GET", path+"/"+p(db), nil, &out); err != nil {
					return err
				}
				return e.print(out, func(w io.Writer) {
					row(w, "TABLE", "TYPE")
					for _, t := range out {
						row(w, t.Name, t.Type)
					}
				})
			}
			var out []string
			if err := e.call(cmd, "GET", path, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "DATABASE")
				for _, d := range out {
					row(w, d)
				}
			})
		},
	}
}

func (e *env) queryGrantCmd() *cobra.Command {
	var n query.NewGrant
	cmd := &cobra.Command{
		Use:   "grant (--user U | --role R) INSTANCE[/DB[/TABLE]] [--expires 72h|30d|DATE] [--reason TEXT]",
		Short: "Grant query access to an instance, a database or a table (again: renew)",
		Args:  oneName("INSTANCE[/DB[/TABLE]]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if (n.User == "") == (n.Role == "") {
				return usageError{errors.New("give exactly one of --user and --role")}
			}
			var err error
			if n.Instance, n.Database, n.Table, err = splitScope(args[0]); err != nil {
				return err
			}
			var out query.Grant
			if err := e.call(cmd, "POST", "/api/v1/console/grants", n, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				until := "no expiry"
				if !out.ExpiresAt.IsZero() {
					until = "until " + fmtTime(out.ExpiresAt)
				}
				fmt.Fprintf(w, "Granted %s query access to %s (%s), grant %d.\n", out.Subject(), out.Scope(), until, out.ID)
				if out.Note != "" {
					fmt.Fprintln(e.stderr, "note: "+out.Note)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.User, "user", "", "the user to grant")
	f.StringVar(&n.Role, "role", "", "the role to grant (applies to it and the roles above it)")
	f.StringVar(&n.Expires, "expires", "", "expiry: a duration (72h, 30d), a date (2026-01-31) or an RFC 3339 time; default none")
	f.StringVar(&n.Reason, "reason", "", "why (a ticket), kept with the grant and in the audit log")
	return cmd
}

func (e *env) queryGrantsCmd() *cobra.Command {
	var user, instance string
	var all bool
	cmd := &cobra.Command{
		Use:   "grants [--user U] [--instance I] [--all]",
		Short: "List query grants (yours; anyone's with query.grant)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if user != "" {
				q.Set("user", user)
			}
			if instance != "" {
				q.Set("instance", instance)
			}
			if all {
				q.Set("all", "true")
			}
			var out []query.Grant
			if err := e.call(cmd, "GET", "/api/v1/console/grants?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "SUBJECT", "SCOPE", "EXPIRES", "REASON", "BY")
				for _, g := range out {
					exp := fmtTime(g.ExpiresAt)
					if g.Expired {
						exp += " (expired)"
					}
					row(w, g.ID, g.Subject(), g.Scope(), exp, g.Reason, g.GrantedBy)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "grants that apply to this user (theirs and their role's)")
	f.StringVar(&instance, "instance", "", "grants on this instance")
	f.BoolVar(&all, "all", false, "include expired grants")
	return cmd
}

func (e *env) queryRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a query grant",
		Args:  oneName("grant id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("invalid grant id %q", args[0])}
			}
			if err := e.call(cmd, "DELETE", "/api/v1/console/grants/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Revoked grant %s.\n", args[0])
			return nil
		},
	}
}

func (e *env) queryMaskCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mask", Short: "Masking rules: which columns callers without query.unmask see masked"}
	var r query.MaskRule
	var kind string
	add := &cobra.Command{
		Use:   "add SPEC --kind KIND [--instance GLOB] [--keep-first N --keep-last N]",
		Short: "Add a masking rule: SPEC is COLUMN, TABLE.COLUMN, DB.TABLE.COLUMN or DB.SCHEMA.TABLE.COLUMN, each part a glob",
		Args:  oneName("column spec"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			k, err := query.ParseMaskKind(kind)
			if err != nil {
				return usageError{err}
			}
			r.Kind = k
			if r.Database, r.Table, r.Column, err = query.ParseColumnSpec(args[0]); err != nil {
				return usageError{err}
			}
			var out query.MaskRule
			if err := e.call(cmd, "POST", "/api/v1/console/masks", r, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Added masking rule %d: %s masked as %s%s.\n", out.ID, out.Spec(), out.Kind, onInstance(out.Instance))
			})
		},
	}
	f := add.Flags()
	f.StringVar(&kind, "kind", "", "phone, email, id_card, bank_card, full or custom (required)")
	f.StringVar(&r.Instance, "instance", "", "only on instances matching this glob (default all)")
	f.IntVar(&r.KeepFirst, "keep-first", 0, "custom: characters kept at the start")
	f.IntVar(&r.KeepLast, "keep-last", 0, "custom: characters kept at the end")
	add.MarkFlagRequired("kind")
	list := &cobra.Command{
		Use:   "list",
		Short: "List masking rules",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []query.MaskRule
			if err := e.call(cmd, "GET", "/api/v1/console/masks", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "INSTANCE", "COLUMNS", "KIND", "BY")
				for _, m := range out {
					kind := string(m.Kind)
					if m.Kind == query.MaskCustom {
						kind = fmt.Sprintf("custom (first %d, last %d)", m.KeepFirst, m.KeepLast)
					}
					row(w, m.ID, orAll(m.Instance), m.Spec(), kind, m.CreatedBy)
				}
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a masking rule",
		Args:  oneName("rule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("invalid rule id %q", args[0])}
			}
			if err := e.call(cmd, "DELETE", "/api/v1/console/masks/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed masking rule %s.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func onInstance(glob string) string {
	if glob == "" {
		return ""
	}
	return " on instances " + glob
}

func orAll(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func (e *env) queryCredentialCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "Read-only accounts a DBA sets for the query console instead of the managed reader"}
	var user string
	var pwStdin bool
	set := &cobra.Command{
		Use:   "set INSTANCE --user U --password-stdin",
		Short: "Set an instance's query account (checked by logging in; stored encrypted)",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if !pwStdin {
				return usageError{errors.New("--password-stdin is required")}
			}
			pw, err := e.readSecret("password")
			if err != nil {
				return err
			}
			var out query.Credential
			if err := e.call(cmd, "PUT", "/api/v1/console/credentials/"+p(args[0]), query.NewCredential{User: user, Password: pw}, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Queries on %s now log in as %s.\n", out.Instance, out.User)
			})
		},
	}
	set.Flags().StringVar(&user, "user", "", "account name (required)")
	set.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin")
	set.MarkFlagRequired("user")
	list := &cobra.Command{
		Use:   "list",
		Short: "List instances with a query account",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []query.Credential
			if err := e.call(cmd, "GET", "/api/v1/console/credentials", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "INSTANCE", "USER", "BY", "UPDATED")
				for _, c := range out {
					row(w, c.Instance, c.User, c.UpdatedBy, fmtTime(c.UpdatedAt))
				}
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove INSTANCE",
		Short: "Remove an instance's query account",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "DELETE", "/api/v1/console/credentials/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed the query account of %s; its queries log in as the managed reader again.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(set, list, remove)
	return cmd
}

func (e *env) queryReaderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reader", Short: "The least-privilege accounts dbfleet creates for queries on each instance"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the managed reader accounts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []query.Reader
			if err := e.call(cmd, "GET", "/api/v1/console/readers", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "INSTANCE", "KIND", "ACCOUNT", "USED BY", "MAY READ", "SYNCED", "ROTATED", "ERROR")
				for _, r := range out {
					row(w, r.Instance, r.Kind, readerAccount(r), strings.Join(r.UsedBy, ", "), orNothing(r.Scope), fmtTime(r.SyncedAt), fmtTime(r.RotatedAt), r.SyncError)
				}
			})
		},
	}
	one := func(use, short, method, suffix, done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " INSTANCE",
			Short: short,
			Args:  oneName("instance"),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := e.checkOutput(); err != nil {
					return err
				}
				var out []query.Reader
				if err := e.call(cmd, method, "/api/v1/console/readers/"+p(args[0])+suffix, nil, &out); err != nil {
					return err
				}
				return e.print(out, func(w io.Writer) {
					for i, r := range out {
						if i > 0 {
							fmt.Fprintln(w)
						}
						if done != "" {
							fmt.Fprintf(w, done+"\n", readerAccount(r), r.Instance)
						}
						printReader(w, r)
					}
				})
			},
		}
	}
	cmd.AddCommand(list,
		one("show", "Show the readers queries on an instance log in as (grant reader, read-all reader), and what the server reports of each now", "GET", "", ""),
		one("sync", "Create the instance's readers if missing and give each exactly what it needs now", "POST", "/sync", "Reader %s on %s is in line."),
		one("rotate", "Give the instance's readers new passwords (open sessions go on)", "POST", "/rotate", "Reader %s on %s has a new password."))
	return cmd
}

func readerAccount(r query.Reader) string {
	if r.Host != "" {
		return r.User + "@" + r.Host
	}
	return r.User
}

// readerKindText says whose reads log in as a reader of kind k.
func readerKindText(k string) string {
	switch k {
	case "grants":
		return "grants (reads through query grants: what the grants name)"
	case "all":
		return "all (reads of DBAs and admins: every non-system database)"
	}
	return k
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

func printReader(w io.Writer, r query.Reader) {
	row(w, "instance", fmt.Sprintf("%s (%s)", r.Instance, r.Engine))
	row(w, "kind", readerKindText(r.Kind))
	row(w, "account", readerAccount(r))
	row(w, "used by", strings.Join(r.UsedBy, ", "))
	row(w, "may read", orNothing(r.Scope))
	row(w, "created", fmtTime(r.CreatedAt))
	row(w, "rotated", fmtTime(r.RotatedAt))
	row(w, "synced", fmtTime(r.SyncedAt))
	if r.RotationPending {
		row(w, "rotation", "pending (completed by the next synchronisation)")
	}
	if r.SyncError != "" {
		row(w, "sync error", r.SyncError)
	}
	if c := r.Check; c != nil {
		row(w, "server says", findingText(*c))
	}
}
