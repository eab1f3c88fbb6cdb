package query

// The reviewed parts of the console's allow-lists. The lists themselves
// (allow_gen.go) are generated from the servers' own catalogs by
// TestAllowListsMatchCatalog (go test ./internal/query -run
// TestAllowListsMatchCatalog -update), which also fails when the
// generated lists and a live catalog disagree:
//
//   - MySQL family: every function named in MariaDB's help tables
//     (mysql.help_topic) under a functions category, minus
//     mysqlExcluded, plus mysqlAdded;
//   - PostgreSQL: every function of pg_catalog whose every overload is
//     immutable or stable (pg_proc.provolatile in ('i', 's')), minus
//     pgExcluded and pgExcludedPrefixes, plus the reviewed volatile
//     pgVolatileAllowed; every operator whose function is immutable or
//     stable; every setting (pg_settings) of an allowed category, minus
//     pgSettingsExcluded.
//
// Each entry says why, so that a reviewer can judge it.

// mysqlExcluded are names of MariaDB's help tables that are not on the
// console's allow-list.
var mysqlExcluded = map[string]string{
	// Side effects, waits and reads outside the database.
	"benchmark":                 "burns server CPU on purpose",
	"sleep":                     "sleeps on the server",
	"get_lock":                  "takes a named lock",
	"release_lock":              "releases a named lock",
	"release_all_locks":         "releases named locks",
	"is_free_lock":              "probes other sessions' named locks",
	"is_used_lock":              "probes other sessions' named locks",
	"master_pos_wait":           "blocks on replication",
	"master_gtid_wait":          "blocks on replication",
	"wsrep_sync_wait_upto_gtid": "blocks on Galera replication",
	"load_file":                 "reads a file on the database server",
	"binlog_gtid_pos":           "reads the server's binary log files",
	"des_encrypt":               "may read the server's DES key file",
	"des_decrypt":               "may read the server's DES key file",
	"last_insert_id":            "LAST_INSERT_ID(expr) sets session state",
	"nextval":                   "advances a sequence (a write)",
	"setval":                    "sets a sequence (a write)",
	"lastval":                   "reads session sequence state",
	"values":                    "only means something in INSERT ... ON DUPLICATE KEY UPDATE",
	"value":                     "only means something in INSERT ... ON DUPLICATE KEY UPDATE",
	"char":                      "the console's grammar renders CHAR() as CHAR_FUNC(), which MariaDB does not know",
	"insert":                    "the console's grammar renders INSERT() as INSERT_FUNC(), which MariaDB does not know",
	// Topics that are statements or keywords, not functions.
	"call":        "a statement, not a function",
	"close":       "a statement, not a function",
	"do":          "a statement, not a function",
	"fetch":       "a statement, not a function",
	"for":         "a statement, not a function",
	"goto":        "a statement, not a function",
	"handler":     "a statement, not a function",
	"iterate":     "a statement, not a function",
	"labels":      "a statement, not a function",
	"leave":       "a statement, not a function",
	"loop":        "a statement, not a function",
	"open":        "a statement, not a function",
	"resignal":    "a statement, not a function",
	"return":      "a statement, not a function",
	"signal":      "a statement, not a function",
	"sqlstate":    "a statement, not a function",
	"while":       "a statement, not a function",
	"nosql":       "a topic, not a function",
	"parentheses": "a topic, not a function",
	"sequences":   "a topic, not a function",
	"vectors":     "a topic, not a function",
	"is":          "an operator, not a function",
	"in":          "an operator, not a function",
	"xor":         "an operator, not a function",
	"div":         "an operator, not a function",
	"like":        "an operator, not a function",
	"regexp":      "an operator, not a function",
	"rlike":       "an operator, not a function",
	"_rowid":      "a pseudo-column, not a function",
}

// mysqlAdded are functions the help tables lack: MySQL's own read-only
// functions, and the names the console's grammar (TiDB's) gives some
// syntax (each one's syntax is shown).
var mysqlAdded = map[string]string{
	"any_value":         "MySQL: a value of the group",
	"regexp_like":       "MySQL: regular expression match",
	"grouping":          "MySQL: GROUPING() of WITH ROLLUP",
	"bin_to_uuid":       "MySQL: UUID formatting",
	"uuid_to_bin":       "MySQL: UUID formatting",
	"is_uuid":           "MySQL: UUID check",
	"json_storage_size": "MySQL: size of a JSON value",
}

// mysqlDisplay maps the grammar's internal names to what the caller
// wrote, for messages.
var mysqlDisplay = map[string]string{
	"char_func":   "CHAR()",
	"insert_func": "INSERT()",
	"nextval":     "NEXTVAL() (NEXT VALUE FOR)",
}

