package metrics

import (
	"context"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// postgresCollector follows postgres_exporter's names: pg_stat_database_*,
// pg_stat_bgwriter_*_total (pg_stat_checkpointer_*_total on 17+),
// pg_replication_*, pg_stat_replication_*, pg_locks_count,
// pg_database_size_bytes, pg_stat_activity_count and pg_settings_*.
type postgresCollector struct{}

func (postgresCollector) upName() string { return "pg_up" }

// lockModes are the modes pg_locks_count reports for every database, zero
// when no lock of that mode is held (as postgres_exporter does).
var lockModes = []string{"accesssharelock", "rowsharelock", "rowexclusivelock", "shareupdateexclusivelock",
	"sharelock", "sharerowexclusivelock", "exclusivelock", "accessexclusivelock", "sireadlock"}

func (postgresCollector) collect(ctx context.Context, c engine.Conn, e *emitter, slow bool, partial func(string, error)) error {
	// pg_stat_database is the heart: if it cannot be read, the target is down.
	rows, _, err := c.Query(ctx, 0, "SELECT * FROM pg_stat_database WHERE datname IS NOT NULL")
	if err != nil {
		return err
	}
	var dbs []string
	for _, r := range rows.All() {
		rec := record(rows, r)
		datid, datname := engine.String(rec["datid"]), engine.String(rec["datname"])
		dbs = append(dbs, datname)
		for col, v := range rec {
			switch col {
			case "datid", "datname", "stats_reset":
				continue
			}
			if f, ok := toFloat(v); ok {
				e.add("pg_stat_database_"+metricName(col), f, "datid", datid, "datname", datname)
			}
		}
	}

	var version string
	var versionNum float64
	if r, _, err := c.Query(ctx, 1, "SELECT current_setting('server_version'), current_setting('server_version_num')::int, pg_is_in_recovery(), extract(epoch from pg_postmaster_start_time())::float8"); err != nil {
		partial("version", err)
	} else if len(r.Values) == 1 {
		version = r.String(0, 0)
		versionNum, _ = toFloat(r.Values[0][1])
		short, _, _ := strings.Cut(version, " ")
		e.add("pg_static", 1, "version", version, "short_version", short)
		if f, ok := toFloat(r.Values[0][3]); ok {
			e.add("pg_postmaster_start_time_seconds", f)
		}
	}

	if err := flatRow(ctx, c, e, "SELECT * FROM pg_stat_bgwriter", "pg_stat_bgwriter_"); err != nil {
		partial("pg_stat_bgwriter", err)
	}
	if versionNum >= 170000 {
		if err := flatRow(ctx, c, e, "SELECT * FROM pg_stat_checkpointer", "pg_stat_checkpointer_"); err != nil {
			partial("pg_stat_checkpointer", err)
		}
	}

	// Replication, both directions. The lag of a replica is how long ago
	// the last replayed transaction committed on the primary, 0 when it
	// has replayed everything it received (postgres_exporter's query).
	if r, _, err := c.Query(ctx, 1, `SELECT pg_is_in_recovery()::int,
		CASE WHEN NOT pg_is_in_recovery() THEN 0
		     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		     ELSE GREATEST(0, extract(epoch from (now() - pg_last_xact_replay_timestamp()))) END::float8`); err != nil {
		partial("replication", err)
	} else if len(r.Values) == 1 {
		isReplica, _ := toFloat(r.Values[0][0])
		e.add("pg_replication_is_replica", isReplica)
		if lag, ok := toFloat(r.Values[0][1]); ok {
			e.add("pg_replication_lag_seconds", lag)
		}
	}
	if r, _, err := c.Query(ctx, 1000, `SELECT application_name, COALESCE(client_addr::text, ''), COALESCE(state, ''),
		pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, replay_lsn)::float8,
		COALESCE(extract(epoch from replay_lag), 0)::float8
		FROM pg_stat_replication`); err != nil {
		partial("pg_stat_replication", err)
	} else {
		for _, row := range r.All() {
			kv := []string{"application_name", row.String(0), "client_addr", row.String(1), "state", row.String(2)}
			if f, ok := toFloat(row[3]); ok {
				e.add("pg_stat_replication_pg_wal_lsn_diff", f, kv...)
			}
			if f, ok := toFloat(row[4]); ok {
				e.add("pg_stat_replication_replay_lag_seconds", f, kv...)
			}
		}
	}

	if r, _, err := c.Query(ctx, 10000, `SELECT d.datname, lower(l.mode), count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database GROUP BY 1, 2`); err != nil {
		partial("pg_locks", err)
	} else {
		counts := map[[2]string]float64{}
		for _, row := range r.All() {
			n, _ := toFloat(row[2])
			counts[[2]string{row.String(0), row.String(1)}] = n
		}
		for _, db := range dbs {
			for _, m := range lockModes {
				e.add("pg_locks_count", counts[[2]string{db, m}], "datname", db, "mode", m)
			}
		}
	}

	if r, _, err := c.Query(ctx, 10000, `SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn`); err != nil {
		partial("pg_database", err)
	} else {
		for _, row := range r.All() {
			if f, ok := toFloat(row[1]); ok {
				e.add("pg_database_size_bytes", f, "datname", row.String(0))
			}
		}
	}

	if r, _, err := c.Query(ctx, 10000, `SELECT COALESCE(datname, ''), COALESCE(state, 'unknown'), count(*),
		COALESCE(max(extract(epoch from now() - xact_start)), 0)::float8
		FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2`); err != nil {
		partial("pg_stat_activity", err)
	} else {
		for _, row := range r.All() {
			kv := []string{"datname", row.String(0), "state", row.String(1)}
			n, _ := toFloat(row[2])
			e.add("pg_stat_activity_count", n, kv...)
			if f, ok := toFloat(row[3]); ok {
				e.add("pg_stat_activity_max_tx_duration", f, kv...)
			}
		}
	}

	if err := pgSettings(ctx, c, e); err != nil {
		partial("pg_settings", err)
	}
	return nil
}

// record maps one row by column name.
func record(rows *engine.Rows, row []any) map[string]any {
	rec := make(map[string]any, len(rows.Columns))
	for i, col := range rows.Columns {
		rec[col] = row[i]
	}
	return rec
}

// flatRow reports every numeric column of a one-row view as a counter
// prefix<column>_total.
func flatRow(ctx context.Context, c engine.Conn, e *emitter, q, prefix string) error {
	rows, _, err := c.Query(ctx, 1, q)
	if err != nil {
		return err
	}
	for _, r := range rows.All() {
		for i, col := range rows.Columns {
			if col == "stats_reset" {
				continue
			}
			if f, ok := toFloat(r[i]); ok {
				e.add(prefix+metricName(col)+"_total", f)
			}
		}
	}
	return nil
}

// pgSettings reports numeric and boolean settings as pg_settings_<name>,
// converting memory units to bytes (suffix _bytes) and time units to
// seconds (suffix _seconds) as postgres_exporter does.
func pgSettings(ctx context.Context, c engine.Conn, e *emitter) error {
	rows, _, err := c.Query(ctx, 0, `SELECT name, setting, COALESCE(unit, ''), vartype FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real')`)
	if err != nil {
		return err
	}
	for _, r := range rows.All() {
		name, unit := metricName(r.String(0)), r.String(2)
		v, ok := toFloat(r[1])
		if !ok {
			continue
		}
		suffix := ""
		switch unit {
		case "B":
			suffix = "_bytes"
		case "kB":
			v, suffix = v*1024, "_bytes"
		case "8kB":
			v, suffix = v*8192, "_bytes"
		case "16kB":
			v, suffix = v*16384, "_bytes"
		case "MB":
			v, suffix = v*1024*1024, "_bytes"
		case "GB":
			v, suffix = v*1024*1024*1024, "_bytes"
		case "us":
			v, suffix = v/1e6, "_seconds"
		case "ms":
			v, suffix = v/1000, "_seconds"
		case "s":
			suffix = "_seconds"
		case "min":
			v, suffix = v*60, "_seconds"
		case "h":
			v, suffix = v*3600, "_seconds"
		case "d":
			v, suffix = v*86400, "_seconds"
		}
		if v < 0 && suffix != "" {
			continue // -1 means "disabled" for many of these
		}
		e.add("pg_settings_"+name+suffix, v)
	}
	return nil
}
