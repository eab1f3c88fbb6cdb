package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/reports"
)

func (e *env) reportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports declared in XML files: list, show, run, validate"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the reports you may view (and, for DBAs, the files that do not load)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out api.ReportList
			if err := e.call(cmd, "GET", "/api/v1/reports", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "VERSION", "TITLE", "RUN")
				for _, r := range out.Reports {
					row(w, r.ID, r.Version, r.Title, r.CanRun)
				}
				if len(out.Problems) > 0 {
					fmt.Fprintf(w, "\nFiles in %s that do not load (the previous version of each stays active):\n", out.Dir)
					for _, p := range out.Problems {
						fmt.Fprintln(w, "  "+p.String())
					}
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show a report: its parameters, data sources, datasets and blocks",
		Args:  oneName("report"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var d api.ReportDetail
			if err := e.call(cmd, "GET", "/api/v1/reports/"+p(args[0]), nil, &d); err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) {
				row(w, "id", d.ID)
				row(w, "title", d.Title)
				row(w, "version", d.Version)
				if d.Description != "" {
					row(w, "description", d.Description)
				}
				fmt.Fprintln(w, "\nPARAMETERS")
				row(w, "NAME", "TYPE", "REQUIRED", "DEFAULT", "LOCKED")
				for _, pr := range d.Params {
					row(w, pr.Name, pr.Type, pr.Required, pr.Default, d.Locked[pr.Name])
				}
				fmt.Fprintln(w, "\nDATA SOURCES")
				row(w, "NAME", "KIND", "TARGET", "DATABASE", "TIMEOUT", "ON ERROR")
				for _, ds := range d.DataSources {
					onErr := "fail"
					if ds.Partial {
						onErr = "partial"
					}
					row(w, ds.Name, ds.Kind, ds.Target, ds.Database, ds.Timeout, onErr)
				}
				fmt.Fprintln(w, "\nDATASETS")
				row(w, "NAME", "DATA SOURCE", "MAX ROWS")
				for _, ds := range d.Datasets {
					row(w, ds.Name, ds.DataSource, ds.MaxRows)
				}
			})
		},
	})
	var params []string
	var dataset string
	run := &cobra.Command{
		Use:   "run ID",
		Short: "Run a report: --param k=v (repeatable); -o table, json, csv (one dataset: --dataset) or xlsx (to stdout)",
		Args:  oneName("report"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch e.output {
			case "table", "json", "csv", "xlsx":
			default:
				return usageError{fmt.Errorf("invalid output format %q: want table, json, csv or xlsx", e.output)}
			}
			in := api.RunReport{Params: map[string]string{}}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--param %q: want name=value", kv)}
				}
				in.Params[k] = v
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			if e.output == "csv" || e.output == "xlsx" {
				path := "/api/v1/reports/" + p(args[0]) + "/export?format=" + e.output
				if dataset != "" {
					path += "&dataset=" + p(dataset)
				}
				body, err := c.doRaw(cmd.Context(), "POST", path, in)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(body)
				return err
			}
			var res reports.Result
			if err := c.do(cmd.Context(), "POST", "/api/v1/reports/"+p(args[0])+"/run", in, &res); err != nil {
				return err
			}
			if e.output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return e.print(res, func(w io.Writer) { printReport(w, &res) })
		},
	}
	run.Flags().StringArrayVarP(&params, "param", "p", nil, "a parameter value, name=value (repeatable)")
	run.Flags().StringVar(&dataset, "dataset", "", "with -o csv: the dataset to write (default the first)")
	cmd.AddCommand(run)
	var snapParams []string
	snap := &cobra.Command{
		Use:   "snapshot ID",
		Short: "Run a report and store the result with its parameters: --param k=v (repeatable)",
		Args:  oneName("report"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			in := api.RunReport{Params: map[string]string{}}
			for _, kv := range snapParams {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--param %q: want name=value", kv)}
				}
				in.Params[k] = v
			}
			var sn reports.Snapshot
			if err := e.call(cmd, "POST", "/api/v1/reports/"+p(args[0])+"/snapshots", in, &sn); err != nil {
				return err
			}
			return e.print(sn, func(w io.Writer) {
				fmt.Fprintf(w, "Snapshot %d of %s (version %d): %d row(s).\n", sn.ID, sn.Report, sn.Version, sn.Rows)
			})
		},
	}
	snap.Flags().StringArrayVarP(&snapParams, "param", "p", nil, "a parameter value, name=value (repeatable)")
	cmd.AddCommand(snap)
	cmd.AddCommand(&cobra.Command{
		Use:   "snapshots ID",
		Short: "List a report's snapshots, newest first",
		Args:  oneName("report"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []reports.Snapshot
			if err := e.call(cmd, "GET", "/api/v1/reports/"+p(args[0])+"/snapshots", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "TAKEN", "BY", "VERSION", "ROWS", "PARAMS")
				for _, sn := range out {
					var ps []string
					for k, v := range sn.Params {
						ps = append(ps, k+"="+v)
					}
					sort.Strings(ps)
					row(w, sn.ID, fmtTime(sn.CreatedAt), sn.CreatedBy, sn.Version, sn.Rows, strings.Join(ps, " "))
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "compare SNAPSHOT OTHER",
		Short: "Compare two snapshots of a report: rows added and removed per dataset",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{errors.New("want two snapshot ids")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var c reports.Comparison
			if err := e.call(cmd, "GET", "/api/v1/report-snapshots/"+p(args[0])+"?compare="+p(args[1]), nil, &c); err != nil {
				return err
			}
			return e.print(c, func(w io.Writer) {
				fmt.Fprintf(w, "%s: snapshot %d (%s) -> %d (%s)\n", c.Newer.Report, c.Older.ID, fmtTime(c.Older.CreatedAt), c.Newer.ID, fmtTime(c.Newer.CreatedAt))
				for _, d := range c.Datasets {
					fmt.Fprintf(w, "\n%s: %d -> %d rows, %d added, %d removed\n", d.Name, d.OlderRows, d.NewerRows, len(d.Added), len(d.Removed))
					for _, r := range d.Added {
						fmt.Fprintln(w, "+ "+strings.Join(r, "\t"))
					}
					for _, r := range d.Removed {
						fmt.Fprintln(w, "- "+strings.Join(r, "\t"))
					}
				}
			})
		},
	})
	var sub reports.SubscribeRequest
	var subParams []string
	subscribe := &cobra.Command{
		Use:   "subscribe ID --channel NAME --schedule CRON [--param k=v]... [--attach csv|xlsx] [--skip-empty]",
		Short: "Subscribe to a report: delivered on a schedule to a notification channel",
		Args:  oneName("report"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			sub.Params = map[string]string{}
			for _, kv := range subParams {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--param %q: want name=value", kv)}
				}
				sub.Params[k] = v
			}
			var out reports.Subscription
			if err := e.call(cmd, "POST", "/api/v1/reports/"+p(args[0])+"/subscriptions", sub, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Subscription %d: %s to %s on %q.\n", out.ID, out.Report, out.Channel, out.Schedule)
			})
		},
	}
	sf := subscribe.Flags()
	sf.StringVar(&sub.Channel, "channel", "", "a notification channel (notify.channels): e-mail or chat")
	sf.StringVar(&sub.Schedule, "schedule", "", "when: a cron specification, e.g. \"0 8 * * MON\"")
	sf.StringArrayVarP(&subParams, "param", "p", nil, "a parameter value, name=value (repeatable)")
	sf.StringVar(&sub.Attach, "attach", "", "attach the data to e-mails: csv or xlsx")
	sf.BoolVar(&sub.SkipEmpty, "skip-empty", false, "send nothing when every dataset is empty")
	cmd.AddCommand(subscribe)
	cmd.AddCommand(&cobra.Command{
		Use:   "subscriptions",
		Short: "Your report subscriptions (everyone's for DBAs) with their last delivery",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []reports.Subscription
			if err := e.call(cmd, "GET", "/api/v1/report-subscriptions", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "REPORT", "OWNER", "CHANNEL", "SCHEDULE", "LAST", "AT", "ERROR")
				for _, s := range out {
					at := "-"
					if !s.LastAt.IsZero() {
						at = fmtTime(s.LastAt)
					}
					row(w, s.ID, s.Report, s.Owner, s.Channel, s.Schedule, s.LastState, at, s.LastError)
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "unsubscribe SUBSCRIPTION",
		Short: "Remove a report subscription",
		Args:  oneName("subscription"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "DELETE", "/api/v1/report-subscriptions/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed subscription %s.\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "validate DIR",
		Short: "Check a directory of report files offline; every problem is listed as file:line:col and the exit status is 1",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("want the report directory")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			rs, probs := reports.LoadDir(args[0])
			type result struct {
				Reports  []string          `json:"reports"`
				Problems []reports.Problem `json:"problems"`
			}
			res := result{Reports: []string{}, Problems: probs}
			if res.Problems == nil {
				res.Problems = []reports.Problem{}
			}
			for _, r := range rs {
				res.Reports = append(res.Reports, r.ID)
			}
			e.print(res, func(w io.Writer) {
				for _, pr := range probs {
					fmt.Fprintln(w, pr.String())
				}
				if len(probs) == 0 {
					fmt.Fprintf(w, "ok: %d report(s): %s\n", len(rs), strings.Join(res.Reports, ", "))
				}
			})
			if len(probs) > 0 {
				return exitError{code: 1, err: fmt.Errorf("%d problem(s) in report files", len(probs))}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "reload",
		Short: "Make the server read its report directory now",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out api.ReportList
			if err := e.call(cmd, "POST", "/api/v1/reports/reload", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d report(s) visible, %d problem(s).\n", len(out.Reports), len(out.Problems))
			for _, pr := range out.Problems {
				fmt.Fprintln(e.stdout, "  "+pr.String())
			}
			return nil
		},
	})
	return cmd
}

// printReport writes a run as text: each block, tables as columns.
func printReport(w io.Writer, res *reports.Result) {
	fmt.Fprintf(w, "%s (version %d)\n", res.Title, res.Version)
	for _, d := range res.Data {
		for _, f := range d.Failed {
			fmt.Fprintf(w, "PARTIAL %s: %s failed: %s\n", d.Name, f.Source, f.Error)
		}
		if d.Truncated {
			fmt.Fprintf(w, "TRUNCATED %s: the first %d rows\n", d.Name, len(d.Rows))
		}
	}
	for _, b := range res.Blocks {
		fmt.Fprintln(w)
		if b.Title != "" {
			fmt.Fprintln(w, strings.ToUpper(b.Title))
		}
		if b.Note != "" {
			fmt.Fprintln(w, "("+b.Note+")")
		}
		switch b.Kind {
		case "text":
			fmt.Fprintln(w, b.Text)
		case "number":
			fmt.Fprintln(w, b.Value)
		case "table":
			row(w, anys(b.Headers)...)
			for _, cells := range b.Cells {
				vals := make([]any, len(cells))
				for i, c := range cells {
					vals[i] = c.Text
				}
				row(w, vals...)
			}
			if b.Totals != nil {
				row(w, anys(b.Totals)...)
			}
		case "chart":
			if b.SVG != "" {
				fmt.Fprintf(w, "(chart of dataset %s: see the web UI)\n", b.Dataset)
			}
		case "subreport":
			for k, v := range b.Returns {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
