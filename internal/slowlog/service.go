package slowlog

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Service keeps slow-query aggregates per instance: per class and time
// bucket, never single events. It owns the tables slowlog_classes,
// slowlog_buckets, slowlog_sources and slowlog_counters.
type Service struct {
	db  *sqldb.DB
	inv *inventory.Service
	log *slog.Logger
	now func() time.Time

	// Bucket is the width of the stored time buckets (default 1h).
	Bucket time.Duration
	// ExplainTimeout bounds an EXPLAIN run on demand (DefaultConfig; the
	// console's statement timeout when that is lower).
	ExplainTimeout time.Duration
	// BatchRows is how many mysql.slow_log rows one collection reads per
	// query (DefaultConfig), MaxBatches how many queries (default 20).
	BatchRows, MaxBatches int
	// Location reads "# Time:" lines of uploaded logs that have no SET
	// timestamp (default UTC).
	Location *time.Location
	// Examples decides who sees which examples (app wires the query
	// console's grants and masking rules); nil shows none.
	Examples ExampleAccessor
	// Explainer runs EXPLAIN of examples through the query console (app
	// wires it); nil offers none.
	Explainer Explainer
}

// NewService returns a Service.
func NewService(db *sqldb.DB, inv *inventory.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := DefaultConfig()
	return &Service{db: db, inv: inv, log: log, now: time.Now, Bucket: time.Hour, ExplainTimeout: d.ExplainTimeout,
		BatchRows: d.BatchRows, MaxBatches: 20, Location: time.UTC}
}

func (s *Service) bucket() time.Duration {
	if s.Bucket <= 0 {
		return time.Hour
	}
	return s.Bucket
}

// UploadResult reports what an upload added.
type UploadResult struct {
	Instance string    `json:"instance"`
	Bytes    int64     `json:"bytes"`
	Events   uint64    `json:"events"`
	Classes  int       `json:"classes"`
	Buckets  int       `json:"buckets"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	// Skipped counts the events left out because a number in them is out
	// of range (not finite, negative, beyond MaxSeconds or MaxCount);
	// SkippedEvents lists the first 100 with their line and reason.
	Skipped       uint64         `json:"skipped"`
	SkippedEvents []SkippedEvent `json:"skipped_events,omitempty"`
}

// mysqlFamily reports whether an engine writes MySQL-format slow logs.
func mysqlFamily(k engine.Kind) bool {
	return k == engine.MariaDB || k == engine.MySQL || k == engine.TiDB
}

// Upload digests a slow-log file (plain or gzip) of an instance and adds
// it to the instance's aggregates. The body is streamed: memory depends on
// the number of classes and hours in the log, not its size.
func (s *Service) Upload(ctx context.Context, instance string, r io.Reader) (UploadResult, error) {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return UploadResult{}, err
	}
	if !mysqlFamily(in.Engine) {
		return UploadResult{}, errkind.New(errkind.Invalid, "instance %q is %s: slow-log files are MariaDB/MySQL's; %s slow queries are collected from the server", instance, in.Engine, in.Engine)
	}
	rc, err := Decompress(io.NopCloser(r))
	if err != nil {
		return UploadResult{}, errkind.Wrap(errkind.Invalid, fmt.Errorf("slow log upload: %w", err))
	}
	d, err := Run(ctx, []Input{{Name: "upload", R: rc}}, Options{Bucket: s.bucket(), Location: s.Location})
	if err != nil {
		if ctx.Err() == nil {
			err = errkind.Wrap(errkind.Invalid, err)
		}
		return UploadResult{}, fmt.Errorf("slow log upload: %w", err)
	}
	if d.Events == 0 && d.Skipped > 0 {
		return UploadResult{}, errkind.New(errkind.Invalid, "slow log upload: all %d events have numbers out of range, the first at line %d: %s",
			d.Skipped, d.SkippedEvents[0].Line, d.SkippedEvents[0].Reason)
	}
	if d.Events == 0 && d.Bytes > 0 {
		return UploadResult{}, errkind.New(errkind.Invalid, "slow log upload: no slow-log events in %d bytes: want a MariaDB/MySQL slow log (plain or gzip)", d.Bytes)
	}
	res := UploadResult{Instance: instance, Bytes: d.Bytes, Events: d.Events, From: usTime(d.Totals.TimeMin), To: usTime(d.Totals.TimeMax),
		Skipped: d.Skipped, SkippedEvents: d.SkippedEvents}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if res.Classes, res.Buckets, err = s.store(ctx, tx, in, SourceUpload, d); err != nil {
			return err
		}
		msg := fmt.Sprintf("last upload: %d events, %d bytes", d.Events, d.Bytes)
		if d.Skipped > 0 {
			msg += fmt.Sprintf(", %d events skipped (numbers out of range)", d.Skipped)
		}
		if err := s.setSource(ctx, tx, in.ID, SourceStatus{Source: SourceUpload, Status: StatusOK, Message: msg}, int64(d.Events)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "slowlog.upload", instance, map[string]any{"bytes": d.Bytes, "events": d.Events, "classes": res.Classes, "skipped": d.Skipped})
	})
	if err != nil {
		return UploadResult{}, err
	}
	return res, nil
}

// Filter selects a time range and how to rank classes.
type Filter struct {
	// Since and Until bound the buckets; zero means the last 24 hours and
	// now.
	Since, Until time.Time
	OrderBy      OrderBy
	// Limit is how many classes (0: 50).
	Limit int
}

func (s *Service) rangeOf(f Filter) (since, until time.Time) {
	until = f.Until
	if until.IsZero() {
		until = s.now()
	}
	since = f.Since
	if since.IsZero() {
		since = until.Add(-24 * time.Hour)
	}
	return since, until
}

// TopClass is a class's aggregate over a time range.
type TopClass struct {
	QueryID     string `json:"query_id"`
	Fingerprint string `json:"fingerprint"`
	Distillate  string `json:"distillate"`
	Source      string `json:"source"`
	Calls       int64  `json:"calls"`
	// QueryTime is the total time in seconds, Share its part of all
	// classes' total in the range.
	QueryTime    float64   `json:"query_time"`
	Share        float64   `json:"share"`
	Avg          float64   `json:"avg"`
	Min          float64   `json:"min"`
	Max          float64   `json:"max"`
	P95          float64   `json:"p95"`
	Median       float64   `json:"median"`
	LockTime     float64   `json:"lock_time"`
	RowsSent     int64     `json:"rows_sent"`
	RowsExamined int64     `json:"rows_examined"`
	RowsAffected int64     `json:"rows_affected"`
	BytesSent    int64     `json:"bytes_sent"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
}

