package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Statement kinds.
const (
	KindSelect  = "select"  // returns table data: limited and masked
	KindShow    = "show"    // SHOW, DESCRIBE: metadata
	KindExplain = "explain" // a plan
	KindRedis   = "redis"   // one read command
)

// access is something the caller must be granted: a table; or, with Table
// empty, some grant in the database; or, with both empty, some grant on
// the instance.
type access struct {
	DB    string `json:"database,omitempty"`
	Table string `json:"table,omitempty"`
}

func (a access) String() string {
	switch {
	case a.DB == "" && a.Table == "":
		return "the instance"
	case a.Table == "":
		return "database " + a.DB
	}
	return "table " + a.DB + "." + a.Table
}

// rowFilter drops the rows of SHOW DATABASES / SHOW TABLES the caller may
// not see: column 0 names a database, or a table of db.
type rowFilter struct {
	databases bool
	db        string
}

// plan is a statement that passed the read-only checks.
type plan struct {
	kind   string
	sql    string // what is sent to the server
	access []access
	filter *rowFilter
	// lineage works out where each output column comes from (nil: the
	// result holds no table data).
	lineage func(ctx context.Context, s Schema) ([]lineage, error)
	// fold: names compare case-insensitively (MySQL).
	fold bool
	// words of a Redis command; check runs before it (a size check).
	words []string
	check func(ctx context.Context, run redisRunner) error
	// reshape turns a Redis reply into columns (HGETALL pairs, SCAN).
	reshape func(cols []string, rows [][]any) ([]string, [][]any, []string)
}

// refuse is the error of a statement or request the console does not run.
func refuse(format string, args ...any) error {
	return errkind.New(errkind.Forbidden, "refused: "+format, args...)
}

// refuseInvalid is a refusal of something that does not parse.
func refuseInvalid(format string, args ...any) error {
	return errkind.New(errkind.Invalid, "refused: "+format, args...)
}

// withLimit appends a LIMIT to a statement's text. The newline ends a
// trailing "-- comment"; a final ';' is dropped.
func withLimit(text string, n int) string {
	return trimStatement(text) + fmt.Sprintf("\nLIMIT %d", n)
}

func trimStatement(text string) string {
	text = strings.TrimSpace(text)
	for strings.HasSuffix(text, ";") {
		text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
	}
	return text
}

// Deny-lists of functions, by engine. A function here is refused wherever
// it appears in the statement, with the reason.
var mysqlDenied = map[string]string{
	"sleep":                             "sleeps on the server",
	"benchmark":                         "burns server CPU on purpose",
	"get_lock":                          "takes a named lock",
	"release_lock":                      "releases a named lock",
	"release_all_locks":                 "releases named locks",
	"is_free_lock":                      "probes named locks",
	"is_used_lock":                      "probes named locks",
	"load_file":                         "reads a file on the database server",
	"master_pos_wait":                   "blocks on replication",
	"master_gtid_wait":                  "blocks on replication",
	"source_pos_wait":                   "blocks on replication",
	"wait_for_executed_gtid_set":        "blocks on replication",
	"wait_until_sql_thread_after_gtids": "blocks on replication",
	"nextval":                           "advances a sequence (a write)",
	"setval":                            "sets a sequence (a write)",
	"lastval":                           "reads session sequence state",
	"last_insert_id":                    "reads or sets session state",
	"sys_exec":                          "runs a shell command (UDF)",
	"sys_eval":                          "runs a shell command (UDF)",
	"sys_get":                           "reads the server environment (UDF)",
	"sys_set":                           "changes the server environment (UDF)",
}

