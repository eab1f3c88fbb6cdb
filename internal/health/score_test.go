package health

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

func defaultRules(t testing.TB) *RuleSet {
	t.Helper()
	rs, err := LoadRules("")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// healthy inputs of each engine: no rule deducts anything.
var healthyInputs = map[engine.Kind]map[string]float64{
	engine.MariaDB: {
		"up": 1, "cpu": 0.2, "memory": 0.5, "iops": 100, "label_iops_limit": 3000, "host_cores": 8,
		"threads_running": 3, "threads_connected": 20, "max_connections": 151, "slow_per_day": 2,
		"deadlocks": 0, "replica_io_running": 1, "replica_sql_running": 1, "replica_lag": 0,
		"uptime": 864000, "buffer_pool_hit": 0.999, "tmp_disk_ratio": 0.01, "large_tables": 0,
		"days_until_full": 90, "z_qps": 0.4, "z_threads_running": -1, "z_connections": 2.5,
	},
	engine.Postgres: {
		"up": 1, "cpu": 0.1, "memory": 0.4, "connections": 10, "max_connections": 100, "is_replica": 0,
		"replica_lag": 0, "cache_hit": 0.999, "idle_in_transaction": 3, "deadlocks": 0,
		"temp_bytes_per_day": 1e6, "database_bytes": 1e9, "checkpoints_req": 0, "checkpoints_timed": 5,
		"days_until_full": 200, "z_tps": 1, "z_connections": 0,
	},
	engine.Redis: {
		"up": 1, "cpu": 0.1, "memory_used": 1e8, "memory_max": 1e9, "fragmentation": 1.1, "evicted_keys": 0,
		"rejected_connections": 0, "clients": 10, "max_clients": 10000, "keyspace_hit": 0.95,
		"latest_fork": 0.01, "bgsave_ok": 1, "aof_rewrite_ok": 1, "master_link_up": 1, "z_ops": 0.2, "z_clients": 1,
	},
}

func snapshot(kind engine.Kind, w Window, change map[string]float64) Snapshot {
	vals := map[string]float64{}
	for k, v := range healthyInputs[kind] {
		vals[k] = v
	}
	for k, v := range change {
		if math.IsNaN(v) {
			delete(vals, k)
		} else {
			vals[k] = v
		}
	}
	return Snapshot{Instance: "i1", Engine: kind, Window: w, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Values: vals}
}

var gone = math.NaN() // removes an input from a snapshot

// Each rule of the reference table, one row at a time: the inputs that
// trigger it, and the deduction expected (rule, severity, points).
func TestScoreRules(t *testing.T) {
	rs := defaultRules(t)
	type want struct {
		rule     string
		severity string
		points   float64
	}
	tests := []struct {
		name   string
		kind   engine.Kind
		window Window
		change map[string]float64
		want   []want // in order of points, largest first
	}{
		{"healthy mariadb", engine.MariaDB, Now, nil, nil},
		{"healthy postgres", engine.Postgres, Now, nil, nil},
		{"healthy redis", engine.Redis, Now, nil, nil},
		{"down", engine.MariaDB, Now, map[string]float64{"up": 0}, []want{{"down", "critical", 100}}},
		{"cpu 75%", engine.MariaDB, Now, map[string]float64{"cpu": 0.75}, []want{{"cpu", "warning", 2}}},
		{"cpu 90%", engine.MariaDB, Now, map[string]float64{"cpu": 0.9}, []want{{"cpu", "critical", 6}}},
		{"cpu 100% capped", engine.Postgres, Now, map[string]float64{"cpu": 1.0}, []want{{"cpu", "critical", 9}}},
		{"memory 85%", engine.MariaDB, Now, map[string]float64{"memory": 0.85}, []want{{"memory", "warning", 2}}},
		{"memory 99%", engine.MariaDB, Now, map[string]float64{"memory": 0.99}, []want{{"memory", "critical", 7.5}}},
		{"12 days until full", engine.MariaDB, Daily, map[string]float64{"days_until_full": 12}, []want{{"capacity", "warning", 11}}},
		{"3 days until full", engine.Postgres, Now, map[string]float64{"days_until_full": 3}, []want{{"capacity", "critical", 14}}},
		{"31 days until full", engine.MariaDB, Now, map[string]float64{"days_until_full": 31}, nil},
		{"two large tables", engine.MariaDB, Now, map[string]float64{"large_tables": 2}, []want{{"mysql.large_tables", "info", 2}}},
		{"40 large tables", engine.MariaDB, Now, map[string]float64{"large_tables": 40}, []want{{"mysql.large_tables", "info", 15}}},
		{"connections 75%", engine.MariaDB, Now, map[string]float64{"threads_connected": 113.25}, []want{{"mysql.connections", "warning", 1}}},
		{"connections 90%", engine.MariaDB, Now, map[string]float64{"threads_connected": 136}, []want{{"mysql.connections", "critical", 3}}},
		{"iops 80%", engine.MariaDB, Now, map[string]float64{"iops": 2400}, []want{{"iops", "warning", 3}}},
		{"iops 95%", engine.Postgres, Now, map[string]float64{"iops": 2850, "label_iops_limit": 3000}, []want{{"iops", "critical", 5}}},
		// 8 cores: thresholds min(2*8+8, 64) = 24 and min(4*8+8, 96) = 40.
		{"threads running 30", engine.MariaDB, Now, map[string]float64{"threads_running": 30}, []want{{"mysql.threads_running", "warning", 3}}},
		{"threads running 41", engine.MariaDB, Now, map[string]float64{"threads_running": 41}, []want{{"mysql.threads_running", "critical", 9}}},
		{"threads running 70 on 64 cores", engine.MariaDB, Now, map[string]float64{"threads_running": 70, "host_cores": 64}, []want{{"mysql.threads_running", "warning", 3}}},
		{"40 slow per day", engine.MariaDB, Daily, map[string]float64{"slow_per_day": 40}, []want{{"mysql.slow_queries", "info", 2}}},
		{"400 slow per day", engine.MariaDB, Daily, map[string]float64{"slow_per_day": 400}, []want{{"mysql.slow_queries", "warning", 14}}},
		{"5000 slow per day capped", engine.MariaDB, Daily, map[string]float64{"slow_per_day": 5000}, []want{{"mysql.slow_queries", "critical", 30}}},
		{"deadlock", engine.MariaDB, Now, map[string]float64{"deadlocks": 1}, []want{{"mysql.deadlocks", "warning", 3}}},
		{"sql thread stopped", engine.MariaDB, Now, map[string]float64{"replica_sql_running": 0}, []want{{"mysql.replica_stopped", "critical", 20}}},
		{"not a replica", engine.MariaDB, Now, map[string]float64{"replica_io_running": gone, "replica_sql_running": gone, "replica_lag": gone}, nil},
		{"lag 10 min", engine.MariaDB, Now, map[string]float64{"replica_lag": 600}, []want{{"mysql.replica_lag", "warning", 15}}},
		{"lag 2 min", engine.MariaDB, Now, map[string]float64{"replica_lag": 120}, []want{{"mysql.replica_lag", "warning", 7}}},
		{"restarted 10 min ago", engine.MariaDB, Now, map[string]float64{"uptime": 600}, []want{{"mysql.restarted", "warning", 5}}},
		{"restarted 2 h ago: not in now", engine.MariaDB, Now, map[string]float64{"uptime": 7200}, nil},
		{"restarted 2 h ago: in daily", engine.MariaDB, Daily, map[string]float64{"uptime": 7200}, []want{{"mysql.restarted", "warning", 5}}},
		{"buffer pool hit 98.5%", engine.MariaDB, Now, map[string]float64{"buffer_pool_hit": 0.985}, []want{{"mysql.buffer_pool_hit", "warning", 2.5}}},
		{"buffer pool hit 90%", engine.MariaDB, Now, map[string]float64{"buffer_pool_hit": 0.9}, []want{{"mysql.buffer_pool_hit", "warning", 10}}},
		{"tmp disk tables 30%", engine.MariaDB, Now, map[string]float64{"tmp_disk_ratio": 0.3}, []want{{"mysql.tmp_disk_tables", "warning", 3}}},
		{"one anomaly", engine.MariaDB, Now, map[string]float64{"z_qps": 4.2}, []want{{"anomaly", "warning", 3}}},
		{"anomalies capped at 9", engine.MariaDB, Now, map[string]float64{"z_qps": -5, "z_threads_running": 8, "z_connections": 3.5, "z_extra": 10},
			[]want{{"anomaly", "warning", 3}, {"anomaly", "warning", 3}, {"anomaly", "warning", 3}}},
		{"anomalies not daily", engine.MariaDB, Daily, map[string]float64{"z_qps": 9}, nil},

		{"pg connections 85%", engine.Postgres, Now, map[string]float64{"connections": 85}, []want{{"pg.connections", "critical", 3}}},
		{"pg replica lag", engine.Postgres, Now, map[string]float64{"is_replica": 1, "replica_lag": 90}, []want{{"pg.replica_lag", "warning", 5}}},
		{"pg primary lag ignored", engine.Postgres, Now, map[string]float64{"replica_lag": 90}, nil},
		{"pg cache hit 97%", engine.Postgres, Now, map[string]float64{"cache_hit": 0.97}, []want{{"pg.cache_hit", "warning", 10}}},
		{"pg idle in transaction", engine.Postgres, Now, map[string]float64{"idle_in_transaction": 900}, []want{{"pg.idle_in_transaction", "warning", 5}}},
		{"pg deadlocks", engine.Postgres, Now, map[string]float64{"deadlocks": 2}, []want{{"pg.deadlocks", "warning", 3}}},
		{"pg temp bytes", engine.Postgres, Daily, map[string]float64{"temp_bytes_per_day": 2e8}, []want{{"pg.temp_bytes", "warning", 3}}},
		{"pg requested checkpoints", engine.Postgres, Now, map[string]float64{"checkpoints_req": 3, "checkpoints_timed": 3}, []want{{"pg.checkpoints_req", "warning", 3}}},

		{"redis memory 95%", engine.Redis, Now, map[string]float64{"memory_used": 9.5e8}, []want{{"redis.memory", "critical", 5.5}}},
		{"redis without maxmemory", engine.Redis, Now, map[string]float64{"memory_max": gone}, nil},
		{"redis fragmentation", engine.Redis, Now, map[string]float64{"fragmentation": 2}, []want{{"redis.fragmentation", "warning", 3}}},
		{"redis evictions", engine.Redis, Now, map[string]float64{"evicted_keys": 100}, []want{{"redis.evicted_keys", "warning", 5}}},
		{"redis rejected", engine.Redis, Now, map[string]float64{"rejected_connections": 1}, []want{{"redis.rejected_connections", "warning", 5}}},
		{"redis clients 90%", engine.Redis, Now, map[string]float64{"clients": 9000}, []want{{"redis.clients", "critical", 3}}},
		{"redis hit ratio", engine.Redis, Now, map[string]float64{"keyspace_hit": 0.5}, []want{{"redis.keyspace_hit", "warning", 3}}},
		{"redis slow fork", engine.Redis, Now, map[string]float64{"latest_fork": 0.8}, []want{{"redis.fork", "warning", 3}}},
		{"redis bgsave failed", engine.Redis, Now, map[string]float64{"bgsave_ok": 0}, []want{{"redis.persistence", "critical", 10}}},
		{"redis master link down", engine.Redis, Now, map[string]float64{"master_link_up": 0}, []want{{"redis.master_link", "critical", 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := snapshot(tt.kind, tt.window, tt.change)
			sc := Evaluate(rs.Rules(tt.kind, "", tt.window), snap)
			var total float64
			for _, w := range tt.want {
				total += w.points
			}
			if len(sc.Deductions) != len(tt.want) {
				t.Fatalf("deductions %+v, want %+v", sc.Deductions, tt.want)
			}
			for i, w := range tt.want {
				d := sc.Deductions[i]
				if d.Rule != w.rule || d.Severity != w.severity || math.Abs(d.Points-w.points) > 0.01 {
					t.Errorf("deduction %d: %+v, want %+v", i, d, w)
				}
				if d.Category == "" || d.Message == "" || !strings.Contains(d.Message, d.Item) {
					t.Errorf("deduction %d lacks an explanation: %+v", i, d)
				}
			}
			if want := math.Max(0, 100-total); math.Abs(sc.Value-want) > 0.05 {
				t.Errorf("score %g, want %g", sc.Value, want)
			}
		})
	}
}

func TestScoreShape(t *testing.T) {
	rs := defaultRules(t)
	// Several deductions add up; the score never goes below 0.
	snap := snapshot(engine.MariaDB, Now, map[string]float64{"up": 0, "replica_sql_running": 0, "cpu": 0.95})
	sc := Evaluate(rs.Rules(engine.MariaDB, "", Now), snap)
	if sc.Value != 0 || sc.Level != HighRisk || len(sc.Deductions) != 3 || sc.Deductions[0].Rule != "down" {
		t.Errorf("floored score: %+v", sc)
	}
	byCat := sc.ByCategory()
	if byCat["availability"] != 100 || byCat["reliability"] != 20 || byCat["performance"] != 7.5 || byCat["maintainability"] != 0 {
		t.Errorf("by category: %v", byCat)
	}
	// The observed value, threshold and comparison are kept.
	snap = snapshot(engine.MariaDB, Now, map[string]float64{"threads_running": 30})
	d := Evaluate(rs.Rules(engine.MariaDB, "", Now), snap).Deductions[0]
	if d.Observed != 30 || d.Threshold != 24 || d.Op != ">" || d.Message != "threads_running: 30 > 24" || d.Category != "performance" {
		t.Errorf("deduction: %+v", d)
	}
	d = Evaluate(rs.Rules(engine.MariaDB, "", Now), snapshot(engine.MariaDB, Now, map[string]float64{"buffer_pool_hit": 0.95})).Deductions[0]
	if d.Op != "<" || d.Message != "buffer_pool_hit: 95.0% < 99.0%" {
		t.Errorf("deduction: %+v", d)
	}
	for _, tc := range []struct {
		v    float64
		want Level
	}{{100, Healthy}, {90, Healthy}, {89.9, Attention}, {75, Attention}, {74, Risk}, {60, Risk}, {59.9, HighRisk}, {0, HighRisk}} {
		if got := LevelOf(tc.v); got != tc.want {
			t.Errorf("LevelOf(%g) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// A rule whose input has no data is skipped, with the reason, and costs
// nothing; a division by zero is skipped too.
func TestScoreSkipsMissingInputs(t *testing.T) {
	rs := defaultRules(t)
	snap := snapshot(engine.MariaDB, Now, map[string]float64{"host_cores": gone, "max_connections": 0, "z_qps": gone, "z_threads_running": gone, "z_connections": gone})
	snap.Missing = map[string]string{"host_cores": "not set on host h1", "z_qps": "history 3h0m0s, a forecast needs 2.0 days"}
	sc := Evaluate(rs.Rules(engine.MariaDB, "", Now), snap)
	if sc.Value != 100 {
		t.Errorf("score %g: %+v", sc.Value, sc.Deductions)
	}
	reasons := map[string]string{}
	for _, s := range sc.Skipped {
		reasons[s.Rule] = s.Reason
	}
	for rule, want := range map[string]string{
		"mysql.threads_running": "no data for host_cores (not set on host h1)",
		"mysql.connections":     "is not a number",
		"anomaly":               "no data for z_qps (history 3h0m0s, a forecast needs 2.0 days)",
	} {
		if !strings.Contains(reasons[rule], want) {
			t.Errorf("skip reason of %s: %q, want %q", rule, reasons[rule], want)
		}
	}
}

func TestEvaluateIsPure(t *testing.T) {
	rs := defaultRules(t)
	snap := snapshot(engine.Redis, Now, map[string]float64{"fragmentation": 3, "z_ops": 7})
	a := Evaluate(rs.Rules(engine.Redis, "", Now), snap)
	b := Evaluate(rs.Rules(engine.Redis, "", Now), snap)
	if a.Value != b.Value || len(a.Deductions) != len(b.Deductions) || a.Value != 94 {
		t.Errorf("%+v vs %+v", a, b)
	}
}
