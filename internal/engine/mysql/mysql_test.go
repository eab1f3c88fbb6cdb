package mysql

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/enginetest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// cluster is shared by the integration tests: Nodes[0] the primary, two
// replicas.
var shared = testenv.Share(func(tb testing.TB) *testenv.MariaDBCluster { return testenv.StartMariaDBCluster(tb, 3) })

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const wrongPassword = "wr0ng-Pa55word-never-shown"

func target(n *testenv.MariaDB) engine.Target {
	return engine.Target{Engine: engine.MariaDB, Host: n.Host, Port: n.Port, User: n.User, Password: n.Password, ConnectTimeout: 5 * time.Second}
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	cluster := shared.Get(t)
	enginetest.NoSecrets(t, err, cluster.Primary().Password, wrongPassword)
}

func open(t *testing.T, n *testenv.MariaDB) *Conn {
	t.Helper()
	return enginetest.Open(t, New(), target(n), wrongPassword).(*Conn)
}

// TestConformance runs the adapter contract every engine keeps.
func TestConformance(t *testing.T) {
	cluster := shared.Get(t)
	primary := target(cluster.Primary())
	var replicas []engine.Target
	for _, r := range cluster.Replicas() {
		replicas = append(replicas, target(r))
	}
	var primaryGTID string
	enginetest.Run(t, enginetest.Setup{
		Driver:         New(),
		Kinds:          []engine.Kind{engine.MariaDB, engine.MySQL, engine.TiDB},
		Primary:        primary,
		Replicas:       replicas,
		Secrets:        []string{wrongPassword},
		WrongPasswords: []string{wrongPassword},
		WhereWords:     []string{"mariadb", primary.User},
		Version:        func(v string) bool { return strings.Contains(v, "MariaDB") },
		Variables:      []string{"server_id", "read_only", "no_such_variable"},
		WantVariables:  map[string]string{"server_id": "1", "read_only": "OFF"},
		AllVariables:   100,
		AllVariable:    [2]string{"log_bin", "ON"},
		StatusKeys:     []string{"Uptime", "Questions", "Com_select", "Threads_connected", "Innodb_buffer_pool_reads"},
		Table: enginetest.Table{
			Database: "conformance",
			Target:   primary,
			Create: func(t *testing.T, c engine.Conn) {
				for _, s := range []string{
					"DROP DATABASE IF EXISTS conformance", // -count=N reuses the shared server
					"CREATE DATABASE conformance",
					"CREATE TABLE conformance.t (id INT PRIMARY KEY)",
					"INSERT INTO conformance.t VALUES (1), (2), (3), (4), (5)",
				} {
					if _, err := c.Exec(context.Background(), s); err != nil {
						t.Fatal(err)
					}
				}
			},
			All:       "SELECT id FROM conformance.t ORDER BY id",
			None:      "SELECT id FROM conformance.t WHERE id < 0",
			Bad:       "SELEC nonsense",
			Duplicate: "INSERT INTO conformance.t (id) VALUES (1)",
			Missing:   "SELECT * FROM conformance.no_such_table",
			Sleep:     "SELECT SLEEP(5)",
			Streams:   true,
		},
		BeforeReplication: func(t *testing.T, c engine.Conn) {
			cluster.Primary().Exec(t, "CREATE DATABASE IF NOT EXISTS repltest", "CREATE TABLE IF NOT EXISTS repltest.t (id INT PRIMARY KEY)", "REPLACE INTO repltest.t VALUES (1)")
			cluster.WaitSync(t)
		},
		ReplicaPorts: true,
		CheckPrimary: func(t *testing.T, p engine.Replication) {
			if p.GTIDBinlog == "" {
				t.Errorf("primary gtids: binlog %q current %q", p.GTIDBinlog, p.GTIDCurrent)
			}
			primaryGTID = p.GTIDBinlog
		},
		CheckReplica: func(t *testing.T, p, r engine.Replication) {
			if r.Source.UsingGTID != "Slave_Pos" {
				t.Errorf("replica source: %+v", r.Source)
			}
			if r.GTIDSlave == "" || r.GTIDSlave != primaryGTID {
				t.Errorf("replica gtid_slave_pos %q, primary's binlog %q", r.GTIDSlave, primaryGTID)
			}
		},
	})
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in     string
		flavor flavor
		ver    [3]int
		modern bool
	}{
		{"10.11.6-MariaDB-0+deb12u1", flavorMariaDB, [3]int{10, 11, 6}, false},
		{"8.0.36", flavorMySQL, [3]int{8, 0, 36}, true},
		{"8.0.21-log", flavorMySQL, [3]int{8, 0, 21}, false},
		{"8.4.0", flavorMySQL, [3]int{8, 4, 0}, true},
		{"5.7.44-log", flavorMySQL, [3]int{5, 7, 44}, false},
		{"8.0.11-TiDB-v7.5.0", flavorTiDB, [3]int{8, 0, 11}, false},
		{"", flavorMySQL, [3]int{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, v := parseVersion(tt.in)
			if f != tt.flavor || v != tt.ver {
				t.Errorf("parseVersion(%q) = %v %v, want %v %v", tt.in, f, v, tt.flavor, tt.ver)
			}
			c := &Conn{flavor: f, ver: v}
			if c.modernMySQL() != tt.modern {
				t.Errorf("modernMySQL = %v, want %v", c.modernMySQL(), tt.modern)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     any
		dbType string
		want   any
	}{
		{nil, "INT", nil},
		{[]byte("42"), "INT", int64(42)},
		{[]byte("-7"), "BIGINT", int64(-7)},
		{[]byte("18446744073709551615"), "UNSIGNED BIGINT", "18446744073709551615"},
		{[]byte("-9223372036854775808"), "BIGINT", int64(-9223372036854775808)},
		{[]byte("999999999999999999"), "BIGINT", int64(999999999999999999)},
		{[]byte("0"), "TINYINT", int64(0)},
		{[]byte("-"), "INT", "-"},
		{[]byte("12a"), "INT", "12a"},
		{[]byte("1.5"), "DOUBLE", 1.5},
		{[]byte("12.30"), "DECIMAL", "12.30"},
		{[]byte("héllo"), "VARCHAR", "héllo"},
		{[]byte("text"), "TEXT", "text"},
		{[]byte{0, 1, 2}, "BLOB", []byte{0, 1, 2}},
		{[]byte{0xff}, "VARBINARY", []byte{0xff}},
		{[]byte(`{"a":1}`), "JSON", `{"a":1}`},
		{int64(5), "INT", int64(5)},
		{int32(5), "INT", int64(5)},
		{uint64(5), "UNSIGNED BIGINT", int64(5)},
		{float32(0.5), "FLOAT", 0.5},
		{ts, "DATETIME", ts},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.dbType, tt.in), func(t *testing.T) {
			if got := convert(tt.in, tt.dbType); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("convert(%#v, %q) = %#v, want %#v", tt.in, tt.dbType, got, tt.want)
			}
		})
	}
}