var pgDenied = map[string]string{
	"pg_sleep":                            "sleeps on the server",
	"pg_sleep_for":                        "sleeps on the server",
	"pg_sleep_until":                      "sleeps on the server",
	"pg_advisory_lock":                    "takes an advisory lock",
	"pg_advisory_lock_shared":             "takes an advisory lock",
	"pg_advisory_xact_lock":               "takes an advisory lock",
	"pg_advisory_xact_lock_shared":        "takes an advisory lock",
	"pg_try_advisory_lock":                "takes an advisory lock",
	"pg_try_advisory_lock_shared":         "takes an advisory lock",
	"pg_try_advisory_xact_lock":           "takes an advisory lock",
	"pg_try_advisory_xact_lock_shared":    "takes an advisory lock",
	"pg_advisory_unlock":                  "releases an advisory lock",
	"pg_advisory_unlock_shared":           "releases an advisory lock",
	"pg_advisory_unlock_all":              "releases advisory locks",
	"pg_read_file":                        "reads a file on the database server",
	"pg_read_binary_file":                 "reads a file on the database server",
	"pg_stat_file":                        "inspects a file on the database server",
	"pg_ls_dir":                           "lists a directory on the database server",
	"pg_ls_logdir":                        "lists a directory on the database server",
	"pg_ls_waldir":                        "lists a directory on the database server",
	"pg_ls_tmpdir":                        "lists a directory on the database server",
	"pg_ls_archive_statusdir":             "lists a directory on the database server",
	"pg_ls_logicalsnapdir":                "lists a directory on the database server",
	"pg_ls_logicalmapdir":                 "lists a directory on the database server",
	"pg_ls_replslotdir":                   "lists a directory on the database server",
	"pg_file_write":                       "writes a file on the database server",
	"pg_file_rename":                      "renames a file on the database server",
	"pg_file_unlink":                      "removes a file on the database server",
	"lo_import":                           "reads a file on the database server",
	"lo_export":                           "writes a file on the database server",
	"lo_create":                           "creates a large object (a write)",
	"lo_creat":                            "creates a large object (a write)",
	"lo_unlink":                           "removes a large object (a write)",
	"lo_put":                              "writes a large object",
	"lo_from_bytea":                       "creates a large object (a write)",
	"lo_truncate":                         "writes a large object",
	"lo_get":                              "reads a large object (outside any table grant)",
	"lo_open":                             "opens a large object (outside any table grant)",
	"loread":                              "reads a large object (outside any table grant)",
	"pg_stat_get_activity":                "shows other sessions' statements",
	"dblink":                              "runs SQL on another server",
	"dblink_exec":                         "runs SQL on another server",
	"dblink_connect":                      "connects to another server",
	"dblink_connect_u":                    "connects to another server",
	"dblink_send_query":                   "runs SQL on another server",
	"dblink_open":                         "runs SQL on another server",
	"dblink_fetch":                        "runs SQL on another server",
	"set_config":                          "changes a setting (e.g. leaves read-only mode)",
	"nextval":                             "advances a sequence (a write)",
	"setval":                              "sets a sequence (a write)",
	"currval":                             "reads session sequence state",
	"lastval":                             "reads session sequence state",
	"txid_current":                        "assigns a transaction id (a write)",
	"pg_current_xact_id":                  "assigns a transaction id (a write)",
	"pg_terminate_backend":                "ends another session",
	"pg_cancel_backend":                   "cancels another session's query",
	"pg_reload_conf":                      "reloads the server configuration",
	"pg_rotate_logfile":                   "rotates the server log",
	"pg_switch_wal":                       "switches the WAL file",
	"pg_create_restore_point":             "writes to the WAL",
	"pg_backup_start":                     "starts a backup",
	"pg_backup_stop":                      "stops a backup",
	"pg_start_backup":                     "starts a backup",
	"pg_stop_backup":                      "stops a backup",
	"pg_promote":                          "promotes a standby",
	"pg_wal_replay_pause":                 "pauses replication",
	"pg_wal_replay_resume":                "resumes replication",
	"pg_create_physical_replication_slot": "creates a replication slot",
	"pg_create_logical_replication_slot":  "creates a replication slot",
	"pg_drop_replication_slot":            "drops a replication slot",
	"pg_copy_physical_replication_slot":   "creates a replication slot",
	"pg_copy_logical_replication_slot":    "creates a replication slot",
	"pg_replication_slot_advance":         "advances a replication slot",
	"pg_logical_slot_get_changes":         "consumes a replication slot",
	"pg_logical_slot_get_binary_changes":  "consumes a replication slot",
	"pg_logical_emit_message":             "writes to the WAL",
	"pg_notify":                           "sends a notification",
	"pg_import_system_collations":         "changes the catalog",
	"query_to_xml":                        "runs SQL given as a string (unchecked)",
	"query_to_xmlschema":                  "runs SQL given as a string (unchecked)",
	"query_to_xml_and_xmlschema":          "runs SQL given as a string (unchecked)",
	"cursor_to_xml":                       "reads a cursor (unchecked)",
	"cursor_to_xmlschema":                 "reads a cursor (unchecked)",
	"table_to_xml":                        "reads a table named by a string (unchecked)",
	"table_to_xmlschema":                  "reads a table named by a string (unchecked)",
	"table_to_xml_and_xmlschema":          "reads a table named by a string (unchecked)",
	"schema_to_xml":                       "reads a whole schema (unchecked)",
	"schema_to_xmlschema":                 "reads a whole schema (unchecked)",
	"schema_to_xml_and_xmlschema":         "reads a whole schema (unchecked)",
	"database_to_xml":                     "reads a whole database (unchecked)",
	"database_to_xmlschema":               "reads a whole database (unchecked)",
	"database_to_xml_and_xmlschema":       "reads a whole database (unchecked)",
	"ts_stat":                             "runs SQL given as a string (unchecked)",
	"ts_rewrite":                          "may run SQL given as a string (unchecked)",
}
