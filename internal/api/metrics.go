package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// PromResponse is the Prometheus HTTP API's envelope, which the query
// routes answer in (not dbfleet's error shape) so that Grafana and other
// Prometheus clients can use dbfleet as a data source.
type PromResponse struct {
	Status    string   `json:"status"` // success or error
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"` // bad_data, timeout, execution, unavailable, internal
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// PromQueryData is the data of /api/v1/query and /api/v1/query_range:
// resultType vector, matrix, scalar or string, and the result in
// Prometheus' shape ([unix seconds, "value"] pairs).
type PromQueryData struct {
	ResultType string `json:"resultType"`
	Result     any    `json:"result"`
}

// PromTargets is the data of /api/v1/targets.
type PromTargets struct {
	ActiveTargets  []PromTarget `json:"activeTargets"`
	DroppedTargets []any        `json:"droppedTargets"`
}

// PromTarget is one scraped instance, as Prometheus reports a target.
type PromTarget struct {
	Labels             map[string]string `json:"labels"`
	ScrapePool         string            `json:"scrapePool"`
	Health             string            `json:"health"`
	LastError          string            `json:"lastError"`
	LastScrape         time.Time         `json:"lastScrape"`
	LastScrapeDuration float64           `json:"lastScrapeDuration"`
	ScrapeInterval     string            `json:"scrapeInterval"`
	ScrapeTimeout      string            `json:"scrapeTimeout"`
	Partial            map[string]string `json:"partial,omitempty"`
}

// metricsRoutes are the Prometheus-compatible query API. Each is served
// for GET (query string) and POST (form body), as Prometheus does.
func (s *Server) metricsRoutes() []route {
	type op struct {
		path, summary string
		query         []string
		fn            func(r *http.Request, p auth.Principal) (any, error)
	}
	ops := []op{
		{"/api/v1/query", "PromQL instant query (Prometheus HTTP API)", []string{"query", "time", "timeout"}, s.promQuery},
		{"/api/v1/query_range", "PromQL range query (Prometheus HTTP API)", []string{"query", "start", "end", "step", "timeout"}, s.promQueryRange},
		{"/api/v1/series", "Series matching selectors (Prometheus HTTP API)", []string{"match[]", "start", "end"}, s.promSeries},
		{"/api/v1/labels", "Label names (Prometheus HTTP API)", []string{"match[]", "start", "end"}, s.promLabels},
		{"/api/v1/label/{name}/values", "Values of a label (Prometheus HTTP API)", []string{"match[]", "start", "end"}, s.promLabelValues},
	}
	var out []route
	for _, o := range ops {
		for _, method := range []string{"GET", "POST"} {
			summary := o.summary
			if method == "POST" {
				summary += "; parameters in an application/x-www-form-urlencoded body"
			}
			out = append(out, route{method: method, path: o.path, tag: "metrics", summary: summary, perm: auth.MetricsRead,
				query: o.query, out: PromResponse{}, raw: s.promHandler(o.fn)})
		}
	}
	out = append(out,
		route{method: "GET", path: "/api/v1/metadata", tag: "metrics", summary: "Metric metadata (Prometheus HTTP API; dbfleet keeps none, so always empty)",
			perm: auth.MetricsRead, out: PromResponse{}, raw: s.promHandler(func(*http.Request, auth.Principal) (any, error) { return map[string]any{}, nil })},
		route{method: "GET", path: "/api/v1/targets", tag: "metrics", summary: "Scraped instances and their last scrape (Prometheus HTTP API shape)",
			perm: auth.MetricsRead, out: PromResponse{}, raw: s.promHandler(s.promTargets)},
	)
	return out
}

// promHandler answers in the Prometheus envelope: an Invalid error (a bad
// parameter or PromQL) is 400 bad_data with the engine's message.
func (s *Server) promHandler(fn func(r *http.Request, p auth.Principal) (any, error)) func(http.ResponseWriter, *http.Request, auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
		r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBody)
		var data any
		err := r.ParseForm()
		if err != nil {
			err = errkind.New(errkind.Invalid, "bad form: %v", err)
		} else if s.Metrics == nil {
			err = errkind.New(errkind.Unavailable, "the metrics store is not running in this server")
		} else {
			data, err = fn(r, p)
		}
		if err != nil {
			status := httpx.Status(err)
			etype := "internal"
			switch {
			case status == http.StatusBadRequest:
				etype = "bad_data"
			case status == http.StatusServiceUnavailable && errors.Is(err, context.DeadlineExceeded):
				etype = "timeout"
			case status == http.StatusServiceUnavailable:
				etype = "unavailable"
			}
			httpx.WriteJSON(w, r, s.Log, status, PromResponse{Status: "error", ErrorType: etype, Error: httpx.Message(s.Log, r, err)})
			return
		}
		resp := PromResponse{Status: "success", Data: data}
		if qd, ok := data.(promResult); ok {
			resp.Data = qd.PromQueryData
			resp.Warnings, resp.Infos = qd.warnings, qd.infos
		}
		httpx.WriteJSON(w, r, s.Log, http.StatusOK, resp)
	}
}

