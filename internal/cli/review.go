package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// reviewCmd is `dbfleet review FILE.sql|-`: offline, or against an
// instance through the server. Its exit status is the report's: 0 clean,
// 1 warnings only, 2 errors (a usage error is also 2).
func (e *env) reviewCmd() *cobra.Command {
	var eng, instance, database, rulesFile, env, cluster, kind string
	cmd := &cobra.Command{
		Use:   "review FILE.sql|- --engine mariadb|mysql|postgres [--instance NAME] [--rules FILE] [--env ENV] [--cluster NAME]",
		Short: "Review a SQL script against the review rules (offline, or with --instance against its live schema)",
		Long: `Review FILE.sql ("-" for stdin) with the review rules of --env and --cluster:
the engine's real grammar (syntax errors with their line and column), the
rules (dbfleet review rules lists them), and with --instance the live
schema of a registered instance, reviewed by the server (tables, columns
and indexes exist, table sizes, EXPLAIN row estimates).

Without --instance the review runs locally and needs no server; --rules
then adds a rule file over the built-in rule sets. With --instance the
server's rules (review.rules) apply.

Findings print as FILE:LINE:COL: LEVEL: MESSAGE [RULE] with a suggested
fix; -o json prints the report. Exit status: 0 clean, 1 warnings only,
2 errors (2 also for a usage error).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("want exactly one SQL file (or - for stdin), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkReviewOutput(); err != nil {
				return err
			}
			switch kind {
			case "", "ddl", "dml":
			default:
				return usageError{fmt.Errorf("--kind %q: want ddl or dml", kind)}
			}
			if eng == "" && instance == "" {
				return usageError{errors.New("--engine is required without --instance: mariadb, mysql or postgres")}
			}
			if eng != "" {
				switch strings.ToLower(eng) {
				case "mariadb", "mysql", "tidb", "postgres", "postgresql":
				default:
					return usageError{fmt.Errorf("--engine %q: want mariadb, mysql or postgres", eng)}
				}
			}
			if instance != "" && rulesFile != "" {
				return usageError{errors.New("--rules applies to offline reviews; with --instance the server's review.rules apply")}
			}
			name := args[0]
			var r io.Reader = e.stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				r = f
			} else {
				name = "stdin"
			}
			sql, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			var rep *sqlreview.Report
			if instance != "" {
				rep = &sqlreview.Report{}
				in := api.ReviewRequest{SQL: string(sql), Engine: eng, Instance: instance, Database: database, Env: env, Cluster: cluster, Kind: kind, Source: name}
				if err := e.call(cmd, "POST", "/api/v1/review", in, rep); err != nil {
					return err
				}
			} else {
				rv, err := sqlreview.New(sqlreview.Config{RulesFile: rulesFile})
				if err != nil {
					return usageError{err}
				}
				rep, err = rv.Review(cmd.Context(), sqlreview.Request{Engine: eng, SQL: string(sql), SourceName: name, Env: env,
					Cluster: cluster, Kind: kind, Database: database})
				if err != nil {
					return err
				}
			}
			if e.output == "json" {
				if err := e.print(rep, nil); err != nil {
					return err
				}
			} else if err := rep.WriteText(e.stdout); err != nil {
				return err
			}
			if code := rep.ExitCode(); code != 0 {
				return exitError{code: code, err: errors.New("")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&eng, "engine", "", "SQL dialect: mariadb, mysql or postgres (default with --instance: the instance's)")
	f.StringVar(&instance, "instance", "", "review on the server against this instance's live schema")
	f.StringVar(&database, "database", "", "default database (PostgreSQL: schema) unqualified names resolve in")
	f.StringVar(&rulesFile, "rules", "", "rule file over the built-in rule sets (offline reviews)")
	f.StringVar(&env, "env", "", "environment whose rule set applies (prod, test...; default with --instance: its cluster's)")
	f.StringVar(&cluster, "cluster", "", "cluster whose rule overrides apply (default with --instance: its cluster)")
	f.StringVar(&kind, "kind", "", "ticket kind: ddl (schema change) or dml (data change: no TRUNCATE/DROP)")
	cmd.AddCommand(e.reviewRulesCmd(), e.reviewExplainCmd())
	return cmd
}

// checkReviewOutput accepts text (the default, also called table) and json.
func (e *env) checkReviewOutput() error {
	switch e.output {
	case "table", "text":
		e.output = "table"
		return nil
	case "json":
		return nil
	}
	return usageError{fmt.Errorf("invalid output format %q: want text or json", e.output)}
}

func (e *env) reviewRulesCmd() *cobra.Command {
	var rulesFile, env, cluster string
	var fromServer bool
	cmd := &cobra.Command{
		Use:   "rules [--env ENV] [--cluster NAME] [--rules FILE] [--from-server]",
		Short: "List the review rules with their ids, levels and parameters",
		Long: `List every review rule with its effective level and parameters for --env
and --cluster: the built-in rule sets, then --rules FILE. With --from-server,
the server's effective rules (its review.rules file). -o json adds each
rule's explanation.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkReviewOutput(); err != nil {
				return err
			}
			var list []sqlreview.RuleInfo
			if fromServer {
				if rulesFile != "" {
					return usageError{errors.New("--rules and --from-server exclude each other")}
				}
				path := "/api/v1/review/rules?env=" + p(env) + "&cluster=" + p(cluster)
				if err := e.call(cmd, "GET", path, nil, &list); err != nil {
					return err
				}
			} else {
				rv, err := sqlreview.New(sqlreview.Config{RulesFile: rulesFile})
				if err != nil {
					return usageError{err}
				}
				list = rv.Rules(env, cluster)
			}
			return e.print(list, func(w io.Writer) {
				row(w, "RULE", "LEVEL", "ENGINES", "PARAMS", "SUMMARY")
				for _, ri := range list {
					row(w, ri.ID, ri.Level, strings.Join(ri.Engines, ","), formatParams(ri.Params), ri.Summary)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&rulesFile, "rules", "", "rule file over the built-in rule sets")
	f.StringVar(&env, "env", "", "environment whose rule set applies")
	f.StringVar(&cluster, "cluster", "", "cluster whose overrides apply")
	f.BoolVar(&fromServer, "from-server", false, "list the server's effective rules")
	return cmd
}

func (e *env) reviewExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain RULE",
		Short: "Explain a review rule: why it exists, its default level and parameters",
		Args:  oneName("rule"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkReviewOutput(); err != nil {
				return err
			}
			rv, err := sqlreview.New(sqlreview.Config{})
			if err != nil {
				return err
			}
			ri, ok := rv.Explain(args[0])
			if !ok {
				return usageError{fmt.Errorf("unknown rule %q (dbfleet review rules lists them)", args[0])}
			}
			return e.print(ri, func(w io.Writer) {
				fmt.Fprintf(w, "%s\t%s (default %s; engines %s)\n\n", ri.ID, ri.Summary, ri.DefaultLevel, strings.Join(ri.Engines, ", "))
				fmt.Fprintf(w, "%s\n", ri.Explanation)
				for _, p := range ri.Params {
					fmt.Fprintf(w, "\n  %s (%s, default %v): %s", p.Name, p.Type, p.Default, p.Help)
				}
				if len(ri.Params) > 0 {
					fmt.Fprintln(w)
				}
			})
		},
	}
}

func formatParams(ps []sqlreview.ParamInfo) string {
	var out []string
	for _, p := range ps {
		v := fmt.Sprint(p.Value)
		if l, ok := p.Value.([]string); ok {
			v = strings.Join(l, ",")
		}
		if l, ok := p.Value.([]any); ok {
			var parts []string
			for _, x := range l {
				parts = append(parts, fmt.Sprint(x))
			}
			v = strings.Join(parts, ",")
		}
		out = append(out, p.Name+"="+v)
	}
	return strings.Join(out, " ")
}
