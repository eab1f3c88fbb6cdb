package metrics

import (
	"context"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// redisCollector follows redis_exporter's names for INFO ALL.
type redisCollector struct{}

func (redisCollector) upName() string { return "redis_up" }

// redisGauges and redisCounters map INFO fields to redis_exporter's metric
// names (without the redis_ prefix).
var redisGauges = map[string]string{
	"uptime_in_seconds":           "uptime_in_seconds",
	"process_id":                  "process_id",
	"io_threads_active":           "io_threads_active",
	"connected_clients":           "connected_clients",
	"blocked_clients":             "blocked_clients",
	"maxclients":                  "max_clients",
	"tracking_clients":            "tracking_clients",
	"clients_in_timeout_table":    "clients_in_timeout_table",
	"used_memory":                 "memory_used_bytes",
	"used_memory_rss":             "memory_used_rss_bytes",
	"used_memory_peak":            "memory_used_peak_bytes",
	"used_memory_lua":             "memory_used_lua_bytes",
	"used_memory_scripts":         "memory_used_scripts_bytes",
	"used_memory_overhead":        "memory_used_overhead_bytes",
	"used_memory_startup":         "memory_used_startup_bytes",
	"used_memory_dataset":         "memory_used_dataset_bytes",
	"maxmemory":                   "memory_max_bytes",
	"total_system_memory":         "total_system_memory_bytes",
	"mem_fragmentation_ratio":     "mem_fragmentation_ratio",
	"mem_fragmentation_bytes":     "mem_fragmentation_bytes",
	"loading":                     "loading_dump_file",
	"rdb_changes_since_last_save": "rdb_changes_since_last_save",
	"rdb_bgsave_in_progress":      "rdb_bgsave_in_progress",
	"rdb_last_save_time":          "rdb_last_save_timestamp_seconds",
	"rdb_last_bgsave_time_sec":    "rdb_last_bgsave_duration_sec",
	"aof_enabled":                 "aof_enabled",
	"aof_rewrite_in_progress":     "aof_rewrite_in_progress",
	"aof_last_rewrite_time_sec":   "aof_last_rewrite_duration_sec",
	"aof_current_size":            "aof_current_size_bytes",
	"instantaneous_ops_per_sec":   "instantaneous_ops",
	"instantaneous_input_kbps":    "instantaneous_input_kbps",
	"instantaneous_output_kbps":   "instantaneous_output_kbps",
	"pubsub_channels":             "pubsub_channels",
	"pubsub_patterns":             "pubsub_patterns",
	"latest_fork_usec":            "latest_fork_usec",
	"connected_slaves":            "connected_slaves",
	"repl_backlog_size":           "replication_backlog_bytes",
	"repl_backlog_active":         "repl_backlog_is_active",
	"master_repl_offset":          "master_repl_offset",
	"second_repl_offset":          "second_repl_offset",
	"master_last_io_seconds_ago":  "master_last_io_seconds_ago",
	"master_sync_in_progress":     "master_sync_in_progress",
	"slave_repl_offset":           "slave_repl_offset",
	"slave_priority":              "slave_priority",
	"slave_read_only":             "slave_read_only",
	"cluster_enabled":             "cluster_enabled",
	"number_of_cached_scripts":    "number_of_cached_scripts",
}

var redisCounters = map[string]string{
	"total_connections_received": "connections_received_total",
	"total_commands_processed":   "commands_processed_total",
	"rejected_connections":       "rejected_connections_total",
	"total_net_input_bytes":      "net_input_bytes_total",
	"total_net_output_bytes":     "net_output_bytes_total",
	"expired_keys":               "expired_keys_total",
	"evicted_keys":               "evicted_keys_total",
	"keyspace_hits":              "keyspace_hits_total",
	"keyspace_misses":            "keyspace_misses_total",
	"used_cpu_sys":               "cpu_sys_seconds_total",
	"used_cpu_user":              "cpu_user_seconds_total",
	"used_cpu_sys_children":      "cpu_sys_children_seconds_total",
	"used_cpu_user_children":     "cpu_user_children_seconds_total",
	"total_error_replies":        "total_error_replies",
	"sync_full":                  "replica_resyncs_full",
	"sync_partial_ok":            "replica_partial_resync_accepted",
	"sync_partial_err":           "replica_partial_resync_denied",
}

func (redisCollector) collect(ctx context.Context, c engine.Conn, e *emitter, slow bool, partial func(string, error)) error {
	info, err := c.Status(ctx)
	if err != nil {
		return err
	}
	for k, v := range info {
		if name, ok := redisGauges[k]; ok {
			if f, ok := parseValue(v); ok {
				e.add("redis_"+name, f)
			}
			continue
		}
		if name, ok := redisCounters[k]; ok {
			if f, ok := parseValue(v); ok {
				e.add("redis_"+name, f)
			}
			continue
		}
		switch {
		case k == "master_link_status":
			e.add("redis_master_link_up", boolf(v == "up"))
		case k == "rdb_last_bgsave_status":
			e.add("redis_rdb_last_bgsave_status", boolf(v == "ok"))
		case k == "aof_last_bgrewrite_status":
			e.add("redis_aof_last_bgrewrite_status", boolf(v == "ok"))
		case strings.HasPrefix(k, "db") && isDigits(k[2:]):
			// db0:keys=1,expires=0,avg_ttl=0
			f := fields(v)
			if n, ok := parseValue(f["keys"]); ok {
				e.add("redis_db_keys", n, "db", k)
			}
			if n, ok := parseValue(f["expires"]); ok {
				e.add("redis_db_keys_expiring", n, "db", k)
			}
			if n, ok := parseValue(f["avg_ttl"]); ok {
				e.add("redis_db_avg_ttl_seconds", n/1000, "db", k)
			}
		case strings.HasPrefix(k, "slave") && isDigits(k[5:]):
			// slave0:ip=127.0.0.1,port=6380,state=online,offset=123,lag=0
			f := fields(v)
			kv := []string{"slave_ip", f["ip"], "slave_port", f["port"], "slave_state", f["state"]}
			if n, ok := parseValue(f["offset"]); ok {
				e.add("redis_connected_slave_offset_bytes", n, kv...)
			}
			if n, ok := parseValue(f["lag"]); ok {
				e.add("redis_connected_slave_lag_seconds", n, kv...)
			}
		case strings.HasPrefix(k, "cmdstat_"):
			// cmdstat_get:calls=2,usec=15,usec_per_call=7.50,rejected_calls=0,failed_calls=0
			cmd := strings.TrimPrefix(k, "cmdstat_")
			f := fields(v)
			if n, ok := parseValue(f["calls"]); ok {
				e.add("redis_commands_total", n, "cmd", cmd)
			}
			if n, ok := parseValue(f["usec"]); ok {
				e.add("redis_commands_duration_seconds_total", n/1e6, "cmd", cmd)
			}
			if n, ok := parseValue(f["rejected_calls"]); ok {
				e.add("redis_commands_rejected_calls_total", n, "cmd", cmd)
			}
			if n, ok := parseValue(f["failed_calls"]); ok {
				e.add("redis_commands_failed_calls_total", n, "cmd", cmd)
			}
		case strings.HasPrefix(k, "errorstat_"):
			f := fields(v)
			if n, ok := parseValue(f["count"]); ok {
				e.add("redis_errors_total", n, "err", strings.TrimPrefix(k, "errorstat_"))
			}
		}
	}
	e.add("redis_instance_info", 1, "role", info["role"], "redis_version", info["redis_version"],
		"redis_mode", info["redis_mode"], "os", info["os"], "tcp_port", info["tcp_port"])
	if info["role"] == "slave" && info["master_link_status"] == "up" {
		// The lag by offset, as the master sees this replica (the engine's
		// Replication asks it): master_last_io_seconds_ago is not a lag.
		r, err := c.Replication(ctx)
		switch {
		case err != nil:
			partial("replication_lag", err)
		case r.Source != nil && r.Source.LagBytes != nil && r.Source.LagSeconds != nil:
			e.add("redis_replication_lag_bytes", float64(*r.Source.LagBytes))
			e.add("redis_replication_lag_seconds", *r.Source.LagSeconds)
		}
	}
	return nil
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// fields parses "a=1,b=2".
func fields(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out[k] = v
		}
	}
	return out
}
