package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/forecast"
)

// forecastCmd is the offline `dbfleet forecast FILE.csv`: fit the model to
// a ds,y history and write the forecast, with no server.
func (e *env) forecastCmd() *cobra.Command {
	var periods int
	var freq, mode, out string
	var width float64
	var futureOnly bool
	cmd := &cobra.Command{
		Use:   "forecast FILE.csv [--periods N] [--freq D|H|5m] [--interval-width F]",
		Short: "Forecast a ds,y CSV history with the Prophet-style model (offline)",
		Long: `Fit dbfleet's Prophet-style model (trend with changepoints, daily, weekly
and yearly seasonality as the history allows) to FILE.csv, a "ds,y" CSV
("-" for stdin), and write "ds,yhat,yhat_lower,yhat_upper": the fitted
history followed by --periods steps of --freq after its end. -o json
writes the same rows as JSON, -o table as aligned columns; without -o
the output is CSV. Needs no server.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("want exactly one CSV file, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format := e.output
			if f := cmd.Flag("output"); f == nil || !f.Changed {
				format = "csv" // a forecast is data for other tools: CSV unless -o says otherwise
			}
			if format != "table" && format != "json" && format != "csv" {
				return usageError{fmt.Errorf("invalid output format %q: want csv (the default), table or json", e.output)}
			}
			if periods < 0 {
				return usageError{fmt.Errorf("--periods %d: must not be negative", periods)}
			}
			opts := forecast.DefaultOptions()
			opts.IntervalWidth = width
			switch forecast.Mode(mode) {
			case forecast.Additive, forecast.Multiplicative:
				opts.SeasonalityMode = forecast.Mode(mode)
			default:
				return usageError{fmt.Errorf("--mode %q: want additive or multiplicative", mode)}
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			var step time.Duration
			if freq != "" {
				var err error
				if step, err = forecast.ParseFreq(freq); err != nil {
					return usageError{fmt.Errorf("--freq: %w", err)}
				}
			}
			name := args[0]
			var r io.Reader = e.stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else {
				name = "stdin"
			}
			series, err := forecast.ReadCSV(r, name)
			if err != nil {
				return err
			}
			m, err := forecast.Fit(series.DS, series.Y, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if step == 0 {
				step = typicalStep(series.DS)
			}
			pts := m.Predict(m.MakeFuture(periods, step, !futureOnly))
			w := e.stdout
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			switch format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(pts); err != nil {
					return err
				}
			case "table":
				if err := writeForecastTable(w, pts); err != nil {
					return err
				}
			default:
				if err := forecast.WriteCSV(w, pts); err != nil {
					return err
				}
			}
			if f, ok := w.(*os.File); ok && w != e.stdout {
				return f.Close()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&periods, "periods", 30, "steps to forecast after the end of the history")
	f.StringVar(&freq, "freq", "", "step between forecast rows: D, H, W, 5min or a Go duration such as 5m (default: the history's typical spacing)")
	f.Float64Var(&width, "interval-width", 0.8, "probability mass of the uncertainty interval, in (0, 1)")
	f.StringVar(&mode, "mode", "additive", "seasonality mode: additive or multiplicative")
	f.BoolVar(&futureOnly, "future-only", false, "write only the forecast rows, not the fitted history")
	f.StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}

// writeForecastTable prints the points as aligned columns, timestamps in
// the CSV's format and values rounded for reading.
func writeForecastTable(w io.Writer, pts []forecast.Point) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DS\tYHAT\tYHAT_LOWER\tYHAT_UPPER\t")
	layout := forecast.DSLayout(pts)
	for _, p := range pts {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.4g\t\n", p.DS.UTC().Format(layout), p.Yhat, p.Lower, p.Upper)
	}
	return tw.Flush()
}

// typicalStep is the median spacing of the history's distinct timestamps.
func typicalStep(ds []time.Time) time.Duration {
	sorted := append([]time.Time(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	var diffs []time.Duration
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i].Sub(sorted[i-1]); d > 0 {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) == 0 {
		return 24 * time.Hour
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i] < diffs[j] })
	return diffs[len(diffs)/2]
}
