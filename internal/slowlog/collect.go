package slowlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Sources of slow queries.
const (
	SourceUpload            = "upload"             // a slow-log file sent to the API
	SourceSlowLogTable      = "slow_log_table"     // MariaDB/MySQL mysql.slow_log (log_output=TABLE)
	SourcePerformanceSchema = "performance_schema" // events_statements_summary_by_digest
	SourcePgStatStatements  = "pg_stat_statements" // PostgreSQL extension
	SourceRedisSlowlog      = "redis_slowlog"      // Redis SLOWLOG GET
)

// collectResult is what one source gave in one round.
type collectResult struct {
	status SourceStatus
	d      *Digest
	events int64
	// counters to remember (digest sources)
	counters map[string]counter
}

// Collect reads new slow queries from an instance's own server: the
// mysql.slow_log table when log_output includes TABLE, else
// performance_schema statement digests when enabled (MariaDB/MySQL);
// pg_stat_statements (PostgreSQL); SLOWLOG (Redis). It remembers where it
// stopped, and records each source's status, with what to enable when a
// source is unavailable.
func (s *Service) Collect(ctx context.Context, instance string) ([]SourceStatus, error) {
	in, err := s.instance(ctx, instance)
	if err != nil {
		return nil, err
	}
	if !mysqlFamily(in.Engine) && in.Engine != engine.Postgres && in.Engine != engine.Redis {
		return nil, errkind.New(errkind.Invalid, "instance %q is %s: slow queries are collected from MariaDB, MySQL, TiDB, PostgreSQL and Redis", instance, in.Engine)
	}
	var results []collectResult
	conn, err := s.inv.Connect(ctx, instance, "")
	if err != nil {
		src := map[engine.Kind]string{engine.Postgres: SourcePgStatStatements, engine.Redis: SourceRedisSlowlog}[in.Engine]
		if src == "" {
			src = SourceSlowLogTable
		}
		results = []collectResult{{status: SourceStatus{Source: src, Status: StatusError, Message: "cannot connect: " + err.Error()}}}
	} else {
		defer conn.Close()
		switch {
		case mysqlFamily(in.Engine):
			results = s.collectMySQL(ctx, in, conn)
		case in.Engine == engine.Postgres:
			results = []collectResult{s.collectPostgres(ctx, in, conn)}
		default:
			results = []collectResult{s.collectRedis(ctx, in, conn)}
		}
	}
	var out []SourceStatus
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = out[:0]
		for _, r := range results {
			if r.d != nil && len(r.d.Classes) > 0 {
				if _, _, err := s.store(ctx, tx, in, r.status.Source, r.d); err != nil {
					return err
				}
			}
			if err := s.saveCounters(ctx, tx, in.ID, r.status.Source, r.counters); err != nil {
				return err
			}
			if err := s.setSource(ctx, tx, in.ID, r.status, r.events); err != nil {
				return err
			}
			st := r.status
			st.Instance = instance
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// pgStatementsStatus classifies a failed read of pg_stat_statements: the
// extension exists but the library is not loaded (shared_preload_libraries;
// SQLSTATE 55000, object_not_in_prerequisite_state) is a source that is
// unavailable until the server is configured; anything else is an error.
func pgStatementsStatus(err error) string {
	var se *engine.ServerError
	if errors.As(err, &se) && se.SQLState == "55000" {
		return StatusUnavailable
	}
	return StatusError
}

func (s *Service) collectMySQL(ctx context.Context, in inventory.Instance, conn engine.Conn) []collectResult {
	vars, err := conn.Variables(ctx, "log_output", "slow_query_log", "performance_schema", "long_query_time")
	if err != nil {
		return []collectResult{{status: SourceStatus{Source: SourceSlowLogTable, Status: StatusError, Message: "read server variables: " + err.Error()}}}
	}
	on := func(v string) bool { b, _ := engine.Bool(v); return b }
	table := strings.Contains(strings.ToUpper(vars["log_output"]), "TABLE") && on(vars["slow_query_log"])
	pfs := on(vars["performance_schema"])
	var out []collectResult
	if table {
		out = append(out, s.collectSlowLogTable(ctx, in, conn))
	} else {
		why := []string{}
		if !on(vars["slow_query_log"]) {
			why = append(why, "slow_query_log=OFF")
		}
		if !strings.Contains(strings.ToUpper(vars["log_output"]), "TABLE") {
			why = append(why, "log_output="+vars["log_output"])
		}
		out = append(out, collectResult{status: SourceStatus{Source: SourceSlowLogTable, Status: StatusUnavailable,
			Message: strings.Join(why, ", ") + ": SET GLOBAL slow_query_log=ON, log_output='FILE,TABLE' to collect from mysql.slow_log, or upload the slow-log file (dbfleet slowlog upload)"}})
	}
	if pfs && !table {
		// Both would count the same statements twice: the slow log wins.
		out = append(out, s.collectDigests(ctx, in, conn))
	} else if !pfs {
		out = append(out, collectResult{status: SourceStatus{Source: SourcePerformanceSchema, Status: StatusUnavailable,
			Message: "performance_schema=OFF: start the server with performance_schema=ON to collect statement digests"}})
	} else {
		out = append(out, collectResult{status: SourceStatus{Source: SourcePerformanceSchema, Status: StatusUnavailable,
			Message: "not used while mysql.slow_log is collected (it would count statements twice)"}})
	}
	return out
}

// parseUserHost reads mysql.slow_log's user_host ("user[user] @ host [ip]").
func parseUserHost(uh string) (user, host string) {
	var ev Event
	var p parser
	if p.parseUserHost([]byte("# User@Host: "+uh), &ev) {
		return string(ev.User), string(ev.Host)
	}
	return "", ""
}

// collectSlowLogTable reads mysql.slow_log rows after the position: the
// start time (Unix µs) of the last row read and how many rows had it.
func (s *Service) collectSlowLogTable(ctx context.Context, in inventory.Instance, conn engine.Conn) collectResult {
	res := collectResult{status: SourceStatus{Source: SourceSlowLogTable}}
	pos, err := s.sourcePosition(ctx, in.ID, SourceSlowLogTable)
	if err != nil {
		res.status.Status, res.status.Message = StatusError, err.Error()
		return res
	}
	var lastUS, sameCount int64
	if a, b, ok := strings.Cut(pos, ":"); ok {
		lastUS, _ = strconv.ParseInt(a, 10, 64)
		sameCount, _ = strconv.ParseInt(b, 10, 64)
	}
	cols := "UNIX_TIMESTAMP(start_time) AS ts, user_host, TIME_TO_SEC(query_time) AS qt, TIME_TO_SEC(lock_time) AS lt, rows_sent, rows_examined, db, sql_text"
	if in.Engine == engine.MariaDB {
		cols += ", rows_affected"
	}
	d := NewDigest()
	limit := max(s.BatchRows, 1)
	for batch := 0; batch < max(s.MaxBatches, 1); batch++ {
		// FROM_UNIXTIME and UNIX_TIMESTAMP both use the session time zone,
		// so the position round-trips whatever it is.
		rows, _, err := conn.Query(ctx, 0, "SELECT "+cols+" FROM mysql.slow_log WHERE start_time >= FROM_UNIXTIME(?) ORDER BY start_time LIMIT ?",
			strconv.FormatFloat(float64(lastUS)/1e6, 'f', 6, 64), int64(limit)+sameCount)
		if err != nil {
			res.status.Status, res.status.Message = StatusError, "read mysql.slow_log: "+err.Error()
			return res
		}
		col := rows.Col
		skip := sameCount
		n := 0
		for _, r := range rows.All() {
			tsUS := int64(math.Round(r.Float64(col("ts")) * 1e6))
			if tsUS == lastUS && skip > 0 {
				skip--
				continue
			}
			if tsUS == lastUS {
				sameCount++
			} else {
				lastUS, sameCount = tsUS, 1
			}
			n++
			user, host := parseUserHost(r.String(col("user_host")))
			rec := Record{Time: time.UnixMicro(tsUS), Query: r.String(col("sql_text")), DB: r.String(col("db")), User: user, Host: host,
				QueryTime: r.Float64(col("qt"))}
			rec.Set(AttrLockTime, r.Float64(col("lt")))
			rec.Set(AttrRowsSent, r.Float64(col("rows_sent")))
			rec.Set(AttrRowsExamined, r.Float64(col("rows_examined")))
			if i := col("rows_affected"); i >= 0 {
				rec.Set(AttrRowsAffected, r.Float64(i))
			}
			d.AddRecord(rec, s.bucket(), fmt.Sprintf("mysql.slow_log row of %s", time.UnixMicro(tsUS).UTC().Format("2006-01-02 15:04:05.999999")))
		}
		res.events += int64(n)
		if len(rows.Values) < limit+int(skip) || n == 0 {
			break
		}
	}
	res.d = d
	res.status.Status = StatusOK
	res.status.Position = fmt.Sprintf("%d:%d", lastUS, sameCount)
	res.status.Message = fmt.Sprintf("%d new rows", res.events) + skippedNote(d)
	return res
}

// counter is the last cumulative state of one digest row.
type counter struct {
	Calls                                int64
	QueryTime, QueryTimeMax, LockTime    float64
	RowsSent, RowsExamined, RowsAffected int64
}

func (s *Service) loadCounters(ctx context.Context, instanceID int64, source string) (map[string]counter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT digest, calls, query_time, query_time_max, lock_time, rows_sent, rows_examined, rows_affected
		FROM slowlog_counters WHERE instance_id = ? AND source = ?`, instanceID, source)
	if err != nil {
		return nil, fmt.Errorf("read %s counters: %w", source, err)
	}
	defer rows.Close()
	out := map[string]counter{}
	for rows.Next() {
		var k string
		var c counter
		if err := rows.Scan(&k, &c.Calls, &c.QueryTime, &c.QueryTimeMax, &c.LockTime, &c.RowsSent, &c.RowsExamined, &c.RowsAffected); err != nil {
			return nil, fmt.Errorf("read %s counters: %w", source, err)
		}
		out[k] = c
	}
	return out, rows.Err()
}

func (s *Service) saveCounters(ctx context.Context, tx *sqldb.Tx, instanceID int64, source string, cs map[string]counter) error {
	if cs == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM slowlog_counters WHERE instance_id = ? AND source = ?`, instanceID, source); err != nil {
		return fmt.Errorf("save %s counters: %w", source, err)
	}
	now := s.now().UnixMilli()
	for k, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO slowlog_counters (instance_id, source, digest, calls, query_time, query_time_max, lock_time,
			rows_sent, rows_examined, rows_affected, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			instanceID, source, k, c.Calls, c.QueryTime, c.QueryTimeMax, c.LockTime, c.RowsSent, c.RowsExamined, c.RowsAffected, now); err != nil {
			return fmt.Errorf("save %s counters: %w", source, err)
		}
	}
	return nil
}

