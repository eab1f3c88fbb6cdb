package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Querier runs one dataset statement on one instance with the query
// console's checks, read-only session, timeout and row cap:
// query.Service.Stream, wired by app.
type Querier interface {
	Stream(ctx context.Context, p auth.Principal, req query.ReportRequest) (merge.Stream, error)
}

// Inventory resolves data sources: *inventory.Service.
type Inventory interface {
	ResolveGroup(ctx context.Context, name string) ([]inventory.Instance, error)
	GetShardMap(ctx context.Context, name string) (inventory.ShardMap, error)
}

// Service runs reports for people, checking each report's permissions.
type Service struct {
	cat *Catalog
	q   Querier
	inv Inventory
	cfg Config
	log *slog.Logger
	// Views serves dbfleet data sources (set by app).
	Views Views
	// Metrics serves metrics data sources (PromQL).
	Metrics Metrics
	// Notifier delivers subscriptions; PublicURL makes their links.
	Notifier  Notifier
	PublicURL string
	// Users gives subscription deliveries their owner's current role.
	Users Users
	// Now is the clock relative dates are read with; nil means time.Now.
	Now func() time.Time
}

// NewService returns a service over the catalog's reports.
func NewService(cat *Catalog, q Querier, inv Inventory, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cat: cat, q: q, inv: inv, cfg: cfg, log: log}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Catalog is the service's catalog.
func (s *Service) Catalog() *Catalog { return s.cat }

// List returns the reports the principal may view.
func (s *Service) List(p auth.Principal) []*Report {
	var out []*Report
	for _, r := range s.cat.List() {
		if r.Can(p, PermView) {
			out = append(out, r)
		}
	}
	return out
}

// Get returns a report the principal may view.
func (s *Service) Get(p auth.Principal, id string) (*Report, error) {
	r, ok := s.cat.Get(id)
	if !ok {
		return nil, errkind.New(errkind.NotFound, "no report %q", id)
	}
	if err := r.require(p, PermView); err != nil {
		return nil, err
	}
	return r, nil
}

// Result is a report run: its parameters and each dataset's data.
type Result struct {
	Report  string            `json:"report"`
	Title   string            `json:"title"`
	Version int               `json:"version"`
	Params  map[string]string `json:"params"`
	RanAt   time.Time         `json:"ran_at"`
	Took    time.Duration     `json:"took_ns"`
	Data    []*Data           `json:"datasets"`
	Blocks  []*BlockResult    `json:"blocks"`
}

// Data is one dataset's rows.
type Data struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// Truncated: the row cap cut the result.
	Truncated bool `json:"truncated,omitempty"`
	// Sources is how many instances (shards, members) were read; Failed
	// names those that failed (a partial result).
	Sources int           `json:"sources"`
	Failed  []SourceError `json:"failed,omitempty"`
}

