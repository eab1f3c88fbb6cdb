package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
)

func (e *env) metricsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "metrics", Short: "Query the metrics dbfleet scrapes from every instance (PromQL)"}
	var at, rng, step string
	query := &cobra.Command{
		Use:   "query 'PROMQL'",
		Short: "Evaluate a PromQL expression now, at --time, or over --range",
		Long: `Evaluate a PromQL expression against dbfleet's metric store, through the
server's Prometheus-compatible API (/api/v1/query, /api/v1/query_range).

  dbfleet metrics query 'mysql_up'
  dbfleet metrics query 'rate(mysql_global_status_queries{instance="db1"}[5m])' --range 1h --step 5m

--time is an RFC 3339 time, unix seconds, or a duration ago (30m). --range
looks back that far from --time (default now) at --step intervals (default
the range divided by 60, at least 15s).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("want exactly one PromQL expression (quote it), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			now := time.Now()
			ts, err := parseWhen(at, now)
			if err != nil {
				return usageError{fmt.Errorf("--time: %w", err)}
			}
			params := url.Values{"query": {args[0]}}
			path := "/api/v1/query"
			if rng == "" {
				if step != "" {
					return usageError{errors.New("--step needs --range")}
				}
				params.Set("time", unixString(ts))
			} else {
				r, err := model.ParseDuration(rng)
				if err != nil || r <= 0 {
					return usageError{fmt.Errorf("--range %q: want a duration such as 1h or 7d", rng)}
				}
				st := max(time.Duration(r)/60, 15*time.Second)
				if step != "" {
					s, err := model.ParseDuration(step)
					if err != nil || s <= 0 {
						return usageError{fmt.Errorf("--step %q: want a duration such as 1m", step)}
					}
					st = time.Duration(s)
				}
				path = "/api/v1/query_range"
				params.Set("start", unixString(ts.Add(-time.Duration(r))))
				params.Set("end", unixString(ts))
				params.Set("step", strconv.FormatFloat(st.Seconds(), 'f', -1, 64))
			}
			var data promData
			if err := e.promGet(cmd, path, params, &data); err != nil {
				return err
			}
			return e.print(data, func(w io.Writer) { data.table(w) })
		},
	}
	query.Flags().StringVar(&at, "time", "", "evaluation time (RFC 3339, unix seconds, or a duration ago); default now")
	query.Flags().StringVar(&rng, "range", "", "evaluate over this range ending at --time (e.g. 1h, 7d)")
	query.Flags().StringVar(&step, "step", "", "resolution of a --range query (default range/60, at least 15s)")
	cmd.AddCommand(query)

	cmd.AddCommand(&cobra.Command{
		Use:   "targets",
		Short: "List scraped instances with their last scrape (up or down, and why)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var data struct {
				ActiveTargets []struct {
					Labels             map[string]string `json:"labels"`
					Health             string            `json:"health"`
					LastError          string            `json:"lastError"`
					LastScrape         time.Time         `json:"lastScrape"`
					LastScrapeDuration float64           `json:"lastScrapeDuration"`
					ScrapeInterval     string            `json:"scrapeInterval"`
				} `json:"activeTargets"`
			}
			if err := e.promGet(cmd, "/api/v1/targets", nil, &data); err != nil {
				return err
			}
			return e.print(data.ActiveTargets, func(w io.Writer) {
				row(w, "INSTANCE", "ENGINE", "CLUSTER", "HEALTH", "LAST SCRAPE", "TOOK", "EVERY", "ERROR")
				for _, t := range data.ActiveTargets {
					last := "-"
					if !t.LastScrape.IsZero() {
						last = t.LastScrape.Local().Format("15:04:05")
					}
					row(w, t.Labels["instance"], t.Labels["engine"], t.Labels["cluster"], t.Health, last,
						fmt.Sprintf("%.0fms", t.LastScrapeDuration*1000), t.ScrapeInterval, t.LastError)
				}
			})
		},
	})
	return cmd
}

// promGet calls a Prometheus-API route and decodes its data; an error
// answer carries the engine's message.
func (e *env) promGet(cmd *cobra.Command, path string, params url.Values, data any) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	u := strings.TrimRight(c.server, "/") + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(cmd.Context(), "GET", u, nil)
	if err != nil {
		return fmt.Errorf("bad server address %q: %w", c.server, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach dbfleet server at %s: %w", c.server, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response from %s: %w", c.server, err)
	}
	var env struct {
		Status   string          `json:"status"`
		Data     json.RawMessage `json:"data"`
		Error    string          `json:"error"`
		Warnings []string        `json:"warnings"`
	}
	if err := json.Unmarshal(body, &env); err != nil || (env.Status == "" && resp.StatusCode < 400) {
		return fmt.Errorf("unexpected response from %s: %s", c.server, strings.TrimSpace(string(body)))
	}
	if resp.StatusCode >= 400 || env.Status != "success" {
		msg := env.Error
		if msg == "" {
			var eb struct {
				Error struct{ Message string } `json:"error"`
			}
			if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" { // dbfleet's own shape (authentication)
				msg = eb.Error.Message
			} else {
				msg = strings.TrimSpace(string(body))
			}
		}
		return &apiError{Status: resp.StatusCode, Message: msg}
	}
	for _, w := range env.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return json.Unmarshal(env.Data, data)
}

// promData is a query answer's data.
type promData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type promPoint [2]any // [unix seconds, "value"]

func (p promPoint) String() (ts, v string) {
	f, _ := p[0].(float64)
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9)).Local()
	s, _ := p[1].(string)
	return t.Format("2006-01-02 15:04:05"), s
}

func (d promData) table(w io.Writer) {
	switch d.ResultType {
	case "vector":
		var res []struct {
			Metric map[string]string `json:"metric"`
			Value  promPoint         `json:"value"`
		}
		json.Unmarshal(d.Result, &res)
		row(w, "SERIES", "VALUE")
		for _, s := range res {
			_, v := s.Value.String()
			row(w, seriesName(s.Metric), v)
		}
	case "matrix":
		var res []struct {
			Metric map[string]string `json:"metric"`
			Values []promPoint       `json:"values"`
		}
		json.Unmarshal(d.Result, &res)
		row(w, "SERIES", "TIME", "VALUE")
		for _, s := range res {
			name := seriesName(s.Metric)
			for i, p := range s.Values {
				ts, v := p.String()
				if i > 0 {
					name = ""
				}
				if name == "" {
					name = " "
				}
				row(w, name, ts, v)
			}
		}
	case "scalar", "string":
		var p promPoint
		json.Unmarshal(d.Result, &p)
		_, v := p.String()
		fmt.Fprintln(w, v)
	}
}

// seriesName renders labels as PromQL does: name{a="b", ...}.
func seriesName(m map[string]string) string {
	name := m["__name__"]
	var keys []string
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

// parseWhen reads --time: empty for now, RFC 3339, unix seconds, or a
// duration ago.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return now.Add(-time.Duration(d)), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time, unix seconds, or a duration ago such as 30m", s)
}

func unixString(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}
