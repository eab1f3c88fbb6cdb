package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

func (e *env) slowlogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "slowlog", Short: "Slow-query digests: offline from slow-log files, or collected per instance by the server"}
	cmd.AddCommand(e.slowlogDigestCmd(), e.slowlogUploadCmd(), e.slowlogTopCmd(), e.slowlogShowCmd(), e.slowlogSourcesCmd(), e.slowlogCollectCmd())
	return cmd
}

// slowlogTime reads a --since/--until value: a duration ago ("24h"), a
// date, "YYYY-MM-DD HH:MM[:SS]" in local time, or RFC 3339.
func slowlogTime(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("invalid %s %q: want a duration ago (24h), a date (2026-01-31), a local time (2026-01-31 14:00) or an RFC 3339 time", flag, v)}
}

func (e *env) slowlogDigestCmd() *cobra.Command {
	var since, until, orderBy string
	var limit, workers int
	cmd := &cobra.Command{
		Use:   "digest FILE...",
		Short: "Digest MariaDB/MySQL slow logs (plain, .gz or - for stdin) into a pt-query-digest style report, offline",
		Long: `Digest slow logs offline, with no server: classes of statements with the
same fingerprint (and the same query ids as pt-query-digest), ranked by total
time, with an overall summary, a profile and a section per class.

Several files are read as one log, in order. Gzip files are recognised by
content. Output: -o text (or table, the default) or -o json.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("want at least one slow-log file (- for stdin)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text := true
			switch e.output {
			case "table", "text":
			case "json":
				text = false
			default:
				return usageError{fmt.Errorf("invalid output format %q: want text or json", e.output)}
			}
			order, ok := slowlog.ParseOrderBy(orderBy)
			if !ok {
				return usageError{fmt.Errorf("invalid --order-by %q: want sum, count, max or p95", orderBy)}
			}
			if limit < 0 {
				return usageError{fmt.Errorf("invalid --limit %d: want 0 (all) or more", limit)}
			}
			now := time.Now()
			opts := slowlog.Options{Workers: workers}
			var err error
			if opts.Since, err = slowlogTime("--since", since, now); err != nil {
				return err
			}
			if opts.Until, err = slowlogTime("--until", until, now); err != nil {
				return err
			}
			if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
				return usageError{fmt.Errorf("--until %s is not after --since %s", until, since)}
			}
			var inputs []slowlog.Input
			for _, f := range args {
				rc, err := slowlog.OpenFile(f, e.stdin)
				if err != nil {
					return fmt.Errorf("open slow log: %w", err)
				}
				defer rc.Close()
				name := f
				if f == "-" {
					name = "(stdin)"
				}
				inputs = append(inputs, slowlog.Input{Name: name, R: rc})
			}
			d, err := slowlog.Run(cmd.Context(), inputs, opts)
			if err != nil {
				return err
			}
			if d.Skipped > 0 {
				first := d.SkippedEvents[0]
				fmt.Fprintf(e.stderr, "warning: skipped %d events with numbers out of range; the first at %s:%d: %s\n", d.Skipped, first.File, first.Line, first.Reason)
			}
			if d.Events == 0 && opts.Since.IsZero() && opts.Until.IsZero() {
				fmt.Fprintf(e.stderr, "warning: no slow-log events found in %s (is it a MariaDB/MySQL slow log?)\n", strings.Join(args, ", "))
			}
			ro := slowlog.ReportOptions{Limit: limit, OrderBy: order}
			if !text {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d.Report(ro))
			}
			return d.WriteText(e.stdout, ro)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "only events at or after this time (24h, 2026-01-31, 2026-01-31 14:00, RFC 3339)")
	f.StringVar(&until, "until", "", "only events before this time")
	f.IntVar(&limit, "limit", 20, "classes to report in detail (0: all); the rest are summed in the profile's MISC row")
	f.StringVar(&orderBy, "order-by", "sum", "rank classes by total time (sum), calls (count), worst time (max) or 95th percentile (p95)")
	f.IntVar(&workers, "workers", 0, "parallel parsers (default: GOMAXPROCS)")
	return cmd
}

func (e *env) slowlogUploadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "upload INSTANCE FILE",
		Short: "Send an instance's slow log (plain, .gz, or - for stdin) to the server, which keeps its per-class hourly aggregates",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want INSTANCE and FILE (- for stdin), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			var body io.Reader = e.stdin
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open slow log: %w", err)
				}
				defer f.Close()
				body = f
			}
			// Sent as is (gzip stays compressed), streamed, with no
			// client timeout: large logs take a while.
			req, err := http.NewRequestWithContext(cmd.Context(), "POST", strings.TrimRight(c.server, "/")+"/api/v1/instances/"+p(args[0])+"/slowlog", body)
			if err != nil {
				return fmt.Errorf("bad server address %q: %w", c.server, err)
			}
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := (&http.Client{}).Do(req)
			if err != nil {
				return fmt.Errorf("cannot reach dbfleet server at %s: %w", c.server, unwrapURLError(err))
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("read response from %s: %w", c.server, err)
			}
			if resp.StatusCode >= 400 {
				var eb httpx.ErrorBody
				if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
					return &apiError{Status: resp.StatusCode, Kind: eb.Error.Kind, Message: eb.Error.Message}
				}
				return &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("server answered %s: %s", resp.Status, strings.TrimSpace(string(data)))}
			}
			var out slowlog.UploadResult
			if err := json.Unmarshal(data, &out); err != nil {
				return fmt.Errorf("unexpected response from %s: %w", c.server, err)
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Uploaded %s to %s: %d events, %d classes, %d hourly buckets", slowlog.Shorten(float64(out.Bytes), 1024)+"B", out.Instance, out.Events, out.Classes, out.Buckets)
				if !out.From.IsZero() {
					fmt.Fprintf(w, ", %s to %s", fmtTime(out.From), fmtTime(out.To))
				}
				fmt.Fprintln(w, ".")
				if out.Skipped > 0 {
					fmt.Fprintf(w, "Skipped %d events with numbers out of range:\n", out.Skipped)
					for _, s := range out.SkippedEvents {
						fmt.Fprintf(w, "  line %d: %s\n", s.Line, s.Reason)
					}
				}
			})
		},
	}
}

// slowlogQuery builds the query string of a range and order.
func slowlogQuery(since, until, orderBy string, limit int) (string, error) {
	q := url.Values{}
	now := time.Now()
	for _, f := range []struct{ name, v string }{{"since", since}, {"until", until}} {
		if f.v == "" {
			continue
		}
		t, err := slowlogTime("--"+f.name, f.v, now)
		if err != nil {
			return "", err
		}
		q.Set(f.name, t.UTC().Format(time.RFC3339))
	}
	if orderBy != "" {
		if _, ok := slowlog.ParseOrderBy(orderBy); !ok {
			return "", usageError{fmt.Errorf("invalid --order-by %q: want sum, count, max or p95", orderBy)}
		}
		q.Set("order_by", orderBy)
	}
	if limit != 0 {
		if limit < 1 {
			return "", usageError{fmt.Errorf("invalid --limit %d: want 1 or more", limit)}
		}
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) == 0 {
		return "", nil
	}
	return "?" + q.Encode(), nil
}

func (e *env) slowlogTopCmd() *cobra.Command {
	var since, until, orderBy string
	var limit int
	cmd := &cobra.Command{
		Use:   "top INSTANCE",
		Short: "An instance's top slow-query classes over a time range (default: the last 24 hours)",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			qs, err := slowlogQuery(since, until, orderBy, limit)
			if err != nil {
				return err
			}
			var out slowlog.TopResult
			if err := e.call(cmd, "GET", "/api/v1/instances/"+p(args[0])+"/slowlog/top"+qs, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "# %s: %d classes, %d calls, %s from %s to %s\n", out.Instance, out.Classes, out.Calls, slowlog.FormatSeconds(out.Time), fmtTime(out.Since), fmtTime(out.Until))
				row(w, "RANK", "QUERY ID", "CALLS", "TOTAL", "SHARE", "AVG", "P95", "MAX", "ROWS EXAMINED", "STATEMENT")
				for i, c := range out.Top {
					fp := c.Fingerprint
					if len(fp) > 80 {
						fp = fp[:80] + "..."
					}
					row(w, i+1, "0x"+c.QueryID, c.Calls, slowlog.FormatSeconds(c.QueryTime), fmt.Sprintf("%.1f%%", c.Share*100),
						slowlog.FormatSeconds(c.Avg), slowlog.FormatSeconds(c.P95), slowlog.FormatSeconds(c.Max), c.RowsExamined, fp)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "start of the range (24h, 2026-01-31, 2026-01-31 14:00, RFC 3339; default 24h ago)")
	f.StringVar(&until, "until", "", "end of the range (default now)")
	f.StringVar(&orderBy, "order-by", "sum", "rank by total time (sum), calls (count), worst time (max) or 95th percentile (p95)")
	f.IntVar(&limit, "limit", 20, "how many classes")
	return cmd
}

func (e *env) slowlogShowCmd() *cobra.Command {
	var since, until string
	var explain bool
	cmd := &cobra.Command{
		Use:   "show INSTANCE QUERYID",
		Short: "One slow-query class of an instance: totals, hourly trend, distribution and worst example as your query grants allow (--explain runs EXPLAIN on it through the query console)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want INSTANCE and QUERYID, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			qs, err := slowlogQuery(since, until, "", 0)
			if err != nil {
				return err
			}
			base := "/api/v1/instances/" + p(args[0]) + "/slowlog/classes/" + p(args[1])
			var c slowlog.ClassDetail
			if err := e.call(cmd, "GET", base+qs, nil, &c); err != nil {
				return err
			}
			var ex *slowlog.ExplainResult
			if explain {
				ex = &slowlog.ExplainResult{}
				if err := e.call(cmd, "POST", base+"/explain", nil, ex); err != nil {
					return err
				}
			}
			if e.output == "json" {
				return e.print(struct {
					slowlog.ClassDetail
					Explain *slowlog.ExplainResult `json:"explain,omitempty"`
				}{c, ex}, nil)
			}
			return e.print(c, func(w io.Writer) {
				row(w, "query id", "0x"+c.QueryID)
				row(w, "fingerprint", c.Fingerprint)
				row(w, "calls", c.Calls)
				row(w, "query time", fmt.Sprintf("total %s, avg %s, median %s, 95%% %s, min %s, max %s", slowlog.FormatSeconds(c.QueryTime),
					slowlog.FormatSeconds(c.Avg), slowlog.FormatSeconds(c.Median), slowlog.FormatSeconds(c.P95), slowlog.FormatSeconds(c.Min), slowlog.FormatSeconds(c.Max)))
				row(w, "lock time", slowlog.FormatSeconds(c.LockTime))
				row(w, "rows", fmt.Sprintf("sent %d, examined %d, affected %d", c.RowsSent, c.RowsExamined, c.RowsAffected))
				row(w, "bytes sent", c.BytesSent)
				row(w, "seen", fmtTime(c.FirstSeen)+" to "+fmtTime(c.LastSeen))
				row(w, "source", c.Source)
				for i, lbl := range []string{"1us", "10us", "100us", "1ms", "10ms", "100ms", "1s", "10s+"} {
					if c.Histogram[i] > 0 {
						row(w, "query_time "+lbl, c.Histogram[i])
					}
				}
				for _, t := range c.Trend {
					row(w, "hour "+fmtTime(t.Start), fmt.Sprintf("%d calls, %s total, avg %s, p95 %s", t.Calls, slowlog.FormatSeconds(t.QueryTime), slowlog.FormatSeconds(t.Avg), slowlog.FormatSeconds(t.P95)))
				}
				row(w, "example db", c.ExampleDB)
				if c.Example != "" {
					row(w, "example", strings.ReplaceAll(c.Example, "\n", " "))
				}
				if c.ExampleNote != "" {
					row(w, "example note", c.ExampleNote)
				}
				if !c.Explainable {
					row(w, "explain", "not possible: "+c.WhyNot)
				}
				if ex != nil {
					row(w, "explain", strings.Join(ex.Columns, " | "))
					for _, r := range ex.Rows {
						parts := make([]string, len(r))
						for i, v := range r {
							if v == nil {
								parts[i] = "NULL"
							} else {
								parts[i] = fmt.Sprint(v)
							}
						}
						row(w, "", strings.Join(parts, " | "))
					}
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "start of the range (default 24h ago)")
	f.StringVar(&until, "until", "", "end of the range (default now)")
	f.BoolVar(&explain, "explain", false, "also run EXPLAIN of the example through the query console, as you (your query grants, read-only, with a timeout, audited)")
	return cmd
}

func (e *env) slowlogSourcesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sources INSTANCE",
		Short: "How collecting an instance's slow queries stands, per source (what to enable when one is unavailable)",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []slowlog.SourceStatus
			if err := e.call(cmd, "GET", "/api/v1/instances/"+p(args[0])+"/slowlog/sources", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { sourcesTable(w, out) })
		},
	}
}

func sourcesTable(w io.Writer, out []slowlog.SourceStatus) {
	row(w, "SOURCE", "STATUS", "CHECKED", "LAST OK", "EVENTS", "DETAILS")
	for _, s := range out {
		row(w, s.Source, s.Status, ago(s.CheckedAt), ago(s.LastOKAt), s.Events, s.Message)
	}
}

func (e *env) slowlogCollectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "collect INSTANCE",
		Short: "Collect an instance's new slow queries from its server now (the server also does it every minute)",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []slowlog.SourceStatus
			if err := e.call(cmd, "POST", "/api/v1/instances/"+p(args[0])+"/slowlog/collect", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { sourcesTable(w, out) })
		},
	}
}