func ptr(f float64) *float64 { return &f }

func TestParseUpstream(t *testing.T) {
	tests := []struct {
		name string
		rec  map[string]string
		want *engine.Upstream
	}{
		{"none", map[string]string{}, nil},
		{"mariadb running", map[string]string{
			"Master_Host": "10.0.0.1", "Master_Port": "3306", "Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes",
			"Slave_IO_State": "Waiting for master to send event", "Seconds_Behind_Master": "3", "Using_Gtid": "Slave_Pos",
		}, &engine.Upstream{Host: "10.0.0.1", Port: 3306, IORunning: true, SQLRunning: true,
			IOState: "Waiting for master to send event", LagSeconds: ptr(3), UsingGTID: "Slave_Pos"}},
		{"mysql 8 broken", map[string]string{ // Seconds_Behind_Source NULL: absent
			"Source_Host": "db1", "Source_Port": "3307", "Replica_IO_Running": "Connecting", "Replica_SQL_Running": "No",
			"Last_IO_Error": "error connecting to master", "Last_SQL_Error": "duplicate key", "Auto_Position": "1",
		}, &engine.Upstream{Host: "db1", Port: 3307, UsingGTID: "Auto_Position",
			LastError: "io: error connecting to master; sql: duplicate key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseUpstream(tt.rec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseUpstream() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMergeReplicas(t *testing.T) {
	const sent = "Master has sent all binlog to slave; waiting for more updates"
	tests := []struct {
		name       string
		registered []map[string]string
		dumps      []dumpThread
		want       []engine.Downstream
	}{
		{"none", nil, nil, nil},
		{"registered by address",
			[]map[string]string{{"Host": "10.0.0.2", "Port": "3306"}, {"Host": "10.0.0.3", "Port": "3307"}},
			[]dumpThread{{"10.0.0.3", "s3"}, {"10.0.0.2", "s2"}},
			[]engine.Downstream{{Host: "10.0.0.2", Port: 3306, State: "s2"}, {Host: "10.0.0.3", Port: 3307, State: "s3"}}},
		{"registered by name",
			[]map[string]string{{"Host": "db2.example", "Port": "3306"}},
			[]dumpThread{{"10.0.0.2", sent}},
			[]engine.Downstream{{Host: "db2.example", Port: 3306, State: sent}}},
		{"no report_host",
			[]map[string]string{{"Host": "", "Port": "3306"}},
			[]dumpThread{{"10.0.0.2", sent}},
			[]engine.Downstream{{Host: "10.0.0.2", State: sent}}},
		{"processlist only", nil,
			[]dumpThread{{"10.0.0.2", sent}, {"10.0.0.3", sent}},
			[]engine.Downstream{{Host: "10.0.0.2", State: sent}, {Host: "10.0.0.3", State: sent}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeReplicas(tt.registered, tt.dumps); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeReplicas() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestExecQuery(t *testing.T) {
	cluster := shared.Get(t)
	c := open(t, cluster.Primary())
	ctx := context.Background()
	for _, s := range []string{
		"DROP DATABASE IF EXISTS engtest", // -count=N reuses the shared server
		"CREATE DATABASE engtest",
		`CREATE TABLE engtest.t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2),
			ratio DOUBLE, data BLOB, at DATETIME, note TEXT NULL)`,
	} {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		res, err := c.Exec(ctx, "INSERT INTO engtest.t (name, price, ratio, data, at) VALUES (?, ?, ?, ?, ?)",
			fmt.Sprintf("n%d", i), "12.30", 0.5, []byte{0, byte(i)}, at)
		if err != nil {
			t.Fatal(err)
		}
		if res.RowsAffected != 1 || res.LastInsertID != int64(i) {
			t.Errorf("insert %d: %+v", i, res)
		}
	}
	res, err := c.Exec(ctx, "UPDATE engtest.t SET ratio = ratio * 2 WHERE id > ?", 3)
	if err != nil || res.RowsAffected != 2 {
		t.Errorf("update: %+v, %v", res, err)
	}

	rows, truncated, err := c.Query(ctx, 0, "SELECT id, name, price, ratio, data, at, note FROM engtest.t WHERE id = ?", 1)
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"id", "name", "price", "ratio", "data", "at", "note"}
	wantRow := []any{int64(1), "n1", "12.30", 0.5, []byte{0, 1}, at, nil}
	if truncated || !reflect.DeepEqual(rows.Columns, wantCols) || len(rows.Values) != 1 || !reflect.DeepEqual(rows.Values[0], wantRow) {
		t.Errorf("Query = %v %#v truncated=%v, want %v %#v", rows.Columns, rows.Values, truncated, wantCols, wantRow)
	}
	// The text protocol (no arguments) converts the same way.
	rows, _, err = c.Query(ctx, 0, "SELECT id, name, price, ratio, data, at, note FROM engtest.t WHERE id = 1")
	if err != nil || !reflect.DeepEqual(rows.Values[0], wantRow) {
		t.Errorf("text protocol row = %#v, %v; want %#v", rows.Values, err, wantRow)
	}
}