// pgExcluded are immutable or stable functions of pg_catalog that are not
// on the console's allow-list.
var pgExcluded = map[string]string{
	"txid_current":                          "assigns a transaction id (a write)",
	"pg_current_xact_id":                    "assigns a transaction id (a write)",
	"pg_show_all_settings":                  "lists every setting, secret ones included",
	"pg_config":                             "reveals the server's build and file locations (superuser-only by default)",
	"pg_relation_filepath":                  "reveals file locations on the server",
	"pg_relation_filenode":                  "reveals file locations on the server",
	"pg_filenode_relation":                  "works from file locations on the server",
	"pg_tablespace_location":                "reveals file locations on the server",
	"pg_mcv_list_items":                     "decodes statistics that hold column values",
	"table_to_xml":                          "reads a table named in a string, outside the checks",
	"table_to_xmlschema":                    "reads a table named in a string, outside the checks",
	"table_to_xml_and_xmlschema":            "reads a table named in a string, outside the checks",
	"schema_to_xml":                         "reads a whole schema, outside the checks",
	"schema_to_xmlschema":                   "reads a whole schema, outside the checks",
	"schema_to_xml_and_xmlschema":           "reads a whole schema, outside the checks",
	"database_to_xml":                       "reads a whole database, outside the checks",
	"database_to_xmlschema":                 "reads a whole database, outside the checks",
	"database_to_xml_and_xmlschema":         "reads a whole database, outside the checks",
	"pg_event_trigger_ddl_commands":         "only meaningful inside an event trigger",
	"pg_event_trigger_dropped_objects":      "only meaningful inside an event trigger",
	"pg_event_trigger_table_rewrite_oid":    "only meaningful inside an event trigger",
	"pg_event_trigger_table_rewrite_reason": "only meaningful inside an event trigger",
}

// pgExcludedPrefixes exclude families of functions.
var pgExcludedPrefixes = []struct{ prefix, why string }{
	{"pg_stat_get_", "reads statistics of relations and sessions (other sessions' statements included) outside any grant; grant the pg_stat_* view instead"},
	{"pg_get_", "prints definitions (views, functions, rules, triggers, replication slots...) outside any grant"},
	{"binary_upgrade_", "pg_upgrade internals"},
}

// pgVolatileAllowed are volatile functions reviewed as read-only and free
// of side effects.
var pgVolatileAllowed = map[string]string{
	"random":                        "a random number",
	"gen_random_uuid":               "a random UUID",
	"clock_timestamp":               "the current time (now() variants)",
	"timeofday":                     "the current time (now() variants)",
	"pg_is_in_recovery":             "whether the server is a standby",
	"pg_last_xact_replay_timestamp": "a standby's replay position (lag)",
	"pg_last_wal_receive_lsn":       "a standby's WAL position",
	"pg_last_wal_replay_lsn":        "a standby's WAL position",
	"pg_current_wal_lsn":            "the primary's WAL position",
}

// pgSettingsCategories are the pg_settings categories whose settings
// SHOW and current_setting() may read (prefixes of category names).
// Left out: file locations, authentication, SSL (key files and passphrase
// commands), replication (primary_conninfo holds a password), archiving
// and recovery (shell commands), log destinations and preloaded libraries.
var pgSettingsCategories = []string{
	"Autovacuum",
	"Client Connection Defaults / Locale and Formatting",
	"Client Connection Defaults / Statement Behavior",
	"Connections and Authentication / Connection Settings",
	"Developer Options",
	"Error Handling",
	"Lock Management",
	"Preset Options",
	"Query Tuning",
	"Reporting and Logging / What to Log",
	"Reporting and Logging / When to Log",
	"Reporting and Logging / Process Title",
	"Resource Usage",
	"Statistics",
	"Version and Platform Compatibility",
	"Write-Ahead Log / Settings",
	"Write-Ahead Log / Checkpoints",
}

// pgSettingsExcluded are settings of allowed categories left out.
var pgSettingsExcluded = map[string]string{
	"unix_socket_directories":  "a file location",
	"unix_socket_group":        "server file ownership",
	"unix_socket_permissions":  "server file permissions",
	"data_directory_mode":      "server file permissions",
	"dynamic_library_path":     "a file location",
	"log_replication_commands": "replication configuration",
	"krb_server_keyfile":       "a key file",
}

// pgSettingsAdded are SHOW names that are not rows of pg_settings.
var pgSettingsAdded = map[string]string{
	"session_authorization": "SHOW SESSION AUTHORIZATION: the session's user",
}