// deltaRecords turns cumulative digest rows into records of what changed
// since the last look. The first look only takes a baseline: the counters
// hold the server's whole history, which belongs to no bucket.
func (s *Service) deltaRecords(ctx context.Context, instanceID int64, source string, cur map[string]counter, texts map[string][3]string) (*Digest, int64, bool, error) {
	prev, err := s.loadCounters(ctx, instanceID, source)
	if err != nil {
		return nil, 0, false, err
	}
	pos, err := s.sourcePosition(ctx, instanceID, source)
	if err != nil {
		return nil, 0, false, err
	}
	baseline := pos == ""
	d := NewDigest()
	var events int64
	now := s.now()
	for k, c := range cur {
		p, seen := prev[k]
		if baseline {
			continue
		}
		if !seen || c.Calls < p.Calls {
			p = counter{} // new digest, or the table was reset
		}
		calls := c.Calls - p.Calls
		if calls <= 0 {
			continue
		}
		t := texts[k]
		rec := Record{Time: now, Query: t[0], DB: t[1], User: t[2], Calls: uint64(calls), QueryTime: c.QueryTime - p.QueryTime}
		if c.QueryTimeMax > p.QueryTimeMax {
			rec.MaxQueryTime = c.QueryTimeMax
		}
		rec.Set(AttrLockTime, c.LockTime-p.LockTime)
		rec.Set(AttrRowsSent, float64(c.RowsSent-p.RowsSent))
		rec.Set(AttrRowsExamined, float64(c.RowsExamined-p.RowsExamined))
		rec.Set(AttrRowsAffected, float64(c.RowsAffected-p.RowsAffected))
		if d.AddRecord(rec, s.bucket(), source+" "+k) != nil {
			events += calls
		}
	}
	return d, events, baseline, nil
}

