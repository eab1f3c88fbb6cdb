package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/health"
)

// healthCmd is `dbfleet health [INSTANCE]`: one instance's score with its
// causes, or every instance's latest score.
func (e *env) healthCmd() *cobra.Command {
	var window string
	var hours int
	cmd := &cobra.Command{
		Use:   "health [INSTANCE] [--window now|daily] [-o json]",
		Short: "Health scores: one instance's score and its deductions, or every instance's",
		Long: `Show an instance's health score (0-100) with each deduction: its category,
severity, observed value, threshold and points, the rules that could not be
evaluated and why, days until the disk is full, and key metrics against
their forecast (z-scores). Without INSTANCE, list every instance's latest
score. --window now (last 30 minutes, the default) or daily.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("want at most one instance name, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if _, err := health.ParseWindow(window); err != nil {
				return usageError{fmt.Errorf("--window: %w", err)}
			}
			if hours < 0 || hours > 336 {
				return usageError{fmt.Errorf("--hours %d: want 0 to 336", hours)}
			}
			q := url.Values{"window": {window}}
			if len(args) == 0 {
				var out []health.InstanceScore
				if err := e.call(cmd, "GET", "/api/v1/health?"+q.Encode(), nil, &out); err != nil {
					return err
				}
				return e.print(out, func(w io.Writer) {
					row(w, "INSTANCE", "ENGINE", "CLUSTER", "SCORE", "LEVEL", "DEDUCTIONS", "TOP CAUSE", "AT")
					for _, s := range out {
						if !s.Scored {
							row(w, s.Instance, s.Engine, s.Cluster, "-", "not scored yet", "-", "-", "-")
							continue
						}
						row(w, s.Instance, s.Engine, s.Cluster, fmt.Sprintf("%.1f", s.Value), s.Level, s.Deductions, s.Top, ago(s.At))
					}
				})
			}
			q.Set("hours", fmt.Sprint(hours))
			var rep health.Report
			if err := e.call(cmd, "GET", "/api/v1/instances/"+p(args[0])+"/health?"+q.Encode(), nil, &rep); err != nil {
				return err
			}
			return e.print(rep, func(w io.Writer) { printHealth(w, rep) })
		},
	}
	cmd.Flags().StringVar(&window, "window", "now", "now (last 30 minutes) or daily")
	cmd.Flags().IntVar(&hours, "hours", 6, "hours of metric history to compare with the forecast (JSON output; 0 for none)")
	return cmd
}

func printHealth(w io.Writer, rep health.Report) {
	sc := rep.Score
	live := ""
	if rep.Live {
		live = ", computed now"
	}
	cluster := ""
	if sc.Cluster != "" {
		cluster = ", cluster " + sc.Cluster
	}
	fmt.Fprintf(w, "%s\t(%s%s)\n", sc.Instance, sc.Engine, cluster)
	fmt.Fprintf(w, "score\t%.1f %s\t(%s window, %s%s)\n", sc.Value, strings.ReplaceAll(string(sc.Level), "_", " "), sc.Window, fmtTime(sc.At), live)
	if len(sc.Deductions) == 0 {
		fmt.Fprintln(w, "deductions\tnone")
	} else {
		fmt.Fprintln(w)
		row(w, "POINTS", "CATEGORY", "SEVERITY", "ITEM", "OBSERVED", "THRESHOLD", "RULE")
		for _, d := range sc.Deductions {
			row(w, "-"+strconv.FormatFloat(d.Points, 'f', -1, 64), d.Category, d.Severity, d.Item,
				health.FormatValue(d.Observed, d.Unit), d.Op+" "+health.FormatValue(d.Threshold, d.Unit), d.Rule+": "+d.Title)
		}
	}
	if rep.Fullness != nil {
		fmt.Fprintln(w)
		if rep.Fullness.Within {
			fmt.Fprintf(w, "disk full in\t%.1f days\t(%s of %s used)\n", rep.Fullness.Days, health.FormatValue(rep.Fullness.Used, "bytes"), health.FormatValue(rep.Fullness.Capacity, "bytes"))
		} else {
			fmt.Fprintf(w, "disk full in\tmore than %.0f days\t(%s of %s used)\n", rep.Fullness.Days, health.FormatValue(rep.Fullness.Used, "bytes"), health.FormatValue(rep.Fullness.Capacity, "bytes"))
		}
	}
	if len(rep.Bands) > 0 {
		fmt.Fprintln(w)
		row(w, "METRIC", "NOW", "FORECAST", "BAND", "Z")
		for _, b := range rep.Bands {
			if b.Error != "" {
				row(w, b.Metric, "-", "-", b.Error, "-")
				continue
			}
			last := b.Points[len(b.Points)-1]
			for i := len(b.Points) - 1; i >= 0 && !last.Has; i-- {
				last = b.Points[i]
			}
			now := "-"
			if last.Has {
				now = health.FormatValue(last.Y, "")
			}
			row(w, b.Metric, now, health.FormatValue(last.Yhat, ""), fmt.Sprintf("[%s, %s]", health.FormatValue(last.Lower, ""), health.FormatValue(last.Upper, "")), fmt.Sprintf("%+.1f", b.Z))
		}
	}
	if len(sc.Skipped) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "not evaluated:")
		for _, s := range sc.Skipped {
			fmt.Fprintf(w, "  %s\t%s\n", s.Rule, s.Reason)
		}
	}
}