// TopResult is the classes of an instance over a range.
type TopResult struct {
	Instance string     `json:"instance"`
	Since    time.Time  `json:"since"`
	Until    time.Time  `json:"until"`
	OrderBy  OrderBy    `json:"order_by"`
	Classes  int        `json:"classes"` // in the range, before the limit
	Calls    int64      `json:"calls"`
	Time     float64    `json:"query_time"`
	Top      []TopClass `json:"top"`
}

type classAgg struct {
	TopClass
	m         Metric
	lastStart int64
}

// add adds a stored row (sanitized: rows stored before the range checks
// may hold +Inf or wrapped counts), saturating rather than overflowing.
func (a *classAgg) add(r bucketRow) {
	r.sanitize()
	r.addTo(&a.m)
	a.Calls = addSatInt(a.Calls, r.calls)
	a.LockTime = addSat(a.LockTime, r.lock)
	a.RowsSent = addSatInt(a.RowsSent, r.rowsSent)
	a.RowsExamined = addSatInt(a.RowsExamined, r.rowsExamined)
	a.RowsAffected = addSatInt(a.RowsAffected, r.rowsAffected)
	a.BytesSent = addSatInt(a.BytesSent, r.bytes)
	a.lastStart = max(a.lastStart, r.start)
}

func (a *classAgg) finish(total float64) TopClass {
	st := a.m.Stats()
	t := a.TopClass
	t.QueryTime, t.Min, t.Max, t.Avg = a.m.Sum, a.m.Min, a.m.Max, a.m.Avg()
	t.P95, t.Median = st.Pct95, st.Median
	if total > 0 {
		t.Share = t.QueryTime / total
	}
	return t
}

// instanceID resolves an instance name.
func (s *Service) instance(ctx context.Context, name string) (inventory.Instance, error) {
	return s.inv.GetInstance(ctx, name)
}