// collectDigests reads performance_schema statement digests.
func (s *Service) collectDigests(ctx context.Context, in inventory.Instance, conn engine.Conn) collectResult {
	res := collectResult{status: SourceStatus{Source: SourcePerformanceSchema}}
	rows, _, err := conn.Query(ctx, 0, `SELECT SCHEMA_NAME, DIGEST, DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, MAX_TIMER_WAIT, SUM_LOCK_TIME,
		SUM_ROWS_SENT, SUM_ROWS_EXAMINED, SUM_ROWS_AFFECTED FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IS NOT NULL`)
	if err != nil {
		res.status.Status, res.status.Message = StatusError, "read performance_schema.events_statements_summary_by_digest: "+err.Error()
		return res
	}
	const ps = 1e12 // timers are in picoseconds
	cur := map[string]counter{}
	texts := map[string][3]string{}
	for _, r := range rows.All() {
		k := r.String(0) + "/" + r.String(1)
		cur[k] = counter{Calls: toInt64(r.Float64(3)), QueryTime: r.Float64(4) / ps, QueryTimeMax: r.Float64(5) / ps, LockTime: r.Float64(6) / ps,
			RowsSent: toInt64(r.Float64(7)), RowsExamined: toInt64(r.Float64(8)), RowsAffected: toInt64(r.Float64(9))}
		texts[k] = [3]string{r.String(2), r.String(0), ""}
	}
	d, events, baseline, err := s.deltaRecords(ctx, in.ID, SourcePerformanceSchema, cur, texts)
	if err != nil {
		res.status.Status, res.status.Message = StatusError, err.Error()
		return res
	}
	res.d, res.events, res.counters = d, events, cur
	res.status.Status, res.status.Position = StatusOK, strconv.Itoa(len(cur))
	res.status.Message = fmt.Sprintf("%d digests, %d new calls", len(cur), events) + skippedNote(d)
	if baseline {
		res.status.Message = fmt.Sprintf("baseline of %d digests taken; calls from now on are collected", len(cur))
	}
	return res
}

