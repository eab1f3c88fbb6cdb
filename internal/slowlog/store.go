package slowlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// maxExample bounds a stored example statement.
const maxExample = 64 << 10

// truncatedMark ends a shortened example.
const truncatedMark = " /* ... truncated by dbfleet */"

// sqlDialect is the dialect of an engine's statements; ok is false for
// engines without SQL (Redis: collectRedis hides credentials itself).
func sqlDialect(k engine.Kind) (sqlfe.Dialect, bool) {
	d, err := sqlfe.ParseDialect(string(k))
	return d, err == nil
}

// shortenExample redacts and bounds an example of engine k (at a
// character boundary, invalid UTF-8 replaced); it reports truncation.
func shortenExample(q string, k engine.Kind) (string, bool) {
	q = validText(q)
	if d, ok := sqlDialect(k); ok {
		q = redactExample(q, d)
	}
	if len(q) <= maxExample {
		return q, false
	}
	return truncateText(q, maxExample) + truncatedMark, true
}

// storedExample is an example as shown: examples stored before the
// redaction was widened are redacted again on the way out (redaction is
// idempotent), the truncation mark kept.
func storedExample(ex string, k engine.Kind) string {
	d, ok := sqlDialect(k)
	if !ok || ex == "" {
		return ex
	}
	body, cut := strings.CutSuffix(ex, truncatedMark)
	body = redactExample(body, d)
	if cut {
		body += truncatedMark
	}
	return body
}

// encodeHistogram writes sparse buckets as "idx:n,idx:n".
func encodeHistogram(b [][2]uint64) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatUint(x[0], 10))
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatUint(x[1], 10))
	}
	return sb.String()
}

func decodeHistogram(s string) [][2]uint64 {
	var out [][2]uint64
	for _, part := range strings.Split(s, ",") {
		i, n, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(i, 10, 64)
		b, err2 := strconv.ParseUint(n, 10, 64)
		if err1 == nil && err2 == nil && a < NumBuckets {
			out = append(out, [2]uint64{a, b})
		}
	}
	return out
}

// bucketRow is one stored (class, time bucket) aggregate.
type bucketRow struct {
	classID                                     int64
	start                                       int64 // Unix ms
	calls                                       int64
	qt, qtMin, qtMax, lock                      float64
	rowsSent, rowsExamined, rowsAffected, bytes int64
	hist                                        string
}

// metric rebuilds the Query_time metric of rows.
func (r *bucketRow) addTo(m *Metric) {
	m.AddBuckets(uint64(r.calls), r.qt, r.qtMin, r.qtMax, decodeHistogram(r.hist))
}

func merged(a, b bucketRow) bucketRow {
	a.sanitize()
	var m Metric
	a.addTo(&m)
	b.addTo(&m)
	a.calls = addSatInt(a.calls, b.calls)
	a.qt, a.qtMin, a.qtMax = m.Sum, m.Min, m.Max
	a.lock = addSat(a.lock, b.lock)
	a.rowsSent = addSatInt(a.rowsSent, b.rowsSent)
	a.rowsExamined = addSatInt(a.rowsExamined, b.rowsExamined)
	a.rowsAffected = addSatInt(a.rowsAffected, b.rowsAffected)
	a.bytes = addSatInt(a.bytes, b.bytes)
	a.hist = encodeHistogram(m.Buckets())
	return a
}