// Top ranks an instance's slow-query classes over a time range, for p
// (slowlog.read). Classes carry fingerprints, never examples.
func (s *Service) Top(ctx context.Context, p auth.Principal, instance string, f Filter) (TopResult, error) {
	if err := p.Require(auth.SlowlogRead); err != nil {
		return TopResult{}, err
	}
	in, err := s.instance(ctx, instance)
	if err != nil {
		return TopResult{}, err
	}
	since, until := s.rangeOf(f)
	if !until.After(since) {
		return TopResult{}, errkind.New(errkind.Invalid, "empty time range: until %s is not after since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	order := f.OrderBy
	if order == "" {
		order = OrderSum
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	bucketMS := s.bucket().Milliseconds()
	from := since.UnixMilli() / bucketMS * bucketMS
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.query_id, c.fingerprint, c.distillate, c.source, c.first_seen, c.last_seen,
		b.bucket_start, b.calls, b.query_time, b.query_time_min, b.query_time_max, b.lock_time, b.rows_sent, b.rows_examined,
		b.rows_affected, b.bytes_sent, b.histogram
		FROM slowlog_buckets b JOIN slowlog_classes c ON c.id = b.class_id
		WHERE c.instance_id = ? AND b.bucket_start >= ? AND b.bucket_start < ?`, in.ID, from, until.UnixMilli())
	if err != nil {
		return TopResult{}, fmt.Errorf("read slow-query classes of %q: %w", instance, err)
	}
	defer rows.Close()
	aggs := map[int64]*classAgg{}
	for rows.Next() {
		var id, first, last int64
		var qid, fp, dist, src string
		var r bucketRow
		if err := rows.Scan(&id, &qid, &fp, &dist, &src, &first, &last, &r.start, &r.calls, &r.qt, &r.qtMin, &r.qtMax, &r.lock,
			&r.rowsSent, &r.rowsExamined, &r.rowsAffected, &r.bytes, &r.hist); err != nil {
			return TopResult{}, fmt.Errorf("read slow-query classes of %q: %w", instance, err)
		}
		a := aggs[id]
		if a == nil {
			a = &classAgg{TopClass: TopClass{QueryID: qid, Fingerprint: fp, Distillate: dist, Source: src,
				FirstSeen: sqldb.Time(first), LastSeen: sqldb.Time(last)}}
			aggs[id] = a
		}
		a.add(r)
	}
	if err := rows.Err(); err != nil {
		return TopResult{}, fmt.Errorf("read slow-query classes of %q: %w", instance, err)
	}
	res := TopResult{Instance: instance, Since: since, Until: until, OrderBy: order, Classes: len(aggs), Top: []TopClass{}}
	for _, a := range aggs {
		res.Calls = addSatInt(res.Calls, a.Calls)
		res.Time = addSat(res.Time, a.m.Sum)
	}
	list := make([]TopClass, 0, len(aggs))
	for _, a := range aggs {
		list = append(list, a.finish(res.Time))
	}
	key := func(t TopClass) float64 {
		switch order {
		case OrderCount:
			return float64(t.Calls)
		case OrderMax:
			return t.Max
		case OrderP95:
			return t.P95
		}
		return t.QueryTime
	}
	slices.SortFunc(list, func(a, b TopClass) int {
		if c := cmp.Compare(key(b), key(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.QueryID, b.QueryID)
	})
	if len(list) > limit {
		list = list[:limit]
	}
	res.Top = list
	return res, nil
}

// TrendPoint is one time bucket of a class.
type TrendPoint struct {
	Start     time.Time `json:"start"`
	Calls     int64     `json:"calls"`
	QueryTime float64   `json:"query_time"`
	Avg       float64   `json:"avg"`
	Max       float64   `json:"max"`
	P95       float64   `json:"p95"`
}

// ClassDetail is one class over a range: its totals, its trend per bucket,
// its Query_time distribution and its worst example.
type ClassDetail struct {
	Instance string `json:"instance"`
	Engine   string `json:"engine"`
	TopClass
	Since, Until time.Time    `json:"-"`
	Trend        []TrendPoint `json:"trend"`
	// Histogram counts calls per power of ten: 1us, 10us ... 10s+.
	Histogram [8]uint64 `json:"histogram"`
	// Example is the worst example as the caller may see it
	// (ExampleAccess): full (credentials redacted), normalized (every
	// literal a ?) or none (empty); ExampleNote says why when not full.
	ExampleAccess    Access    `json:"example_access"`
	ExampleNote      string    `json:"example_note,omitempty"`
	Example          string    `json:"example"`
	ExampleDB        string    `json:"example_db,omitempty"`
	ExampleAt        time.Time `json:"example_at,omitzero"`
	ExampleQueryTime float64   `json:"example_query_time"`
	// Explainable says whether EXPLAIN of the example is offered to the
	// caller (the console still checks the statement); WhyNot says why
	// not otherwise.
	Explainable bool   `json:"explainable"`
	WhyNot      string `json:"why_not_explainable,omitempty"`
}

// normalizeID accepts 0x-prefixed or bare, full (32) or short (16) ids.
func normalizeID(id string) (string, error) {
	id = strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(id), "0x"), "0X"))
	if (len(id) != 32 && len(id) != 16) || strings.Trim(id, "0123456789ABCDEF") != "" {
		return "", errkind.New(errkind.Invalid, "invalid query id %q: want the 32 (or last 16) hex digits pt-query-digest and dbfleet print, 0x optional", id)
	}
	return id, nil
}

type storedClass struct {
	id                           int64
	qid, fp, dist, src, ex, exDB string
	exAt, first, last            int64
	exQT                         float64
}

func (s *Service) findClass(ctx context.Context, in inventory.Instance, queryID string) (storedClass, error) {
	id, err := normalizeID(queryID)
	if err != nil {
		return storedClass{}, err
	}
	q := `SELECT id, query_id, fingerprint, distillate, source, example, example_db, example_at, example_query_time, first_seen, last_seen
		FROM slowlog_classes WHERE instance_id = ? AND query_id = ?`
	arg := id
	if len(id) == 16 {
		q = strings.Replace(q, "query_id = ?", "query_id LIKE ?", 1)
		arg = "%" + id
	}
	rows, err := s.db.QueryContext(ctx, q, in.ID, arg)
	if err != nil {
		return storedClass{}, fmt.Errorf("find slow-query class: %w", err)
	}
	defer rows.Close()
	var found []storedClass
	for rows.Next() {
		var c storedClass
		if err := rows.Scan(&c.id, &c.qid, &c.fp, &c.dist, &c.src, &c.ex, &c.exDB, &c.exAt, &c.exQT, &c.first, &c.last); err != nil {
			return storedClass{}, fmt.Errorf("find slow-query class: %w", err)
		}
		c.exQT = finiteStored(c.exQT)
		c.ex = storedExample(c.ex, in.Engine)
		found = append(found, c)
	}
	if err := rows.Err(); err != nil {
		return storedClass{}, fmt.Errorf("find slow-query class: %w", err)
	}
	switch len(found) {
	case 0:
		return storedClass{}, errkind.New(errkind.NotFound, "no slow-query class 0x%s on instance %q", id, in.Name)
	case 1:
		return found[0], nil
	}
	return storedClass{}, errkind.New(errkind.Conflict, "short query id %s matches %d classes on %q: give all 32 hex digits", id, len(found), in.Name)
}

// Class returns one class of an instance over a range, for p
// (slowlog.read): the example as p may see it (see Access).
func (s *Service) Class(ctx context.Context, p auth.Principal, instance, queryID string, f Filter) (ClassDetail, error) {
	if err := p.Require(auth.SlowlogRead); err != nil {
		return ClassDetail{}, err
	}
	in, err := s.instance(ctx, instance)
	if err != nil {
		return ClassDetail{}, err
	}
	c, err := s.findClass(ctx, in, queryID)
	if err != nil {
		return ClassDetail{}, err
	}
	since, until := s.rangeOf(f)
	bucketMS := s.bucket().Milliseconds()
	rows, err := s.db.QueryContext(ctx, `SELECT bucket_start, calls, query_time, query_time_min, query_time_max, lock_time, rows_sent,
		rows_examined, rows_affected, bytes_sent, histogram FROM slowlog_buckets
		WHERE class_id = ? AND bucket_start >= ? AND bucket_start < ? ORDER BY bucket_start`,
		c.id, since.UnixMilli()/bucketMS*bucketMS, until.UnixMilli())
	if err != nil {
		return ClassDetail{}, fmt.Errorf("read slow-query class: %w", err)
	}
	defer rows.Close()
	a := &classAgg{TopClass: TopClass{QueryID: c.qid, Fingerprint: c.fp, Distillate: c.dist, Source: c.src,
		FirstSeen: sqldb.Time(c.first), LastSeen: sqldb.Time(c.last)}}
	d := ClassDetail{Instance: instance, Engine: string(in.Engine), Since: since, Until: until, Trend: []TrendPoint{},
		Example: c.ex, ExampleDB: c.exDB, ExampleAt: sqldb.Time(c.exAt), ExampleQueryTime: c.exQT}
	for rows.Next() {
		var r bucketRow
		if err := rows.Scan(&r.start, &r.calls, &r.qt, &r.qtMin, &r.qtMax, &r.lock, &r.rowsSent, &r.rowsExamined, &r.rowsAffected, &r.bytes, &r.hist); err != nil {
			return ClassDetail{}, fmt.Errorf("read slow-query class: %w", err)
		}
		a.add(r)
		r.sanitize()
		var m Metric
		r.addTo(&m)
		p := TrendPoint{Start: sqldb.Time(r.start), Calls: r.calls, QueryTime: r.qt, Avg: m.Avg(), Max: r.qtMax, P95: m.Stats().Pct95}
		d.Trend = append(d.Trend, p)
	}
	if err := rows.Err(); err != nil {
		return ClassDetail{}, fmt.Errorf("read slow-query class: %w", err)
	}
	d.TopClass = a.finish(0)
	d.Histogram = a.m.Distribution()
	access, err := s.access(ctx, p, in.Name)
	if err != nil {
		return ClassDetail{}, err
	}
	d.ExampleAccess = access
	d.Example, d.ExampleNote = exampleFor(access, p, in.Name, in.Engine, c.ex, c.fp)
	if s.Examples == nil {
		d.ExampleNote = "no example: examples are shown by the query console's grants, and this server has no query console"
	}
	switch _, err := explainStatement(in.Engine, c.ex); {
	case s.Explainer == nil:
		d.WhyNot = "EXPLAIN on demand runs through the query console, which this server lacks"
	case access == AccessNone:
		d.WhyNot = d.ExampleNote
	case access == AccessNormalized:
		d.WhyNot = maskedExplain(p, in.Name)
	case err != nil:
		d.WhyNot = err.Error()
	default:
		d.Explainable = true
	}
	return d, nil
}

// Sources lists where each way of collecting an instance's slow queries
// stands.
func (s *Service) Sources(ctx context.Context, instance string) ([]SourceStatus, error) {
	in, err := s.instance(ctx, instance)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT source, status, message, position, checked_at, last_ok_at, events
		FROM slowlog_sources WHERE instance_id = ? ORDER BY source`, in.ID)
	if err != nil {
		return nil, fmt.Errorf("read slow-log sources of %q: %w", instance, err)
	}
	defer rows.Close()
	out := []SourceStatus{}
	for rows.Next() {
		st := SourceStatus{Instance: instance}
		var checked, ok int64
		if err := rows.Scan(&st.Source, &st.Status, &st.Message, &st.Position, &checked, &ok, &st.Events); err != nil {
			return nil, fmt.Errorf("read slow-log sources of %q: %w", instance, err)
		}
		st.CheckedAt, st.LastOKAt = sqldb.Time(checked), sqldb.Time(ok)
		out = append(out, st)
	}
	return out, rows.Err()
}

// InstanceSummary is an instance's slow-query overview.
type InstanceSummary struct {
	Instance string    `json:"instance"`
	Engine   string    `json:"engine"`
	Classes  int       `json:"classes"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Status is the worst of its sources' ("" when none ran yet).
	Status string `json:"status,omitempty"`
}

// Summaries lists every instance with what is known of its slow queries.
func (s *Service) Summaries(ctx context.Context) ([]InstanceSummary, error) {
	ins, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	type agg struct {
		n    int
		last int64
	}
	counts := map[int64]agg{}
	rows, err := s.db.QueryContext(ctx, `SELECT instance_id, COUNT(*), MAX(last_seen) FROM slowlog_classes GROUP BY instance_id`)
	if err != nil {
		return nil, fmt.Errorf("summarise slow queries: %w", err)
	}
	for rows.Next() {
		var id int64
		var a agg
		var last sql.NullInt64
		if err := rows.Scan(&id, &a.n, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summarise slow queries: %w", err)
		}
		a.last = last.Int64
		counts[id] = a
	}
	rows.Close()
	status := map[int64]string{}
	rows, err = s.db.QueryContext(ctx, `SELECT instance_id, status FROM slowlog_sources`)
	if err != nil {
		return nil, fmt.Errorf("summarise slow queries: %w", err)
	}
	rank := map[string]int{"": 0, StatusOK: 1, StatusUnavailable: 2, StatusError: 3}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summarise slow queries: %w", err)
		}
		if rank[st] > rank[status[id]] {
			status[id] = st
		}
	}
	rows.Close()
	out := []InstanceSummary{}
	for _, in := range ins {
		a := counts[in.ID]
		out = append(out, InstanceSummary{Instance: in.Name, Engine: string(in.Engine), Classes: a.n, LastSeen: sqldb.Time(a.last), Status: status[in.ID]})
	}
	return out, nil
}

// Prune deletes buckets older than before, and classes left without any.
func (s *Service) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM slowlog_buckets WHERE bucket_start < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune slow-query buckets: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM slowlog_classes WHERE last_seen < ?
		AND NOT EXISTS (SELECT 1 FROM slowlog_buckets b WHERE b.class_id = slowlog_classes.id)`, before.UnixMilli()); err != nil {
		return n, fmt.Errorf("prune slow-query classes: %w", err)
	}
	return n, nil
}