// collectPostgres reads pg_stat_statements.
func (s *Service) collectPostgres(ctx context.Context, in inventory.Instance, conn engine.Conn) collectResult {
	res := collectResult{status: SourceStatus{Source: SourcePgStatStatements}}
	ext, _, err := conn.Query(ctx, 1, "SELECT current_setting('server_version_num')::int, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')")
	if err != nil {
		res.status.Status, res.status.Message = StatusError, err.Error()
		return res
	}
	version := ext.Int64(0, 0)
	if ext.Values[0][1] != true {
		res.status.Status = StatusUnavailable
		res.status.Message = "pg_stat_statements is not installed: add it to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements (in the database dbfleet connects to)"
		return res
	}
	total, mx := "total_exec_time", "max_exec_time"
	if version < 130000 {
		total, mx = "total_time", "max_time"
	}
	rows, _, err := conn.Query(ctx, 0, `SELECT s.userid::text || '/' || s.dbid::text || '/' || s.queryid::text, s.query, s.calls, s.`+total+` / 1000.0,
		s.`+mx+` / 1000.0, s.rows, d.datname, r.rolname
		FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid LEFT JOIN pg_roles r ON r.oid = s.userid
		WHERE s.queryid IS NOT NULL`)
	if err != nil {
		res.status.Status = pgStatementsStatus(err)
		res.status.Message = "read pg_stat_statements: " + err.Error()
		return res
	}
	cur := map[string]counter{}
	texts := map[string][3]string{}
	for _, r := range rows.All() {
		k := r.String(0)
		cur[k] = counter{Calls: toInt64(r.Float64(2)), QueryTime: r.Float64(3), QueryTimeMax: r.Float64(4), RowsSent: toInt64(r.Float64(5))}
		texts[k] = [3]string{r.String(1), r.String(6), r.String(7)}
	}
	d, events, baseline, err := s.deltaRecords(ctx, in.ID, SourcePgStatStatements, cur, texts)
	if err != nil {
		res.status.Status, res.status.Message = StatusError, err.Error()
		return res
	}
	res.d, res.events, res.counters = d, events, cur
	res.status.Status, res.status.Position = StatusOK, strconv.Itoa(len(cur))
	res.status.Message = fmt.Sprintf("%d statements, %d new calls", len(cur), events) + skippedNote(d)
	if baseline {
		res.status.Message = fmt.Sprintf("baseline of %d statements taken; calls from now on are collected", len(cur))
	}
	return res
}

