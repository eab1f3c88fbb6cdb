package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/metrics"
)

// TestCollectors scrapes real MariaDB, PostgreSQL and Redis primaries and
// replicas, applies load, scrapes again and checks that the exporters'
// metrics are there and moved.
func TestCollectors(t *testing.T) {
	f := newFleet(t)
	f.addAll(t)
	store := openStore(t, metrics.StoreOptions{})
	sc := metrics.NewScraper(f.inv, store, metrics.ScraperOptions{Timeout: 10 * time.Second}, nil)
	defer sc.Close()
	ctx := context.Background()

	p := srv(t).maria.Primary()
	p.Exec(t, "DROP DATABASE IF EXISTS shop", "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(200))",
		"INSERT INTO shop.orders (note) SELECT REPEAT('x', 200) FROM mysql.seq_1_to_2000",
		"ANALYZE TABLE shop.orders")
	srv(t).maria.WaitSync(t)

	if err := sc.ScrapeAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range sc.Targets() {
		if st.Health != "up" {
			t.Errorf("%s: health %s, error %q", st.Instance, st.Health, st.LastError)
		}
		if len(st.Partial) > 0 {
			t.Errorf("%s: partial failures %v", st.Instance, st.Partial)
		}
	}
	before := map[string]float64{}
	checks := []struct {
		q      string
		expect func(v float64) bool
	}{
		{`mysql_up{instance="maria-1",cluster="maria",engine="mariadb"}`, func(v float64) bool { return v == 1 }},
		{`up{instance="redis-2"}`, func(v float64) bool { return v == 1 }},
		{`mysql_global_status_queries{instance="maria-1"}`, func(v float64) bool { return v > 0 }},
		{`mysql_global_status_threads_connected{instance="maria-1"}`, func(v float64) bool { return v >= 1 }},
		{`mysql_global_status_threads_running{instance="maria-1"}`, func(v float64) bool { return v >= 1 }},
		{`mysql_global_variables_max_connections{instance="maria-1"}`, func(v float64) bool { return v > 0 }},
		{`mysql_global_variables_innodb_buffer_pool_size{instance="maria-1"}`, func(v float64) bool { return v > 0 }},
		{`mysql_global_status_buffer_pool_pages{instance="maria-1",state="data"}`, func(v float64) bool { return v > 0 }},
		{`mysql_global_status_commands_total{instance="maria-1",command="insert"}`, func(v float64) bool { return v >= 1 }},
		{`mysql_global_status_handlers_total{instance="maria-1",handler="write"}`, func(v float64) bool { return v >= 2000 }},
		{`mysql_global_variables_read_only{instance="maria-2"}`, func(v float64) bool { return v == 1 }},
		{`mysql_slave_status_seconds_behind_master{instance="maria-2"}`, func(v float64) bool { return v >= 0 }},
		{`mysql_slave_status_slave_io_running{instance="maria-2"}`, func(v float64) bool { return v == 1 }},
		{`mysql_slave_status_slave_sql_running{instance="maria-2"}`, func(v float64) bool { return v == 1 }},
		{`sum(mysql_info_schema_processlist_threads{instance="maria-1",command="binlog_dump"})`, func(v float64) bool { return v == 1 }},
		{`mysql_info_schema_table_rows{instance="maria-1",schema="shop",table="orders"}`, func(v float64) bool { return v > 1000 }},
		{`mysql_info_schema_table_size{instance="maria-1",schema="shop",table="orders",component="data_length"}`, func(v float64) bool { return v > 200*1000 }},
		{`pg_up{instance="pg-1"}`, func(v float64) bool { return v == 1 }},
		{`pg_stat_database_xact_commit{instance="pg-1",datname="postgres"}`, func(v float64) bool { return v > 0 }},
		{`pg_stat_database_numbackends{instance="pg-1",datname="postgres"}`, func(v float64) bool { return v >= 1 }},
		{`pg_stat_bgwriter_buffers_alloc_total{instance="pg-1"}`, func(v float64) bool { return v >= 0 }},
		{`pg_database_size_bytes{instance="pg-1",datname="postgres"}`, func(v float64) bool { return v > 1e6 }},
		{`pg_settings_max_connections{instance="pg-1"}`, func(v float64) bool { return v > 0 }},
		{`pg_settings_shared_buffers_bytes{instance="pg-1"}`, func(v float64) bool { return v > 0 }},
		{`pg_locks_count{instance="pg-1",datname="postgres",mode="accesssharelock"}`, func(v float64) bool { return v >= 0 }},
		{`pg_replication_is_replica{instance="pg-1"}`, func(v float64) bool { return v == 0 }},
		{`pg_replication_is_replica{instance="pg-2"}`, func(v float64) bool { return v == 1 }},
		{`pg_replication_lag_seconds{instance="pg-2"}`, func(v float64) bool { return v >= 0 }},
		{`redis_replication_lag_seconds{instance="redis-2"}`, func(v float64) bool { return v >= 0 && v < 5 }},
		{`redis_replication_lag_bytes{instance="redis-2"}`, func(v float64) bool { return v >= 0 }},
		{`count(pg_stat_replication_replay_lag_seconds{instance="pg-1"})`, func(v float64) bool { return v == 1 }},
		{`redis_up{instance="redis-1"}`, func(v float64) bool { return v == 1 }},
		{`redis_connected_clients{instance="redis-1"}`, func(v float64) bool { return v >= 1 }},
		{`redis_commands_processed_total{instance="redis-1"}`, func(v float64) bool { return v > 0 }},
		{`redis_connected_slaves{instance="redis-1"}`, func(v float64) bool { return v == 1 }},
		{`redis_master_link_up{instance="redis-2"}`, func(v float64) bool { return v == 1 }},
		{`count(redis_connected_slave_offset_bytes{instance="redis-1",slave_state="online"})`, func(v float64) bool { return v == 1 }},
		{`redis_instance_info{instance="redis-2",role="slave"}`, func(v float64) bool { return v == 1 }},
		{`redis_memory_used_bytes{instance="redis-1"}`, func(v float64) bool { return v > 0 }},
		{`dbfleet_scrape_duration_seconds{instance="pg-1"}`, func(v float64) bool { return v > 0 && v < 10 }},
	}
	for _, c := range checks {
		if v := value(t, store, c.q); !c.expect(v) {
			t.Errorf("%s = %v: unexpected", c.q, v)
		}
	}
	for _, q := range []string{
		`mysql_global_status_queries{instance="maria-1"}`,
		`pg_stat_database_xact_commit{instance="pg-1",datname="postgres"}`,
		`redis_commands_processed_total{instance="redis-1"}`,
		`sum(redis_commands_total{instance="redis-1",cmd="set"}) or vector(0)`,
	} {
		before[q] = value(t, store, q)
	}

	// Load: 100 queries on MariaDB, 100 transactions on PostgreSQL, 100
	// commands and 50 keys on Redis.
	db := p.DB(t, "shop")
	for i := range 100 {
		if _, err := db.Exec("SELECT COUNT(*) FROM orders WHERE id > ?", i); err != nil {
			t.Fatal(err)
		}
	}
	pgc, err := f.inv.Connect(ctx, "pg-1", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := pgc.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	rc := srv(t).redis.Client(t)
	for i := range 100 {
		if err := rc.Set(ctx, fmt.Sprintf("k%d", i%50), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pgc.Close() // a backend flushes its statistics when it ends, a moment later

	// Scrape until every counter shows the load (PostgreSQL publishes
	// statistics asynchronously), for at most 10 s.
	grown := map[string]float64{
		`mysql_global_status_queries{instance="maria-1"}`:                      100,
		`pg_stat_database_xact_commit{instance="pg-1",datname="postgres"}`:     100,
		`redis_commands_processed_total{instance="redis-1"}`:                   100,
		`sum(redis_commands_total{instance="redis-1",cmd="set"}) or vector(0)`: 100,
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(50 * time.Millisecond) // a new timestamp for the next scrape
		if err := sc.ScrapeAll(ctx); err != nil {
			t.Fatal(err)
		}
		var short []string
		for q, min := range grown {
			if got := value(t, store, q) - before[q]; got < min {
				short = append(short, fmt.Sprintf("%s grew by %v after the load, want at least %v", q, got, min))
			}
		}
		if len(short) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(short)
		}
	}
	if v := value(t, store, `redis_db_keys{instance="redis-1",db="db0"}`); v != 50 {
		t.Errorf("redis_db_keys = %v, want 50", v)
	}
	// rate() over the two scrapes sees the load.
	if v := value(t, store, `rate(mysql_global_status_queries{instance="maria-1"}[1m])`); v <= 0 {
		t.Errorf("rate of queries = %v, want > 0", v)
	}
	// Table sizes come on the slow interval and are repeated in between.
	if n := count(t, store, `mysql_info_schema_table_size{instance="maria-1",schema="shop"}`); n != 3 {
		t.Errorf("table size series = %d, want 3 (data_length, index_length, data_free)", n)
	}
}
