package redis

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/enginetest"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// pair is a primary and its replica, shared by the integration tests.
type pair struct{ primary, replica *testenv.Redis }

// shared starts the pair for the first test that needs it.
var shared = testenv.Share(func(tb testing.TB) pair {
	p := testenv.StartRedis(tb)
	return pair{p, testenv.StartRedisReplica(tb, p)}
})

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const wrongPassword = "wr0ng-Pa55word-never-shown"

func target(r *testenv.Redis) engine.Target {
	return engine.Target{Engine: engine.Redis, Host: r.Host, Port: r.Port, Password: r.Password, ConnectTimeout: 5 * time.Second}
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	primary := shared.Get(t).primary
	enginetest.NoSecrets(t, err, primary.Password, wrongPassword)
}

func open(t *testing.T, r *testenv.Redis, db string) *Conn {
	t.Helper()
	tg := target(r)
	tg.Database = db
	return enginetest.Open(t, New(), tg, wrongPassword).(*Conn)
}

// TestConformance runs the adapter contract every engine keeps.
func TestConformance(t *testing.T) {
	p := shared.Get(t)
	primary, replica := p.primary, p.replica
	tg := target(primary)
	fixture := tg
	fixture.Database = "4"
	enginetest.Run(t, enginetest.Setup{
		Driver:         New(),
		Kinds:          []engine.Kind{engine.Redis},
		Primary:        tg,
		Replicas:       []engine.Target{target(replica)},
		Secrets:        []string{wrongPassword},
		WrongPasswords: []string{wrongPassword, ""},
		WhereWords:     []string{"redis"},
		Version: func(v string) bool {
			return strings.HasPrefix(v, "7.") || strings.HasPrefix(v, "6.") || strings.HasPrefix(v, "8.")
		},
		Variables:     []string{"appendonly", "save", "maxmemory"},
		WantVariables: map[string]string{"appendonly": "no", "save": "", "maxmemory": "0"},
		AllVariables:  50,
		StatusKeys:    []string{"redis_version", "uptime_in_seconds", "total_commands_processed", "keyspace_hits", "used_memory", "role", "cmdstat_ping"},
		Table: enginetest.Table{
			Database: fixture.Database,
			Target:   fixture,
			Create: func(t *testing.T, c engine.Conn) {
				for _, s := range []string{"FLUSHDB", "RPUSH ids 1 2 3 4 5"} {
					if _, err := c.Exec(context.Background(), s); err != nil {
						t.Fatal(err)
					}
				}
			},
			All:  "LRANGE ids 0 -1",
			None: "LRANGE missing 0 -1",
			Bad:  "NOSUCHCOMMAND",
		},
		BeforeReplication: func(t *testing.T, c engine.Conn) {
			if _, err := c.Exec(context.Background(), "SET replicated yes"); err != nil {
				t.Fatal(err)
			}
		},
		ReplicaPorts:    true,
		ReplicaState:    "online",
		ReplicaLagBytes: true,
	})
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []Word
		wantErr bool
	}{
		{"", nil, false},
		{"  GET   key ", []Word{{"GET", false}, {"key", false}}, false},
		{`SET k "hello world"`, []Word{{"SET", false}, {"k", false}, {"hello world", true}}, false},
		{`SET k "a\"b\n\x41"`, []Word{{"SET", false}, {"k", false}, {"a\"b\nA", true}}, false},
		{`SET k 'it\'s \n'`, []Word{{"SET", false}, {"k", false}, {`it's \n`, true}}, false},
		{`SET k ""`, []Word{{"SET", false}, {"k", false}, {"", true}}, false},
		{`SET k "?"`, []Word{{"SET", false}, {"k", false}, {"?", true}}, false},
		{`SET k "open`, nil, true},
		{`SET k 'open`, nil, true},
		{`SET k "a"b`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := SplitArgs(tt.in)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitArgs(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	tests := []struct {
		stmt    string
		args    []any
		want    []any
		wantErr bool
	}{
		{"SET k ?", []any{"v"}, []any{"SET", "k", "v"}, false},
		{"SET ? ?", []any{"k", 42}, []any{"SET", "k", 42}, false},
		{"SET k", []any{"v"}, []any{"SET", "k", "v"}, false},
		{`SET k "?"`, nil, []any{"SET", "k", "?"}, false},
		{"SET k ?", nil, nil, true},
		{"", nil, nil, true},
		{"select 1", nil, nil, true},
		{"MULTI", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			got, err := command(tt.stmt, tt.args)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("command(%q, %v) = %v, %v; want %v, error %v", tt.stmt, tt.args, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseReplication(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		info string
		want engine.Replication
	}{
		{"master with replicas", "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
			"slave0:ip=10.0.0.2,port=6380,state=online,offset=100,lag=0\r\n" +
			"slave1:ip=10.0.0.3,port=6381,state=wait_bgsave,offset=0,lag=1\r\n" +
			"master_replid:abc\r\nmaster_repl_offset:150\r\n",
			engine.Replication{Role: engine.RolePrimary, GTIDCurrent: "abc:150", Replicas: []engine.Downstream{
				{Host: "10.0.0.2", Port: 6380, State: "online", LagBytes: i(50)},
				{Host: "10.0.0.3", Port: 6381, State: "wait_bgsave", LagBytes: i(150)},
			}}},
		{"lone master", "role:master\nconnected_slaves:0\nmaster_replid:abc\nmaster_repl_offset:0\n",
			engine.Replication{Role: engine.RolePrimary, GTIDCurrent: "abc:0"}},
		{"replica up", "role:slave\nmaster_host:10.0.0.1\nmaster_port:6379\nmaster_link_status:up\n" +
			"master_last_io_seconds_ago:2\nmaster_sync_in_progress:0\nslave_read_only:1\nconnected_slaves:0\n",
			engine.Replication{Role: engine.RoleReplica, ReadOnly: true, Source: &engine.Upstream{
				Host: "10.0.0.1", Port: 6379, IORunning: true, SQLRunning: true, IOState: "up", LagSeconds: f(2)}}},
		{"replica down", "role:slave\nmaster_host:10.0.0.1\nmaster_port:6379\nmaster_link_status:down\n" +
			"master_last_io_seconds_ago:-1\nmaster_sync_in_progress:0\nmaster_link_down_since_seconds:12\nslave_read_only:0\n",
			engine.Replication{Role: engine.RoleReplica, Source: &engine.Upstream{
				Host: "10.0.0.1", Port: 6379, IOState: "down", LastError: "link to master down for 12s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseReplication(parseInfo(tt.info)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseReplication() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestExecQuery(t *testing.T) {
	primary := shared.Get(t).primary
	c := open(t, primary, "3")
	ctx := context.Background()
	if _, err := c.Exec(ctx, "FLUSHDB"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SET greeting ?", "hello world"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Exec(ctx, `RPUSH list a "b c" ? ?`, 3, []byte("d"))
	if err != nil || res.RowsAffected != 4 {
		t.Fatalf("RPUSH: %+v, %v", res, err)
	}
	res, err = c.Exec(ctx, "DEL greeting nothing")
	if err != nil || res.RowsAffected != 1 {
		t.Errorf("DEL: %+v, %v", res, err)
	}

	tests := []struct {
		stmt      string
		args      []any
		max       int
		want      [][]any
		truncated bool
	}{
		{"LRANGE list 0 -1", nil, 0, [][]any{{"a"}, {"b c"}, {"3"}, {"d"}}, false},
		{"LRANGE list 0 -1", nil, 2, [][]any{{"a"}, {"b c"}}, true},
		{"LRANGE list 0 -1", nil, 4, [][]any{{"a"}, {"b c"}, {"3"}, {"d"}}, false},
		{"LLEN ?", []any{"list"}, 0, [][]any{{int64(4)}}, false},
		{"GET missing", nil, 0, [][]any{{nil}}, false},
		{"LRANGE missing 0 -1", nil, 0, [][]any{}, false},
		{"PING", nil, 0, [][]any{{"PONG"}}, false},
		{"SCAN 0", nil, 0, [][]any{{"0"}, {`["list"]`}}, false},
	}
	for _, tt := range tests {
		rows, truncated, err := c.Query(ctx, tt.max, tt.stmt, tt.args...)
		if err != nil {
			t.Errorf("%s: %v", tt.stmt, err)
			continue
		}
		if !reflect.DeepEqual(rows.Columns, []string{"value"}) || !reflect.DeepEqual(rows.Values, tt.want) || truncated != tt.truncated {
			t.Errorf("Query(%d, %q) = %v %#v truncated=%v, want %#v %v", tt.max, tt.stmt, rows.Columns, rows.Values, truncated, tt.want, tt.truncated)
		}
	}

	// The DB number was honoured: db 0 does not have the list.
	rows, _, err := open(t, primary, "").Query(ctx, 0, "EXISTS list")
	if err != nil || !reflect.DeepEqual(rows.Values, [][]any{{int64(0)}}) {
		t.Errorf("EXISTS list in db 0: %v, %v", rows, err)
	}

	for _, tt := range []struct {
		stmt string
		kind errkind.Kind
	}{
		{"NOSUCHCOMMAND", errkind.Invalid},
		{"GET", errkind.Invalid},
		{"INCR list", errkind.Invalid},
		{"SELECT 1", errkind.Invalid},
		{`GET "open`, errkind.Invalid},
	} {
		_, err := c.Exec(ctx, tt.stmt)
		noSecrets(t, err)
		if !errkind.Is(err, tt.kind) {
			t.Errorf("%s: kind %v, want %v: %v", tt.stmt, errkind.Of(err), tt.kind, err)
		}
	}
}

func TestBadDatabase(t *testing.T) {
	primary := shared.Get(t).primary
	tg := target(primary)
	tg.Database = "zero"
	if _, err := New().Open(context.Background(), tg); !errkind.Is(err, errkind.Invalid) {
		t.Errorf("kind %v, want invalid: %v", errkind.Of(err), err)
	}
}
