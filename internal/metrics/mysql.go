package metrics

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// mysqlCollector follows mysqld_exporter's default collectors:
// global_status, global_variables, slave_status, info_schema.processlist
// and (on the slow interval) info_schema.tables.
type mysqlCollector struct{}

func (mysqlCollector) upName() string { return "mysql_up" }

// MaxTables bounds how many tables (the largest) the table-size collector
// reports per instance, so that a schema with many thousands of tables
// cannot flood the store.
const MaxTables = 1000

var globalStatusRE = regexp.MustCompile(`^(com|handler|connection_errors|innodb_buffer_pool_pages|innodb_rows|performance_schema)_(.*)$`)

func (mysqlCollector) collect(ctx context.Context, c engine.Conn, e *emitter, slow bool, partial func(string, error)) error {
	status, err := c.Status(ctx)
	if err != nil {
		return err
	}
	emitGlobalStatus(e, status)

	vars, err := c.Variables(ctx)
	if err != nil {
		partial("global_variables", err)
	} else {
		for k, v := range vars {
			if f, ok := parseValue(v); ok {
				e.add("mysql_global_variables_"+metricName(k), f)
			}
		}
		e.add("mysql_version_info", 1, "version", vars["version"], "version_comment", vars["version_comment"], "innodb_version", vars["innodb_version"])
	}

	if err := mysqlSlaveStatus(ctx, c, e); err != nil {
		partial("slave_status", err)
	}
	if err := mysqlProcesslist(ctx, c, e); err != nil {
		partial("info_schema.processlist", err)
	}
	if slow {
		if err := mysqlTables(ctx, c, e); err != nil {
			partial("info_schema.tables", err)
		}
	}
	return nil
}

// emitGlobalStatus maps SHOW GLOBAL STATUS as mysqld_exporter does: Com_*,
// Handler_*, Connection_errors_*, Innodb_buffer_pool_pages_*, Innodb_rows_*
// and Performance_schema_* become labelled families, every other numeric
// value mysql_global_status_<name>.
func emitGlobalStatus(e *emitter, status map[string]string) {
	for k, v := range status {
		f, ok := parseValue(v)
		if !ok {
			continue
		}
		key := metricName(k)
		m := globalStatusRE.FindStringSubmatch(key)
		if m == nil {
			e.add("mysql_global_status_"+key, f)
			continue
		}
		switch m[1] {
		case "com":
			e.add("mysql_global_status_commands_total", f, "command", m[2])
		case "handler":
			e.add("mysql_global_status_handlers_total", f, "handler", m[2])
		case "connection_errors":
			e.add("mysql_global_status_connection_errors_total", f, "error", m[2])
		case "innodb_buffer_pool_pages":
			switch m[2] {
			case "data", "free", "misc", "old":
				e.add("mysql_global_status_buffer_pool_pages", f, "state", m[2])
			case "dirty":
				e.add("mysql_global_status_buffer_pool_dirty_pages", f)
			case "total":
				e.add("mysql_global_status_buffer_pool_pages_total", f)
			default:
				e.add("mysql_global_status_buffer_pool_page_changes_total", f, "operation", m[2])
			}
		case "innodb_rows":
			e.add("mysql_global_status_innodb_row_ops_total", f, "operation", m[2])
		case "performance_schema":
			e.add("mysql_global_status_performance_schema_lost_total", f, "instrumentation", m[2])
		}
	}
}

// replicaWords renames MySQL 8's SHOW REPLICA STATUS columns to the
// SHOW SLAVE STATUS names mysqld_exporter reports.
var replicaWords = strings.NewReplacer("source", "master", "replica", "slave")

// mysqlSlaveStatus reports every replication channel (MariaDB multi-source
// connections, MySQL channels) as mysql_slave_status_<column>. A server
// that replicates from no one reports nothing.
func mysqlSlaveStatus(ctx context.Context, c engine.Conn, e *emitter) error {
	var rows *engine.Rows
	var err error
	for _, q := range []string{"SHOW ALL SLAVES STATUS", "SHOW REPLICA STATUS", "SHOW SLAVE STATUS"} {
		if c.Engine() != engine.MariaDB && q == "SHOW ALL SLAVES STATUS" {
			continue
		}
		if rows, _, err = c.Query(ctx, 100, q); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	for _, row := range rows.All() {
		rec := map[string]any{}
		for i, col := range rows.Columns {
			rec[replicaWords.Replace(strings.ToLower(col))] = row[i]
		}
		kv := []string{
			"master_host", engine.String(rec["master_host"]),
			"master_uuid", engine.String(rec["master_uuid"]),
			"channel_name", engine.String(rec["channel_name"]),
			"connection_name", engine.String(rec["connection_name"]),
		}
		for col, v := range rec {
			switch col {
			case "master_host", "master_uuid", "channel_name", "connection_name":
				continue
			}
			if f, ok := toFloat(v); ok {
				e.add("mysql_slave_status_"+metricName(col), f, kv...)
			}
		}
	}
	return nil
}

// mysqlProcesslist summarises the process list by command and state.
func mysqlProcesslist(ctx context.Context, c engine.Conn, e *emitter) error {
	rows, _, err := c.Query(ctx, 10000, `SELECT LOWER(COMMAND), LOWER(COALESCE(STATE, '')), COUNT(*), COALESCE(SUM(TIME), 0)
		FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	for _, r := range rows.All() {
		cmd := metricName(r.String(0))
		state := metricName(r.String(1))
		if state == "" {
			state = "unknown"
		}
		n, _ := toFloat(r[2])
		secs, _ := toFloat(r[3])
		e.add("mysql_info_schema_processlist_threads", n, "command", cmd, "state", state)
		e.add("mysql_info_schema_processlist_seconds", secs, "command", cmd, "state", state)
	}
	return nil
}

// mysqlTables reports the size of the largest tables (slow interval).
func mysqlTables(ctx context.Context, c engine.Conn, e *emitter) error {
	rows, _, err := c.Query(ctx, MaxTables, fmt.Sprintf(`SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0), COALESCE(INDEX_LENGTH, 0), COALESCE(DATA_FREE, 0)
		FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) DESC LIMIT %d`, MaxTables))
	if err != nil {
		return err
	}
	for _, r := range rows.All() {
		schema, table := r.String(0), r.String(1)
		n, _ := toFloat(r[2])
		e.addSlow("mysql_info_schema_table_rows", n, "schema", schema, "table", table)
		for i, comp := range []string{"data_length", "index_length", "data_free"} {
			v, _ := toFloat(r[3+i])
			e.addSlow("mysql_info_schema_table_size", v, "schema", schema, "table", table, "component", comp)
		}
	}
	return nil
}
