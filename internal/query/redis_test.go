package query

import (
	"context"
	"fmt"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// Every Redis read is held to the size cap before it reads: one value, and
// the whole reply (MGET of many keys, a hash, list, set or sorted set read
// whole or by range or page). Tested against a real Redis with 3 MB values
// and many keys, in database 5.
func TestRedisReadsAreBounded(t *testing.T) {
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: servers(t).rd.Addr(), Password: servers(t).rd.Password, DB: 5, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	big := strings.Repeat("x", 3<<20)
	mib := strings.Repeat("m", 1<<20)
	kib2 := strings.Repeat("k", 2<<10)
	pipe := rc.Pipeline()
	pipe.FlushDB(ctx)
	pipe.Set(ctx, "big3m", big, 0)
	pipe.Set(ctx, "small", "hello", 0)
	for i := range 600 {
		pipe.Set(ctx, fmt.Sprintf("k:%03d", i), kib2, 0)
	}
	pipe.HSet(ctx, "h3m", "blob", big, "name", "Alice")
	pipe.HSet(ctx, "hsmall", "a", "1", "b", "2")
	pipe.RPush(ctx, "l3m", "first", mib, mib, mib, "last")
	pipe.RPush(ctx, "lsmall", "a", "b", "c")
	pipe.ZAdd(ctx, "z3m", goredis.Z{Score: 1, Member: "one"}, goredis.Z{Score: 2, Member: big})
	pipe.SAdd(ctx, "s3m", "a", big)
	members := make([]goredis.Z, 100_001)
	for i := range members {
		members[i] = goredis.Z{Score: float64(i), Member: fmt.Sprintf("m%06d", i)}
	}
	pipe.ZAdd(ctx, "zhuge", members...)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Config{RowLimit: 1000})
	f.grant(t, NewGrant{User: "dev", Instance: "cache-1", Database: "5"})
	keys := func(n int) string {
		var ks []string
		for i := range n {
			ks = append(ks, fmt.Sprintf("k:%03d", i))
		}
		return strings.Join(ks, " ")
	}
	for _, tc := range []struct{ cmd, want string }{
		{"GETRANGE big3m 0 1023", "value|" + strings.Repeat("x", 1024)},
		{"GETRANGE big3m -3 -1", "value|xxx"},
		{"GETRANGE small 0 -1", "value|hello"},
		{"GETRANGE nokey 0 -1", "value|"},
		{"MGET small hsmall nokey", "value|hello|NULL|NULL"},
		{"HMGET h3m name", "value|Alice"},
		{"HGETALL hsmall", "field,value|a,1|b,2"},
		{"HSCAN hsmall 0", "field,value|a,1|b,2"},
		{"LRANGE lsmall 0 -1", "value|a|b|c"},
		{"LINDEX lsmall 1", "value|b"},
		{"SMEMBERS nokey", "value"},
	} {
		res, err := f.run(t, f.dev, "cache-1", "5", tc.cmd)
		if err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
			continue
		}
		if got := table(res); got != tc.want {
			t.Errorf("%s: %.200s, want %.200s", tc.cmd, got, tc.want)
		}
	}
	if res, err := f.run(t, f.dev, "cache-1", "5", "MGET "+keys(400)); err != nil || len(res.Rows) != 400 {
		t.Errorf("MGET of 400 keys of 2 KiB: %v", err)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"GET big3m", "the value is 3145728 bytes, more than the 1048576 shown at once"},
		{"GETRANGE big3m 0 -1", "GETRANGE big3m 0 -1 reads 3145728 bytes, more than the 1048576"},
		{"GETRANGE big3m 0 1048576", "reads 1048577 bytes"},
		{"MGET big3m", "MGET would read more than 1048576 bytes (STRLEN of big3m is 3145728 bytes)"},
		{"MGET small small small big3m", "MGET would read more than 1048576 bytes"},
		{"MGET " + keys(600), "MGET would read more than 1048576 bytes"},
		{"HGET h3m blob", "more than the 1048576 shown at once"},
		{"HMGET h3m name blob", "HMGET would read more than 1048576 bytes (HSTRLEN of h3m blob is 3145728 bytes)"},
		{"HGETALL h3m", "h3m holds about"},
		{"HVALS h3m", "so HVALS on it is not run"},
		{"HKEYS h3m", "so HKEYS on it is not run"},
		{"HSCAN h3m 0 COUNT 1", "so HSCAN on it is not run"},
		{"LRANGE l3m 0 0", "so LRANGE on it is not run"},
		{"LRANGE l3m -1 -1", "so LRANGE on it is not run"},
		{"LINDEX l3m 1", "so LINDEX on it is not run"},
		{"ZRANGE z3m 0 0", "so ZRANGE on it is not run"},
		{"ZREVRANGE z3m 0 0 WITHSCORES", "so ZREVRANGE on it is not run"},
		{"ZSCAN z3m 0", "so ZSCAN on it is not run"},
		{"SMEMBERS s3m", "so SMEMBERS on it is not run"},
		{"SSCAN s3m 0", "so SSCAN on it is not run"},
		{"ZRANGE zhuge 0 9", "zhuge has 100001 elements: the size of what ZRANGE reads cannot be bounded"},
		{"GETRANGE big3m a b", "integer start and end offsets"},
	} {
		_, err := f.run(t, f.dev, "cache-1", "5", tc.cmd)
		wantRefused(t, tc.cmd[:min(len(tc.cmd), 40)], err, tc.want)
	}
}