type promResult struct {
	PromQueryData
	warnings, infos []string
}

// promTime parses a Prometheus time parameter: unix seconds (with
// fraction) or RFC 3339; empty gives def.
func promTime(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.Form.Get(name)
	if v == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, errkind.New(errkind.Invalid, "invalid parameter %q: cannot parse %q to a valid timestamp", name, v)
}

// promDuration parses seconds (with fraction) or a Prometheus duration (5m, 1h30m, 1d).
func promDuration(r *http.Request, name string) (time.Duration, error) {
	v := r.Form.Get(name)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		d := time.Duration(f * float64(time.Second))
		if d <= 0 {
			return 0, errkind.New(errkind.Invalid, "invalid parameter %q: zero or negative query resolution step widths are not accepted; try a positive integer", name)
		}
		return d, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errkind.New(errkind.Invalid, "invalid parameter %q: cannot parse %q to a valid duration", name, v)
	}
	return time.Duration(d), nil
}

// queryContext applies the timeout parameter.
func queryContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	if r.Form.Get("timeout") == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	d, err := promDuration(r, "timeout")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func requireQuery(r *http.Request) (string, error) {
	q := r.Form.Get("query")
	if strings.TrimSpace(q) == "" {
		return "", errkind.New(errkind.Invalid, "invalid parameter \"query\": a PromQL expression is required")
	}
	return q, nil
}

func (s *Server) promQuery(r *http.Request, p auth.Principal) (any, error) {
	q, err := requireQuery(r)
	if err != nil {
		return nil, err
	}
	ts, err := promTime(r, "time", time.Now())
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	view, err := s.Metrics.For(ctx, p)
	if err != nil {
		return nil, err
	}
	res, err := view.Query(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	warnings, infos := metrics.Annotations(res)
	return promResult{PromQueryData: encodeValue(res.Value), warnings: warnings, infos: infos}, nil
}

func (s *Server) promQueryRange(r *http.Request, p auth.Principal) (any, error) {
	q, err := requireQuery(r)
	if err != nil {
		return nil, err
	}
	start, err := promTime(r, "start", time.Time{})
	if err != nil {
		return nil, err
	}
	end, err := promTime(r, "end", time.Time{})
	if err != nil {
		return nil, err
	}
	if start.IsZero() || end.IsZero() {
		return nil, errkind.New(errkind.Invalid, "invalid parameter: start and end are required")
	}
	step, err := promDuration(r, "step")
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	view, err := s.Metrics.For(ctx, p)
	if err != nil {
		return nil, err
	}
	m, err := view.Range(ctx, q, start, end, step)
	if err != nil {
		return nil, err
	}
	return promResult{PromQueryData: encodeValue(m)}, nil
}

func (s *Server) selectors(r *http.Request, required bool) (metrics.Selectors, time.Time, time.Time, error) {
	match := r.Form["match[]"]
	if required && len(match) == 0 {
		return nil, time.Time{}, time.Time{}, errkind.New(errkind.Invalid, "no match[] parameter provided")
	}
	sel, err := s.Metrics.ParseSelectors(match)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	start, err := promTime(r, "start", time.Time{})
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	end, err := promTime(r, "end", time.Time{})
	return sel, start, end, err
}

func (s *Server) promSeries(r *http.Request, p auth.Principal) (any, error) {
	sel, start, end, err := s.selectors(r, true)
	if err != nil {
		return nil, err
	}
	view, err := s.Metrics.For(r.Context(), p)
	if err != nil {
		return nil, err
	}
	series, err := view.Series(r.Context(), sel, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(series))
	for i, l := range series {
		out[i] = l.Map()
	}
	return out, nil
}

func (s *Server) promLabels(r *http.Request, p auth.Principal) (any, error) {
	sel, start, end, err := s.selectors(r, false)
	if err != nil {
		return nil, err
	}
	view, err := s.Metrics.For(r.Context(), p)
	if err != nil {
		return nil, err
	}
	return view.LabelNames(r.Context(), sel, start, end)
}

func (s *Server) promLabelValues(r *http.Request, p auth.Principal) (any, error) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, errkind.New(errkind.Invalid, "invalid label name: %q", name)
	}
	sel, start, end, err := s.selectors(r, false)
	if err != nil {
		return nil, err
	}
	view, err := s.Metrics.For(r.Context(), p)
	if err != nil {
		return nil, err
	}
	return view.LabelValues(r.Context(), name, sel, start, end)
}