// SourceError names a shard or member that failed.
type SourceError struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// Col is the index of column name, or -1.
func (d *Data) Col(name string) int {
	for i, c := range d.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Dataset returns the result's dataset called name, or nil.
func (r *Result) Dataset(name string) *Data {
	for _, d := range r.Data {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Run runs report id with the given parameter values (text, as a form or
// the CLI gives them). Parameters are checked before any query runs.
func (s *Service) Run(ctx context.Context, p auth.Principal, id string, in map[string]string) (*Result, error) {
	r, ok := s.cat.Get(id)
	if !ok {
		return nil, errkind.New(errkind.NotFound, "no report %q", id)
	}
	if err := r.require(p, PermRun); err != nil {
		return nil, err
	}
	return s.run(ctx, p, r, in, 0)
}

// maxDepth bounds nested sub-reports (cycles are refused at load; this
// guards the depth of a legal tree).
const maxDepth = 4

func (s *Service) run(ctx context.Context, p auth.Principal, r *Report, in map[string]string, depth int) (*Result, error) {
	start := s.now()
	vals, err := r.Resolve(p, in, start)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: r.ID, Title: r.Title, Version: r.Version, Params: map[string]string{}, RanAt: start.UTC()}
	for k, v := range vals {
		res.Params[k] = Text(v)
	}
	for _, d := range r.Datasets {
		if !s.needed(r, d.Name) {
			continue
		}
		data, err := s.dataset(ctx, p, r, d, vals)
		if err != nil {
			return nil, fmt.Errorf("report %s dataset %s: %w", r.ID, d.Name, err)
		}
		res.Data = append(res.Data, data)
	}
	if err := s.blocks(ctx, p, r, res, depth); err != nil {
		return nil, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// needed reports whether a dataset feeds a block (a query parameter's
// options dataset runs only to list them).
func (s *Service) needed(r *Report, name string) bool {
	for _, pr := range r.Params {
		if pr.Type == ParamQuery && pr.Query == name {
			for _, b := range r.Blocks {
				if b.Dataset == name {
					return true
				}
			}
			return false
		}
	}
	return true
}

// source is one instance (and database) a dataset runs on. chosen: the
// viewer named it (or its group) with a parameter, so the viewer's own
// query grants must cover it (query.ReportRequest.Chosen).
type source struct {
	name, instance, database string
	chosen                   bool
}

func (s *Service) sources(ctx context.Context, ds *DataSource, vals map[string]any) ([]source, error) {
	target := ds.Target
	ref, chosen := paramRef(target)
	if chosen {
		if ds.Kind == SourceShards {
			return nil, errkind.New(errkind.Invalid, "data source %s: a shard map cannot come from a parameter", ds.Name)
		}
		target = Text(vals[ref])
		if target == "" {
			return nil, errkind.New(errkind.Invalid, "data source %s: parameter %q names no %s", ds.Name, ref, ds.Kind)
		}
	}
	switch ds.Kind {
	case SourceInstance:
		return []source{{name: target, instance: target, database: ds.Database, chosen: chosen}}, nil
	case SourceGroup:
		ins, err := s.inv.ResolveGroup(ctx, target)
		if err != nil {
			return nil, err
		}
		out := make([]source, len(ins))
		for i, in := range ins {
			out[i] = source{name: in.Name, instance: in.Name, database: ds.Database, chosen: chosen}
		}
		return out, nil
	case SourceShards:
		m, err := s.inv.GetShardMap(ctx, target)
		if err != nil {
			return nil, err
		}
		sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Index < m.Shards[j].Index })
		out := make([]source, len(m.Shards))
		for i, sh := range m.Shards {
			out[i] = source{name: fmt.Sprintf("%d:%s/%s", sh.Index, sh.Instance, sh.Database), instance: sh.Instance, database: sh.Database}
		}
		return out, nil
	}
	return nil, errkind.New(errkind.Unavailable, "data source %s: %s data sources are not available on this server", ds.Name, ds.Kind)
}

func (s *Service) dataset(ctx context.Context, p auth.Principal, r *Report, d *Dataset, vals map[string]any) (*Data, error) {
	ds := r.DataSource(d.DataSource)
	switch ds.Kind {
	case SourceDBFleet:
		return s.view(ctx, p, d)
	case SourceMetrics:
		return s.metricsData(ctx, p, d, vals, s.now(), min(d.MaxRows, s.cfg.MaxRows))
	}
	dialect, err := sql.ParseDialect(ds.Engine)
	if err != nil {
		return nil, err
	}
	text, refs := bindText(dialect, d.SQL)
	argv, err := args(refs, vals)
	if err != nil {
		return nil, err
	}
	srcs, err := s.sources(ctx, ds, vals)
	if err != nil {
		return nil, err
	}
	maxRows := min(d.MaxRows, s.cfg.MaxRows)
	timeout := ds.Timeout
	if d.Timeout > 0 {
		timeout = d.Timeout
	}
	timeout = min(timeout, s.cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	shardSQL := text
	plan := merge.Plan{Mode: merge.Append, Limit: -1, Dialect: dialect, Partial: ds.Partial}
	if ds.Kind != SourceInstance {
		prep, err := merge.Prepare(dialect, text)
		if err != nil {
			return nil, err
		}
		shardSQL, plan = prep.ShardSQL, prep.Plan
		plan.Partial = ds.Partial
	}
	shards, failed := s.open(ctx, p, r, srcs, shardSQL, argv, maxRows+1, timeout, ds.Parallel)
	if len(failed) > 0 && (!ds.Partial || len(shards) == 0) {
		for _, sh := range shards {
			sh.Stream.Close()
		}
		if len(srcs) == 1 {
			return nil, failed[0].err
		}
		return nil, errkind.Wrap(errkind.Unavailable, fmt.Errorf("%d of %d sources failed; first: %s: %w", len(failed), len(srcs), failed[0].name, failed[0].err))
	}
	st := merge.Merge(ctx, plan, shards)
	defer st.Close()
	data := &Data{Name: d.Name, Sources: len(srcs), Rows: [][]any{}}
	for _, f := range failed {
		data.Failed = append(data.Failed, SourceError{Source: f.name, Error: f.err.Error()})
	}
	for st.Next() {
		if data.Columns == nil {
			data.Columns = st.Columns()
		}
		if len(data.Rows) == maxRows {
			data.Truncated = true
			break
		}
		data.Rows = append(data.Rows, append([]any(nil), st.Row()...))
	}
	if data.Columns == nil {
		data.Columns = st.Columns()
	}
	if err := capped(plan, shards, maxRows); err != nil {
		return nil, err
	}
	if err := st.Err(); err != nil {
		var se *merge.ShardError
		if !ds.Partial || !errors.As(err, &se) {
			return nil, err
		}
		data.Failed = append(data.Failed, SourceError{Source: se.Shard, Error: se.Err.Error()})
	}
	for _, f := range merge.Failed(st) {
		data.Failed = append(data.Failed, SourceError{Source: f.Shard, Error: f.Err.Error()})
	}
	if len(srcs) > 0 && len(data.Failed) == len(srcs) {
		return nil, errkind.New(errkind.Unavailable, "every source failed; first: %s: %s", data.Failed[0].Source, data.Failed[0].Error)
	}
	return data, nil
}

// truncater is a shard stream that says whether its row cap cut it
// (query.RowStream).
type truncater interface{ Truncated() bool }

// capped refuses a GROUP BY merge in which a shard was cut at the row
// cap: its missing rows would make the merged groups' aggregates (and a
// top-N over them) silently wrong. It errs on the safe side: a shard cut
// after the last group the result kept is refused too.
func capped(plan merge.Plan, shards []merge.Shard, maxRows int) error {
	if plan.Mode != merge.Group {
		return nil
	}
	for _, sh := range shards {
		if t, ok := sh.Stream.(truncater); ok && t.Truncated() {
			return errkind.New(errkind.Invalid, "shard %s has more rows than the row cap (%d): the merged groups would be wrong; raise the dataset's max-rows (reports.max_rows caps it) or group more coarsely", sh.Name, maxRows)
		}
	}
	return nil
}

// openError is a source that could not be opened.
type openError struct {
	name string
	err  error
}

// open starts the statement on every source, at most parallel at once.
// It returns the streams that opened, in source order, and the sources
// that failed.
func (s *Service) open(ctx context.Context, p auth.Principal, r *Report, srcs []source, text string, argv []any, maxRows int, timeout time.Duration, parallel int) ([]merge.Shard, []openError) {
	streams := make([]merge.Stream, len(srcs))
	errs := make([]error, len(srcs))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			streams[i], errs[i] = s.q.Stream(ctx, p, query.ReportRequest{Report: r.ID, Instance: src.instance, Database: src.database,
				SQL: text, Args: argv, MaxRows: maxRows, Timeout: timeout, Chosen: src.chosen})
		}()
	}
	wg.Wait()
	var shards []merge.Shard
	var failed []openError
	for i, src := range srcs {
		if errs[i] != nil {
			failed = append(failed, openError{name: src.name, err: errs[i]})
			continue
		}
		shards = append(shards, merge.Shard{Name: src.name, Stream: streams[i]})
	}
	return shards, failed
}
