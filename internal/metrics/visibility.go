package metrics

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/dbfleet/dbfleet/internal/auth"
)

// Scope is a part of an instance whose database objects' metrics a caller
// may see: all of it (Database empty), one database, or one table of it
// (Table; "schema.table" on PostgreSQL).
type Scope struct {
	Instance, Database, Table string
}

// Visibility says which database objects a caller may see the metrics
// of. Who may see what is not the metrics package's to decide: app wires
// it to the query console's grants.
type Visibility interface {
	// Scopes returns what p may see: everything (all), or what scopes
	// cover (none when empty).
	Scopes(ctx context.Context, p auth.Principal) (all bool, scopes []Scope, err error)
}

// objectLabels are the labels that name a database object (database,
// schema, table) on a series: mysqld_exporter's schema and table,
// postgres_exporter's datname, schemaname and relname, and database.
var objectLabels = []string{"schema", "table", "database", "datname", "relname", "schemaname"}

// objectOf is the database object a series is about: its database and
// table ("schema.table" on PostgreSQL); ok is false when it names none.
func objectOf(l labels.Labels) (db, table string, ok bool) {
	for _, n := range []string{"schema", "database", "datname"} {
		if v := l.Get(n); v != "" {
			db = v
			break
		}
	}
	table = l.Get("table")
	if rel := l.Get("relname"); table == "" && rel != "" {
		table = rel
		if sch := l.Get("schemaname"); sch != "" {
			table = sch + "." + rel
		}
	}
	for _, n := range objectLabels {
		if l.Get(n) != "" {
			return db, table, true
		}
	}
	return "", "", false
}

// covers reports whether scopes let a caller see (instance, db, table): a
// database-level series (no table) is seen by whoever may see anything in
// that database.
func covers(scopes []Scope, instance, db, table string) bool {
	for _, sc := range scopes {
		switch {
		case sc.Instance != instance:
		case sc.Database == "":
			return true
		case sc.Database != db:
		case sc.Table == "", table == "", sc.Table == table:
			return true
		}
	}
	return false
}

// View is the metric store as one caller sees it: a series that names a
// database object (database, schema, table labels) is there only when the
// caller may see that object. Queries, series and label lookups all read
// through the same filter, so hidden series count in no aggregate and
// their label values are not listed.
type View struct {
	s    *Store
	from storage.Queryable
}

// For returns the store as p sees it (Visibility decides).
func (s *Store) For(ctx context.Context, p auth.Principal) (*View, error) {
	all, scopes := false, []Scope(nil)
	if s.vis != nil {
		var err error
		if all, scopes, err = s.vis.Scopes(ctx, p); err != nil {
			return nil, fmt.Errorf("metrics visible to %s: %w", p.User, err)
		}
	}
	if all {
		return &View{s: s, from: s.db}, nil
	}
	type object struct{ instance, db, table string }
	var mu sync.Mutex
	seen := map[object]bool{}
	keep := func(l labels.Labels) bool {
		db, table, ok := objectOf(l)
		if !ok {
			return true
		}
		o := object{l.Get("instance"), db, table}
		mu.Lock()
		defer mu.Unlock()
		v, known := seen[o]
		if !known {
			v = covers(scopes, o.instance, o.db, o.table)
			seen[o] = v
		}
		return v
	}
	return &View{s: s, from: filtered{Queryable: s.db, keep: keep}}, nil
}

// Query evaluates query at ts over what the caller may see.
func (v *View) Query(ctx context.Context, query string, ts time.Time) (*promql.Result, error) {
	return v.s.query(ctx, v.from, query, ts)
}

// Range evaluates query at every step from start to end over what the
// caller may see.
func (v *View) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	return v.s.rangeQuery(ctx, v.from, query, start, end, step)
}

// Series returns the label sets of the series the caller may see that
// match any of the selectors.
func (v *View) Series(ctx context.Context, selectors [][]*labels.Matcher, start, end time.Time) ([]labels.Labels, error) {
	return v.s.series(ctx, v.from, selectors, start, end)
}

// LabelNames lists label names of the series the caller may see.
func (v *View) LabelNames(ctx context.Context, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return v.s.labelNames(ctx, v.from, selectors, start, end)
}

// LabelValues lists the values of label name on the series the caller may
// see.
func (v *View) LabelValues(ctx context.Context, name string, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return v.s.labelValues(ctx, v.from, name, selectors, start, end)
}

// filtered is a Queryable whose series are those keep accepts.
type filtered struct {
	storage.Queryable
	keep func(labels.Labels) bool
}

func (f filtered) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := f.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &filteredQuerier{Querier: q, keep: f.keep, mint: mint, maxt: maxt}, nil
}

type filteredQuerier struct {
	storage.Querier
	keep       func(labels.Labels) bool
	mint, maxt int64
}

func (q *filteredQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return &filteredSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), keep: q.keep}
}

// LabelValues answers from the series the caller may see (the index's
// answer would include the hidden ones).
func (q *filteredQuerier) LabelValues(ctx context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.collect(ctx, ms, func(l labels.Labels, add func(string)) { add(l.Get(name)) })
}

// LabelNames answers from the series the caller may see.
func (q *filteredQuerier) LabelNames(ctx context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.collect(ctx, ms, func(l labels.Labels, add func(string)) {
		l.Range(func(lb labels.Label) { add(lb.Name) })
	})
}

func (q *filteredQuerier) collect(ctx context.Context, ms []*labels.Matcher, each func(labels.Labels, func(string))) ([]string, annotations.Annotations, error) {
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, ".+")}
	}
	set := q.Select(ctx, false, &storage.SelectHints{Start: q.mint, End: q.maxt, Func: "series"}, ms...)
	found := map[string]bool{}
	for set.Next() {
		each(set.At().Labels(), func(v string) {
			if v != "" {
				found[v] = true
			}
		})
	}
	out := make([]string, 0, len(found))
	for v := range found {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, set.Warnings(), set.Err()
}

type filteredSet struct {
	storage.SeriesSet
	keep func(labels.Labels) bool
}

func (s *filteredSet) Next() bool {
	for s.SeriesSet.Next() {
		if s.keep(s.SeriesSet.At().Labels()) {
			return true
		}
	}
	return false
}