func (s *Server) promTargets(r *http.Request, _ auth.Principal) (any, error) {
	out := PromTargets{ActiveTargets: []PromTarget{}, DroppedTargets: []any{}}
	if s.Scraper == nil {
		return out, nil
	}
	opts := s.Scraper.Options()
	for _, t := range s.Scraper.Targets() {
		out.ActiveTargets = append(out.ActiveTargets, PromTarget{
			Labels:     map[string]string{"instance": t.Instance, "cluster": t.Cluster, "engine": t.Engine},
			ScrapePool: t.Engine, Health: t.Health, LastError: t.LastError, LastScrape: t.LastScrape,
			LastScrapeDuration: t.LastDuration.Seconds(), ScrapeInterval: model.Duration(t.Interval).String(),
			ScrapeTimeout: model.Duration(min(opts.Timeout, t.Interval)).String(), Partial: t.Partial,
		})
	}
	return out, nil
}

// promPoint is [unix seconds, "value"] as Prometheus writes it.
type promPoint struct {
	T int64
	V string
}

func (p promPoint) MarshalJSON() ([]byte, error) {
	ts := strconv.FormatFloat(float64(p.T)/1000, 'f', -1, 64)
	v, _ := json.Marshal(p.V)
	return []byte("[" + ts + "," + string(v) + "]"), nil
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  promPoint         `json:"value"`
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Values []promPoint       `json:"values"`
}

// encodeValue renders a PromQL result in the Prometheus API's shape.
// Native histograms are not collected by dbfleet and are left out.
func encodeValue(v any) PromQueryData {
	switch x := v.(type) {
	case metrics.Vector:
		out := make([]promSample, 0, len(x))
		for _, s := range x {
			if s.H != nil {
				continue
			}
			out = append(out, promSample{Metric: s.Metric.Map(), Value: promPoint{s.T, formatFloat(s.F)}})
		}
		return PromQueryData{ResultType: "vector", Result: out}
	case metrics.Matrix:
		out := make([]promSeries, 0, len(x))
		for _, s := range x {
			ps := promSeries{Metric: s.Metric.Map(), Values: make([]promPoint, len(s.Floats))}
			for i, p := range s.Floats {
				ps.Values[i] = promPoint{p.T, formatFloat(p.F)}
			}
			out = append(out, ps)
		}
		return PromQueryData{ResultType: "matrix", Result: out}
	case metrics.Scalar:
		return PromQueryData{ResultType: "scalar", Result: promPoint{x.T, formatFloat(x.V)}}
	case metrics.String:
		return PromQueryData{ResultType: "string", Result: promPoint{x.T, x.V}}
	}
	return PromQueryData{ResultType: "unknown", Result: nil}
}
