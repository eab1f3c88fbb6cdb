package query

import (
	"context"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// redisAs is a client logged in as user on the test Redis.
func redisAs(t testing.TB, user, password string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: servers(t).rd.Addr(), Username: user, Password: password, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// The Redis reader is an ACL user that runs every command of the
// console's allow-list and nothing else: the console logs in as it, and
// as it the server refuses writes, configuration, flushes, DEBUG,
// SHUTDOWN, KEYS, scripts and the rest.
func TestReaderRedis(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	admin := servers(t).rd.Client(t)
	admin.ZAdd(ctx, "rz:z", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"})
	admin.XAdd(ctx, &goredis.XAddArgs{Stream: "rz:s", Values: []any{"f", "v"}})
	t.Cleanup(func() { admin.Del(ctx, "rz:z", "rz:s") })
	f.grant(t, NewGrant{User: "dev", Instance: "cache-1"})
	r := f.readerRow(t, "cache-1")
	if r.user != "dbfleet_ro_cache-1" || r.host != "" {
		t.Fatalf("reader %q %q", r.user, r.host)
	}
	if _, ok, _ := f.svc.readerRowFor(ctx, f.db, "cache-1", readerAll); ok {
		t.Error("Redis got a read-all reader: its ACLs cannot tell databases apart, one reader serves all")
	}

	// Every command of the console's allow-list runs through the console,
	// as the reader (the test fails when the allow-list grows without a
	// case here).
	reads := map[string]string{
		"GET": "GET key:01", "MGET": "MGET key:01 key:02", "STRLEN": "STRLEN key:01", "GETRANGE": "GETRANGE key:01 0 0",
		"GETBIT": "GETBIT key:01 0", "BITCOUNT": "BITCOUNT key:01", "BITPOS": "BITPOS key:01 1", "EXISTS": "EXISTS key:01",
		"TYPE": "TYPE key:01", "TTL": "TTL key:01", "PTTL": "PTTL key:01", "EXPIRETIME": "EXPIRETIME key:01",
		"PEXPIRETIME": "PEXPIRETIME key:01", "HGET": "HGET user:2 name", "HMGET": "HMGET user:2 name phone",
		"HEXISTS": "HEXISTS user:2 name", "HLEN": "HLEN user:2", "HSTRLEN": "HSTRLEN user:2 name", "HGETALL": "HGETALL user:2",
		"HKEYS": "HKEYS user:2", "HVALS": "HVALS user:2", "HSCAN": "HSCAN user:2 0", "LLEN": "LLEN list", "LINDEX": "LINDEX list 0",
		"LRANGE": "LRANGE list 0 2", "SCARD": "SCARD set", "SISMEMBER": "SISMEMBER set a", "SMISMEMBER": "SMISMEMBER set a b",
		"SMEMBERS": "SMEMBERS set", "SSCAN": "SSCAN set 0", "ZCARD": "ZCARD rz:z", "ZSCORE": "ZSCORE rz:z a",
		"ZMSCORE": "ZMSCORE rz:z a b", "ZRANK": "ZRANK rz:z a", "ZREVRANK": "ZREVRANK rz:z a", "ZCOUNT": "ZCOUNT rz:z 0 9",
		"ZLEXCOUNT": "ZLEXCOUNT rz:z - +", "ZRANGE": "ZRANGE rz:z 0 -1 WITHSCORES", "ZREVRANGE": "ZREVRANGE rz:z 0 -1",
		"ZSCAN": "ZSCAN rz:z 0", "XLEN": "XLEN rz:s", "SCAN": "SCAN 0 COUNT 10", "DBSIZE": "DBSIZE", "INFO": "INFO keyspace",
		"PING": "PING", "TIME": "TIME", "OBJECT": "OBJECT ENCODING list", "MEMORY": "MEMORY USAGE list",
	}
	for name := range redisAllowed {
		if _, ok := reads[name]; !ok {
			t.Errorf("the console allows %s: add a case", name)
		}
	}
	for _, cmd := range append(slicesOf(reads), "OBJECT REFCOUNT list", "OBJECT IDLETIME list", "OBJECT FREQ list") {
		_, err := f.run(t, f.dev, "cache-1", "", cmd)
		if err != nil && (strings.Contains(err.Error(), "NOPERM") || !strings.HasPrefix(cmd, "OBJECT FREQ")) {
			// OBJECT FREQ needs an LFU maxmemory-policy: the server's own
			// error, not a permission, is fine.
			t.Errorf("%s through the console: %v", cmd, err)
		}
	}
	// The database is chosen by SELECT: the reader may.
	if res, err := f.run(t, f.dev, "cache-1", "3", "DBSIZE"); err != nil || table(res) != "value|0" {
		t.Errorf("DBSIZE in database 3: %v %v", res, err)
	}

	// As the reader, the server refuses all the rest, and nothing changes.
	pw := f.readerPassword(t, "cache-1")
	rd := redisAs(t, r.user, pw)
	if err := rd.Ping(ctx).Err(); err != nil {
		t.Fatalf("the reader cannot log in: %v", err)
	}
	state := func() string {
		v, _ := admin.Get(ctx, "key:01").Result()
		mm, _ := admin.ConfigGet(ctx, "maxmemory").Result()
		return v + "|" + mm["maxmemory"] + "|" + admin.DBSize(ctx).String() + "|" + admin.ACLList(ctx).String()
	}
	before := state()
	for _, cmd := range [][]any{
		{"SET", "key:01", "x"}, {"DEL", "key:01"}, {"CONFIG", "SET", "maxmemory", "1"}, {"CONFIG", "GET", "requirepass"},
		{"FLUSHALL"}, {"FLUSHDB"}, {"DEBUG", "SLEEP", "0"}, {"SHUTDOWN", "NOSAVE"}, {"KEYS", "*"}, {"EVAL", "return 1", "0"},
		{"ACL", "SETUSER", "evil", "on", "+@all"}, {"CLIENT", "KILL", "TYPE", "normal"}, {"PUBLISH", "ch", "m"}, {"MODULE", "LIST"},
		{"SCRIPT", "FLUSH"}, {"BGSAVE"}, {"SAVE"}, {"REPLICAOF", "NO", "ONE"}, {"OBJECT", "HELP"}, {"MEMORY", "DOCTOR"},
		{"PFCOUNT", "key:01"}, {"SORT_RO", "list"}, {"RANDOMKEY"}, {"XREAD", "STREAMS", "rz:s", "0"}, {"EXPIRE", "key:01", "1"},
		{"RENAME", "key:01", "key:99"}, {"MIGRATE", "127.0.0.1", "1", "key:01", "0", "10"}, {"MONITOR"},
	} {
		err := rd.Do(ctx, cmd...).Err()
		// DEBUG is refused before the ACL unless enable-debug-command is set.
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") && !(cmd[0] == "DEBUG" && strings.Contains(err.Error(), "DEBUG command not allowed")) {
			t.Errorf("%v as the reader: %v, want NOPERM", cmd, err)
		}
		// And the ACL itself says no (ACL DRYRUN, Redis 7).
		dry := admin.Do(ctx, append([]any{"ACL", "DRYRUN", r.user}, cmd...)...)
		if v, err := dry.Text(); err == nil && v == "OK" {
			t.Errorf("%v: ACL DRYRUN allows it to the reader", cmd)
		}
	}
	if after := state(); after != before {
		t.Errorf("the server changed:\nbefore %s\nafter  %s", before, after)
	}

	// The console logs in as the reader, not the inventory's account: take
	// GET from the reader by hand and the console's GET is refused by the
	// server (the caller's 400); the loop's full pass gives it back.
	admin.Do(ctx, "ACL", "SETUSER", r.user, "-get")
	_, err := f.run(t, f.dev, "cache-1", "", "GET key:01")
	if err == nil || !strings.Contains(err.Error(), "NOPERM") || httpx.Status(err) != 400 {
		t.Errorf("GET with GET taken from the reader: %v", err)
	}
	f.svc.readerPass(ctx, true)
	if _, err := f.run(t, f.dev, "cache-1", "", "GET key:01"); err != nil {
		t.Errorf("GET after the full pass: %v", err)
	}
	if e := lastAudit(t, f, "query.reader.sync"); e.Target != "cache-1" || !strings.Contains(strings.Join(anyStrings(e.Detail["changes"]), " "), "commands differed") {
		t.Errorf("audit: %+v", e)
	}

	// A DBA reads as the same reader.
	res, err := f.run(t, f.dba, "cache-1", "", "GET key:01")
	if err != nil || table(res) != "value|1" {
		t.Errorf("dba GET: %v %v", res, err)
	}
}

// instance check reports the Redis reader like the others: missing, ok,
// too powerful; a user deleted by hand is re-created at the next login.
func TestInstanceCheckRedisReader(t *testing.T) {
	f := newFixture(t, Config{})
	f.inv.ExtraChecks = []inventory.ExtraCheck{f.svc}
	ctx := context.Background()
	admin := servers(t).rd.Client(t)
	admin.Do(ctx, "ACL", "DELUSER", "dbfleet_ro_cache-1")
	check := func() inventory.CheckFinding {
		t.Helper()
		res, err := f.inv.Check(ctx, "cache-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Checks) != 1 || res.Checks[0].Name != "reader" {
			t.Fatalf("checks: %+v", res.Checks)
		}
		return res.Checks[0]
	}
	expect := func(what string, got inventory.CheckFinding, status string, detail ...string) {
		t.Helper()
		if got.Status != status {
			t.Errorf("%s: %s (%s), want %s", what, got.Status, got.Detail, status)
		}
		for _, d := range detail {
			if !strings.Contains(got.Detail, d) {
				t.Errorf("%s: %q does not mention %q", what, got.Detail, d)
			}
		}
	}
	expect("none yet", check(), ReaderMissing, "dbfleet query reader sync cache-1")
	list, err := f.svc.SyncReader(f.as(f.dba), f.dba, "cache-1")
	if err != nil || len(list) != 1 || list[0].Kind != "grants" || list[0].User != "dbfleet_ro_cache-1" {
		t.Fatalf("sync: %+v %v", list, err)
	}
	n := len(redisAllowed) + 1 + 3 // SELECT; OBJECT: four subcommands, not one command (PING is on the allow-list)
	expect("synchronised", check(), ReaderOK, "managed account dbfleet_ro_cache-1: every key, "+itoa(n)+" read commands")
	admin.Do(ctx, "ACL", "SETUSER", "dbfleet_ro_cache-1", "+set", "+config|set", "&*")
	expect("too powerful", check(), ReaderTooPowerful, "+config|set +set", "pub/sub channels &*")
	admin.Do(ctx, "ACL", "SETUSER", "dbfleet_ro_cache-1", "+@all")
	expect("everything", check(), ReaderTooPowerful, "+@all")
	if _, err := f.svc.SyncReader(f.as(f.dba), f.dba, "cache-1"); err != nil {
		t.Fatal(err)
	}
	expect("synchronised again", check(), ReaderOK)

	// Deleted by hand (a restart without an ACL file does the same):
	// missing, and re-created at the next login, same password.
	admin.Do(ctx, "ACL", "DELUSER", "dbfleet_ro_cache-1")
	expect("deleted", check(), ReaderMissing, "does not exist")
	f.grant(t, NewGrant{User: "dev", Instance: "cache-1"})
	if res, err := f.run(t, f.dev, "cache-1", "", "GET key:01"); err != nil || table(res) != "value|1" {
		t.Errorf("GET after the user was deleted: %v %v", res, err)
	}
	expect("re-created", check(), ReaderOK)
	if _, err := f.svc.ShowReader(f.as(f.dev), f.dev, "cache-1"); errkind.Of(err) != errkind.Forbidden {
		t.Errorf("dev shows the reader: %v", err)
	}
}

func slicesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, FormatValue(x))
		}
	}
	return out
}