// redisContainers are commands whose first argument is a subcommand.
var redisContainers = map[string]bool{
	"config": true, "client": true, "cluster": true, "object": true, "memory": true, "xinfo": true, "xgroup": true,
	"script": true, "function": true, "acl": true, "command": true, "debug": true, "slowlog": true, "latency": true, "module": true,
}

// redisSecretArgs are commands whose arguments may be credentials.
var redisSecretArgs = map[string]bool{"auth": true, "hello": true, "migrate": true, "acl": true, "config": true}

// RedisFingerprint abstracts a Redis command: its name (and subcommand),
// then ? for one argument, ?+ for more.
func RedisFingerprint(args []string) string {
	if len(args) == 0 {
		return ""
	}
	name := strings.ToLower(args[0])
	rest := args[1:]
	if redisContainers[name] && len(rest) > 0 {
		name += " " + strings.ToLower(rest[0])
		rest = rest[1:]
	}
	switch {
	case len(rest) == 1:
		name += " ?"
	case len(rest) > 1:
		name += " ?+"
	}
	return name
}

// collectRedis reads SLOWLOG GET entries newer than the last id.
func (s *Service) collectRedis(ctx context.Context, in inventory.Instance, conn engine.Conn) collectResult {
	res := collectResult{status: SourceStatus{Source: SourceRedisSlowlog}}
	pos, err := s.sourcePosition(ctx, in.ID, SourceRedisSlowlog)
	if err != nil {
		res.status.Status, res.status.Message = StatusError, err.Error()
		return res
	}
	last := int64(-1)
	if pos != "" {
		last, _ = strconv.ParseInt(pos, 10, 64)
	}
	rows, _, err := conn.Query(ctx, 0, "SLOWLOG GET 1024")
	if err != nil {
		res.status.Status, res.status.Message = StatusError, "SLOWLOG GET: "+err.Error()
		return res
	}
	type entry struct {
		id, ts int64
		us     float64 // microseconds
		args   []string
		client string
	}
	var entries []entry
	maxID := int64(-1)
	for _, r := range rows.All() {
		var raw []any
		if err := json.Unmarshal([]byte(r.String(0)), &raw); err != nil || len(raw) < 4 {
			continue
		}
		row := engine.Row(raw)
		e := entry{id: toInt64(row.Float64(0)), ts: toInt64(row.Float64(1)), us: row.Float64(2)}
		// The adapter hands nested arrays on as JSON text.
		a, ok := raw[3].([]any)
		if s, isText := raw[3].(string); isText {
			ok = json.Unmarshal([]byte(s), &a) == nil
		}
		if ok {
			for _, x := range a {
				e.args = append(e.args, engine.String(x))
			}
		}
		e.client = row.String(4)
		maxID = max(maxID, e.id)
		entries = append(entries, e)
	}
	if maxID < last {
		last = -1 // the server restarted (ids start again) or SLOWLOG RESET
	}
	d := NewDigest()
	for _, e := range entries {
		if e.id <= last || len(e.args) == 0 {
			continue
		}
		fp := RedisFingerprint(e.args)
		ex := e.args
		if redisSecretArgs[strings.ToLower(e.args[0])] && len(ex) > 1 {
			ex = append([]string{e.args[0]}, "(arguments hidden)")
		}
		host := e.client
		if h, _, ok := strings.Cut(e.client, ":"); ok {
			host = h
		}
		if d.AddRecord(Record{Time: time.Unix(e.ts, 0), Fingerprint: fp, Query: strings.Join(ex, " "), Host: host, QueryTime: e.us / 1e6},
			s.bucket(), fmt.Sprintf("SLOWLOG entry %d", e.id)) != nil {
			res.events++
		}
	}
	if maxID >= 0 {
		last = max(last, maxID)
	}
	res.d = d
	res.status.Status = StatusOK
	if last >= 0 {
		res.status.Position = strconv.FormatInt(last, 10)
	}
	res.status.Message = fmt.Sprintf("%d new SLOWLOG entries (slowlog-log-slower-than decides what Redis keeps)", res.events) + skippedNote(d)
	return res
}