// store adds a bucketed digest (Options.Bucket or AddRecord with a
// bucket) to an instance's aggregates, in one transaction. Classes whose
// events had no time go to the bucket of now.
func (s *Service) store(ctx context.Context, tx *sqldb.Tx, in inventory.Instance, source string, d *Digest) (classes, buckets int, err error) {
	instanceID := in.ID
	now := s.now()
	bucketMS := s.bucket().Milliseconds()
	ids := map[string]int64{}
	// Worst example per fingerprint first, then the buckets.
	best := map[string]*Class{}
	for _, c := range d.Classes {
		if b := best[c.Fingerprint]; b == nil || c.sampleQT >= b.sampleQT {
			best[c.Fingerprint] = c
		}
	}
	fps := make([]string, 0, len(best))
	for fp := range best {
		fps = append(fps, fp)
	}
	slices.Sort(fps) // a stable lock order
	for _, fp := range fps {
		c := best[fp]
		qid := QueryID(fp) // of the fingerprint as read, as pt-query-digest's
		ex, _ := shortenExample(string(c.Sample), in.Engine)
		fpText, exDB := validText(fp), validText(c.SampleDB)
		exAt := c.SampleTime / 1000
		first, last := c.TimeMin/1000, c.TimeMax/1000
		if first == 0 {
			first, last = now.UnixMilli(), now.UnixMilli()
		}
		for _, o := range d.Classes {
			if o.Fingerprint == fp && o.TimeMin != 0 {
				first = min(first, o.TimeMin/1000)
				last = max(last, o.TimeMax/1000)
			}
		}
		var id int64
		var exQT float64
		var firstSeen, lastSeen int64
		err := tx.QueryRowContext(ctx, `SELECT id, example_query_time, first_seen, last_seen FROM slowlog_classes WHERE instance_id = ? AND query_id = ?`,
			instanceID, qid).Scan(&id, &exQT, &firstSeen, &lastSeen)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `INSERT INTO slowlog_classes (instance_id, query_id, fingerprint, distillate, source, example, example_db,
				example_at, example_query_time, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				instanceID, qid, fpText, Distill(ex), source, ex, exDB, exAt, c.sampleQT, first, last).Scan(&id)
			if err != nil {
				return 0, 0, fmt.Errorf("add slow-query class %s: %w", qid, err)
			}
		case err != nil:
			return 0, 0, fmt.Errorf("read slow-query class %s: %w", qid, err)
		default:
			if c.sampleQT >= exQT && len(c.Sample) > 0 {
				_, err = tx.ExecContext(ctx, `UPDATE slowlog_classes SET example = ?, example_db = ?, example_at = ?, example_query_time = ?,
					distillate = ?, source = ?, first_seen = ?, last_seen = ? WHERE id = ?`,
					ex, exDB, exAt, c.sampleQT, Distill(ex), source, min(first, firstSeen), max(last, lastSeen), id)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE slowlog_classes SET source = ?, first_seen = ?, last_seen = ? WHERE id = ?`,
					source, min(first, firstSeen), max(last, lastSeen), id)
			}
			if err != nil {
				return 0, 0, fmt.Errorf("update slow-query class %s: %w", qid, err)
			}
		}
		ids[fp] = id
		classes++
	}
	for _, c := range d.Classes {
		q := &c.Num[AttrQueryTime]
		if c.Events == 0 {
			continue
		}
		start := c.Bucket / 1000
		if start == 0 {
			start = now.UnixMilli() / bucketMS * bucketMS
		}
		row := bucketRow{
			classID: ids[c.Fingerprint], start: start, calls: toInt64(float64(c.Events)),
			qt: q.Sum, qtMin: q.Min, qtMax: q.Max, lock: c.Num[AttrLockTime].Sum,
			rowsSent: toInt64(c.Num[AttrRowsSent].Sum), rowsExamined: toInt64(c.Num[AttrRowsExamined].Sum),
			rowsAffected: toInt64(c.Num[AttrRowsAffected].Sum), bytes: toInt64(c.Num[AttrBytesSent].Sum),
			hist: encodeHistogram(q.Buckets()),
		}
		if q.Cnt < c.Events {
			// Events without a Query_time count as calls of no time.
			row.hist = encodeHistogram(append(q.Buckets(), [2]uint64{0, c.Events - q.Cnt}))
			if q.Cnt == 0 {
				row.qtMin, row.qtMax = 0, 0
			}
		}
		var old bucketRow
		err := tx.QueryRowContext(ctx, `SELECT calls, query_time, query_time_min, query_time_max, lock_time, rows_sent, rows_examined,
			rows_affected, bytes_sent, histogram FROM slowlog_buckets WHERE class_id = ? AND bucket_start = ?`, row.classID, row.start).
			Scan(&old.calls, &old.qt, &old.qtMin, &old.qtMax, &old.lock, &old.rowsSent, &old.rowsExamined, &old.rowsAffected, &old.bytes, &old.hist)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO slowlog_buckets (class_id, bucket_start, calls, query_time, query_time_min, query_time_max,
				lock_time, rows_sent, rows_examined, rows_affected, bytes_sent, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				row.classID, row.start, row.calls, row.qt, row.qtMin, row.qtMax, row.lock, row.rowsSent, row.rowsExamined, row.rowsAffected, row.bytes, row.hist)
		case err == nil:
			old.classID, old.start = row.classID, row.start
			m := merged(old, row)
			_, err = tx.ExecContext(ctx, `UPDATE slowlog_buckets SET calls = ?, query_time = ?, query_time_min = ?, query_time_max = ?, lock_time = ?,
				rows_sent = ?, rows_examined = ?, rows_affected = ?, bytes_sent = ?, histogram = ? WHERE class_id = ? AND bucket_start = ?`,
				m.calls, m.qt, m.qtMin, m.qtMax, m.lock, m.rowsSent, m.rowsExamined, m.rowsAffected, m.bytes, m.hist, m.classID, m.start)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("store slow-query bucket: %w", err)
		}
		buckets++
	}
	return classes, buckets, nil
}

// SourceStatus says where one way of collecting an instance's slow
// queries stands.
type SourceStatus struct {
	Instance string `json:"instance"`
	// Source: upload, slow_log_table, performance_schema,
	// pg_stat_statements or redis_slowlog.
	Source string `json:"source"`
	// Status: ok, unavailable (not enabled on the server: Message says
	// how to enable it) or error.
	Status    string    `json:"status"`
	Message   string    `json:"message,omitempty"`
	Position  string    `json:"position,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	LastOKAt  time.Time `json:"last_ok_at,omitzero"`
	// Events collected from this source so far.
	Events int64 `json:"events"`
}

// Source statuses.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
	StatusError       = "error"
)

func (s *Service) setSource(ctx context.Context, q sqldb.Querier, instanceID int64, st SourceStatus, events int64) error {
	now := s.now().UnixMilli()
	lastOK := int64(0)
	if st.Status == StatusOK {
		lastOK = now
	}
	_, err := q.ExecContext(ctx, `INSERT INTO slowlog_sources (instance_id, source, status, message, position, checked_at, last_ok_at, events)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (instance_id, source) DO UPDATE SET status = excluded.status, message = excluded.message,
			position = CASE WHEN excluded.position = '' THEN slowlog_sources.position ELSE excluded.position END,
			checked_at = excluded.checked_at,
			last_ok_at = CASE WHEN excluded.last_ok_at = 0 THEN slowlog_sources.last_ok_at ELSE excluded.last_ok_at END,
			events = slowlog_sources.events + excluded.events`,
		instanceID, st.Source, st.Status, st.Message, st.Position, now, lastOK, events)
	if err != nil {
		return fmt.Errorf("record slow-log source %s: %w", st.Source, err)
	}
	return nil
}

func (s *Service) sourcePosition(ctx context.Context, instanceID int64, source string) (string, error) {
	var pos string
	err := s.db.QueryRowContext(ctx, `SELECT position FROM slowlog_sources WHERE instance_id = ? AND source = ?`, instanceID, source).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read slow-log position: %w", err)
	}
	return pos, nil
}