// skippedNote tells a source's status how many records were left out
// for numbers out of range, and the first reason.
func skippedNote(d *Digest) string {
	if d == nil || d.Skipped == 0 {
		return ""
	}
	return fmt.Sprintf("; %d skipped with numbers out of range (%s: %s)", d.Skipped, d.SkippedEvents[0].File, d.SkippedEvents[0].Reason)
}

// Collector collects every instance's slow queries periodically. Run it
// under a lease so that one server of several does it.
type Collector struct {
	Service     *Service
	Inventory   *inventory.Service
	Interval    time.Duration
	Concurrency int
	// Timeout bounds one instance's collection.
	Timeout time.Duration
	// Retention drops buckets older than this (0: keep them).
	Retention time.Duration
	Log       *slog.Logger
}

// Run collects until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultConfig().CollectInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		c.Round(ctx)
		if c.Retention > 0 && time.Since(lastPrune) > time.Hour {
			if n, err := c.Service.Prune(ctx, time.Now().Add(-c.Retention)); err != nil {
				c.log().Warn("prune slow-query buckets", "err", err)
			} else if n > 0 {
				c.log().Info("pruned slow-query buckets", "buckets", n)
			}
			lastPrune = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Collector) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Round collects once from every instance of a supported engine.
func (c *Collector) Round(ctx context.Context) {
	ins, err := c.Inventory.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		if ctx.Err() == nil {
			c.log().Warn("list instances for slow-query collection", "err", err)
		}
		return
	}
	var g errgroup.Group
	g.SetLimit(max(c.Concurrency, 1))
	for _, in := range ins {
		if ctx.Err() != nil {
			break
		}
		if !mysqlFamily(in.Engine) && in.Engine != engine.Postgres && in.Engine != engine.Redis {
			continue
		}
		g.Go(func() error {
			timeout := c.Timeout
			if timeout <= 0 {
				timeout = 30 * time.Second
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			sts, err := c.Service.Collect(cctx, in.Name)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					c.log().Warn("collect slow queries", "instance", in.Name, "err", err)
				}
				return nil // one instance's failure does not stop the others
			}
			for _, st := range sts {
				if st.Status == StatusError {
					c.log().Warn("slow-query source failed", "instance", in.Name, "source", st.Source, "message", st.Message)
				}
			}
			return nil
		})
	}
	g.Wait()
}
