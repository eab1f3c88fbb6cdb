package query

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	redisengine "github.com/dbfleet/dbfleet/internal/engine/redis"
)

// redisRunner runs one Redis command given as words.
type redisRunner func(ctx context.Context, maxRows int, words ...string) (*engine.Rows, bool, error)

// redisSpec is one allowed command: how many arguments, and how its reply
// is bounded by the row limit.
type redisSpec struct {
	min, max int    // arguments after the name; max -1: any
	size     string // a whole collection is returned: its size command (HLEN...)
	what     string // what the size counts, for messages
	rangeOf  string // LRANGE/ZRANGE: the length command for negative indexes
	scan     bool   // SCAN family: cursor, MATCH, COUNT, TYPE
	pairs    string // reply alternates two columns: their names "a,b"
	manyKeys bool   // the arguments are keys (or fields) each giving a row
}

var redisAllowed = map[string]redisSpec{
	"GET":         {min: 1, max: 1},
	"MGET":        {min: 1, max: -1, manyKeys: true},
	"STRLEN":      {min: 1, max: 1},
	"GETRANGE":    {min: 3, max: 3},
	"GETBIT":      {min: 2, max: 2},
	"BITCOUNT":    {min: 1, max: 4},
	"BITPOS":      {min: 2, max: 5},
	"EXISTS":      {min: 1, max: -1, manyKeys: true},
	"TYPE":        {min: 1, max: 1},
	"TTL":         {min: 1, max: 1},
	"PTTL":        {min: 1, max: 1},
	"EXPIRETIME":  {min: 1, max: 1},
	"PEXPIRETIME": {min: 1, max: 1},
	"HGET":        {min: 2, max: 2},
	"HMGET":       {min: 2, max: -1, manyKeys: true},
	"HEXISTS":     {min: 2, max: 2},
	"HLEN":        {min: 1, max: 1},
	"HSTRLEN":     {min: 2, max: 2},
	"HGETALL":     {min: 1, max: 1, size: "HLEN", what: "fields", pairs: "field,value"},
	"HKEYS":       {min: 1, max: 1, size: "HLEN", what: "fields"},
	"HVALS":       {min: 1, max: 1, size: "HLEN", what: "fields"},
	"HSCAN":       {min: 2, max: -1, scan: true, pairs: "field,value"},
	"LLEN":        {min: 1, max: 1},
	"LINDEX":      {min: 2, max: 2},
	"LRANGE":      {min: 3, max: 3, rangeOf: "LLEN"},
	"SCARD":       {min: 1, max: 1},
	"SISMEMBER":   {min: 2, max: 2},
	"SMISMEMBER":  {min: 2, max: -1, manyKeys: true},
	"SMEMBERS":    {min: 1, max: 1, size: "SCARD", what: "members"},
	"SSCAN":       {min: 2, max: -1, scan: true},
	"ZCARD":       {min: 1, max: 1},
	"ZSCORE":      {min: 2, max: 2},
	"ZMSCORE":     {min: 2, max: -1, manyKeys: true},
	"ZRANK":       {min: 2, max: 3},
	"ZREVRANK":    {min: 2, max: 3},
	"ZCOUNT":      {min: 3, max: 3},
	"ZLEXCOUNT":   {min: 3, max: 3},
	"ZRANGE":      {min: 3, max: 4, rangeOf: "ZCARD"},
	"ZREVRANGE":   {min: 3, max: 4, rangeOf: "ZCARD"},
	"ZSCAN":       {min: 2, max: -1, scan: true, pairs: "member,score"},
	"XLEN":        {min: 1, max: 1},
	"SCAN":        {min: 1, max: -1, scan: true},
	"DBSIZE":      {min: 0, max: 0},
	"INFO":        {min: 0, max: -1},
	"PING":        {min: 0, max: 1},
	"TIME":        {min: 0, max: 0},
	"OBJECT":      {min: 1, max: 2},
	"MEMORY":      {min: 2, max: 4},
}

var redisRefused = map[string]string{
	"KEYS":         "walks every key and blocks the server; use SCAN 0 MATCH pattern COUNT n",
	"FLUSHALL":     "deletes every key",
	"FLUSHDB":      "deletes every key",
	"DEBUG":        "can crash or stall the server",
	"MONITOR":      "streams every command of every client",
	"SUBSCRIBE":    "blocks the connection",
	"PSUBSCRIBE":   "blocks the connection",
	"SSUBSCRIBE":   "blocks the connection",
	"EVAL":         "runs a script the checks cannot see",
	"EVALSHA":      "runs a script the checks cannot see",
	"EVAL_RO":      "runs a script the checks cannot see",
	"EVALSHA_RO":   "runs a script the checks cannot see",
	"FCALL":        "runs a function the checks cannot see",
	"FCALL_RO":     "runs a function the checks cannot see",
	"SCRIPT":       "manages scripts",
	"FUNCTION":     "manages functions",
	"CONFIG":       "reads or changes the server's configuration (passwords included)",
	"SHUTDOWN":     "stops the server",
	"CLIENT":       "manages other clients' connections",
	"ACL":          "manages accounts",
	"SAVE":         "blocks the server while it writes a snapshot",
	"BGSAVE":       "writes a snapshot",
	"BGREWRITEAOF": "rewrites the append-only file",
	"REPLICAOF":    "changes replication",
	"SLAVEOF":      "changes replication",
	"CLUSTER":      "manages the cluster",
	"MIGRATE":      "moves keys to another server",
	"MODULE":       "loads server code",
	"SORT":         "can write (STORE) and is unbounded",
	"SORT_RO":      "is unbounded",
	"BLPOP":        "blocks", "BRPOP": "blocks", "BLMOVE": "blocks", "BRPOPLPUSH": "blocks", "BZPOPMIN": "blocks",
	"BZPOPMAX": "blocks", "BLMPOP": "blocks", "BZMPOP": "blocks", "XREAD": "can block", "XREADGROUP": "writes and can block",
	"WAIT": "blocks", "WAITAOF": "blocks",
	"PFCOUNT": "may write (it caches the estimate)",
	"SELECT":  "changes the connection's database; choose INSTANCE/DB instead",
}

// planRedis checks one Redis command line against the read-only subset.
func planRedis(line string, limit int) (*plan, error) {
	split, err := redisengine.SplitArgs(line)
	if err != nil {
		return nil, refuseInvalid("cannot read the command: %v", err)
	}
	words := make([]string, len(split))
	for i, w := range split {
		words[i] = w.Text
	}
	if len(words) == 0 {
		return nil, refuseInvalid("empty command")
	}
	name := strings.ToUpper(words[0])
	args := words[1:]
	spec, ok := redisAllowed[name]
	if !ok {
		if why, bad := redisRefused[name]; bad {
			return nil, refuse("Redis %s is not allowed: it %s", name, why)
		}
		return nil, refuse("Redis %s is not in the read-only command subset (GET, MGET, HGET, HGETALL, LRANGE, SMEMBERS, ZRANGE, SCAN, TTL, TYPE, EXISTS, INFO, DBSIZE...)", name)
	}
	if len(args) < spec.min || spec.max >= 0 && len(args) > spec.max {
		return nil, refuseInvalid("Redis %s takes %s", name, argCount(spec))
	}
	p := &plan{kind: KindRedis, sql: line, access: []access{{}}, words: append([]string{name}, args...)}
	switch name {
	case "OBJECT":
		switch strings.ToUpper(args[0]) {
		case "ENCODING", "REFCOUNT", "IDLETIME", "FREQ":
		default:
			return nil, refuse("Redis OBJECT %s is not allowed (ENCODING, REFCOUNT, IDLETIME, FREQ are)", args[0])
		}
	case "MEMORY":
		if !strings.EqualFold(args[0], "USAGE") {
			return nil, refuse("Redis MEMORY %s is not allowed (MEMORY USAGE key is)", args[0])
		}
	case "ZRANGE", "ZREVRANGE":
		if len(args) == 4 {
			if !strings.EqualFold(args[3], "WITHSCORES") {
				return nil, refuse("Redis %s: only the WITHSCORES option is allowed (ranges by index)", name)
			}
			spec.pairs = "member,score"
		}
	}
	if spec.manyKeys && len(args) > limit {
		return nil, refuse("Redis %s of %d keys is more than the row limit %d", name, len(args), limit)
	}
	if spec.scan {
		if err := boundScan(p, spec, limit); err != nil {
			return nil, err
		}
	}
	checks, err := redisSizeChecks(name, spec, args, limit)
	if err != nil {
		return nil, err
	}
	if len(checks) > 0 {
		p.check = func(ctx context.Context, run redisRunner) error {
			for _, c := range checks {
				if err := c(ctx, run); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if spec.pairs != "" || spec.scan || name == "INFO" {
		p.reshape = reshapeRedis(name, spec, limit)
	}
	return p, nil
}

type redisCheck func(ctx context.Context, run redisRunner) error

// redisSizeChecks bound what a command reads before it runs: element
// counts by the row limit, and bytes by maxRedisValue, for one value and
// for the whole reply (the sum of the values of MGET, HMGET, or all of a
// collection read by HGETALL, LRANGE, a SCAN page...). Sizes come from
// commands that answer a number without reading the data (STRLEN,
// HSTRLEN, MEMORY USAGE); a reply whose size cannot be known that way is
// refused.
func redisSizeChecks(name string, spec redisSpec, args []string, limit int) ([]redisCheck, error) {
	var checks []redisCheck
	switch name {
	case "GET", "HGET": // one value, but values can be huge
		sizeArgs := []string{"STRLEN", args[0]}
		if name == "HGET" {
			sizeArgs = []string{"HSTRLEN", args[0], args[1]}
		}
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			n, err := redisInt(ctx, run, sizeArgs...)
			if err != nil {
				return err
			}
			if n > maxRedisValue {
				return refuse("the value is %d bytes, more than the %d shown at once: use GETRANGE (strings) to read part of it", n, maxRedisValue)
			}
			return nil
		})
	case "GETRANGE":
		start, err1 := strconv.ParseInt(args[1], 10, 64)
		end, err2 := strconv.ParseInt(args[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, refuseInvalid("Redis GETRANGE wants integer start and end offsets")
		}
		key := args[0]
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			n, err := redisInt(ctx, run, "STRLEN", key)
			if err != nil {
				return err
			}
			if size := rangeBytes(n, start, end); size > maxRedisValue {
				return refuse("GETRANGE %s %d %d reads %d bytes, more than the %d shown at once: read at most %d bytes at a time", key, start, end, size, maxRedisValue, maxRedisValue)
			}
			return nil
		})
	case "MGET", "HMGET":
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			var total int64
			for _, a := range redisValueSizes(name, args) {
				n, err := redisInt(ctx, run, a...)
				if redisengine.IsWrongType(err) {
					continue // MGET answers nil for a key that holds no string
				}
				if err != nil {
					return err
				}
				if total += n; total > maxRedisValue {
					return refuse("%s would read more than %d bytes (%s of %s is %d bytes): ask for fewer or smaller values", name, maxRedisValue, a[0], strings.Join(a[1:], " "), n)
				}
			}
			return nil
		})
	}
	if spec.size != "" {
		key := args[0]
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			n, err := redisInt(ctx, run, spec.size, key)
			if err != nil {
				return err
			}
			if n > int64(limit) {
				scan := map[string]string{"HLEN": "HSCAN", "SCARD": "SSCAN"}[spec.size]
				return refuse("%s has %d %s, more than the row limit %d: use %s %s 0 COUNT %d", key, n, spec.what, limit, scan, key, min(limit, 100))
			}
			return boundKey(ctx, run, name, key, n)
		})
	}
	if spec.rangeOf != "" {
		start, err1 := strconv.ParseInt(args[1], 10, 64)
		stop, err2 := strconv.ParseInt(args[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, refuseInvalid("Redis %s wants integer start and stop indexes", name)
		}
		key, lenCmd := args[0], spec.rangeOf
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			n, err := redisInt(ctx, run, lenCmd, key)
			if err != nil {
				return err
			}
			from, to := start, stop
			if from < 0 {
				from = max(n+from, 0)
			}
			if to < 0 {
				to = n + to
			}
			if count := to - from + 1; count > int64(limit) {
				return refuse("%s %s %d %d asks for %d elements, more than the row limit %d: narrow the range", name, key, from, to, count, limit)
			}
			return boundKey(ctx, run, name, key, n)
		})
	}
	if name == "LINDEX" || spec.scan && name != "SCAN" {
		key, lenCmd := args[0], map[string]string{"LINDEX": "LLEN", "HSCAN": "HLEN", "SSCAN": "SCARD", "ZSCAN": "ZCARD"}[name]
		checks = append(checks, func(ctx context.Context, run redisRunner) error {
			n, err := redisInt(ctx, run, lenCmd, key)
			if err != nil {
				return err
			}
			return boundKey(ctx, run, name, key, n)
		})
	}
	return checks, nil
}

// redisValueSizes are the commands that size each value MGET or HMGET
// reads.
func redisValueSizes(name string, args []string) [][]string {
	var out [][]string
	if name == "MGET" {
		for _, k := range args {
			out = append(out, []string{"STRLEN", k})
		}
		return out
	}
	for _, f := range args[1:] {
		out = append(out, []string{"HSTRLEN", args[0], f})
	}
	return out
}

// rangeBytes is how many bytes GETRANGE start end reads of a string of n
// bytes, with Redis' rules for negative and out-of-range offsets.
func rangeBytes(n, start, end int64) int64 {
	if n == 0 {
		return 0
	}
	if start < 0 {
		start = n + start
	}
	if end < 0 {
		end = n + end
	}
	start, end = max(start, 0), max(end, 0)
	end = min(end, n-1)
	if start > end {
		return 0
	}
	return end - start + 1
}

// redisElementSlack is the room allowed per element for what a reply
// holds beyond the element's memory: numbers stored as integers but sent
// as text, and scores.
const redisElementSlack = 64

// redisExactSizeMax is the most elements whose memory is added up exactly
// (MEMORY USAGE ... SAMPLES 0 walks them all, so it is bounded to keep the
// server responsive); lists are walked by node, not element, so they have
// no such bound.
const redisExactSizeMax = 100_000

// boundKey refuses a command that reads from key (all of it, or a range or
// page whose elements' sizes Redis cannot tell without reading them) unless
// all of key fits in what one reply may hold: its memory, walked exactly,
// plus redisElementSlack per element.
func boundKey(ctx context.Context, run redisRunner, name, key string, elements int64) error {
	if elements == 0 {
		return nil
	}
	typ, err := redisString(ctx, run, "TYPE", key)
	if err != nil {
		return err
	}
	if typ != "list" && elements > redisExactSizeMax {
		return refuse("%s has %d elements: the size of what %s reads cannot be bounded without reading them (the limit is %d bytes per reply); read single values (HGET, ZSCORE...) instead", key, elements, name, maxRedisValue)
	}
	mem, err := redisInt(ctx, run, "MEMORY", "USAGE", key, "SAMPLES", "0")
	if err != nil {
		return err
	}
	if bound := mem + elements*redisElementSlack; bound > maxRedisValue {
		return refuse("%s holds about %d bytes (MEMORY USAGE), more than the %d one reply may hold, and Redis cannot tell the size of its elements without reading them, so %s on it is not run; read single values (HGET, HSTRLEN, ZSCORE...) instead", key, mem, maxRedisValue, name)
	}
	return nil
}

func argCount(s redisSpec) string {
	switch {
	case s.max < 0:
		return fmt.Sprintf("at least %d argument(s)", s.min)
	case s.min == s.max:
		return fmt.Sprintf("%d argument(s)", s.min)
	}
	return fmt.Sprintf("%d to %d arguments", s.min, s.max)
}

// boundScan makes sure a SCAN-family command carries a COUNT no larger
// than the row limit (adding COUNT when missing) and only known options.
func boundScan(p *plan, spec redisSpec, limit int) error {
	name := p.words[0]
	opts := p.words[2:] // after the cursor
	if name != "SCAN" {
		opts = p.words[3:] // after the key and the cursor
	}
	hasCount := false
	for i := 0; i < len(opts); i++ {
		switch strings.ToUpper(opts[i]) {
		case "MATCH", "TYPE":
			i++
		case "COUNT":
			if i+1 >= len(opts) {
				return refuseInvalid("Redis %s: COUNT needs a number", name)
			}
			n, err := strconv.Atoi(opts[i+1])
			if err != nil || n < 1 {
				return refuseInvalid("Redis %s: COUNT wants a positive integer, got %q", name, opts[i+1])
			}
			if n > limit {
				return refuse("Redis %s COUNT %d is more than the row limit %d", name, n, limit)
			}
			hasCount = true
			i++
		case "NOVALUES":
		default:
			return refuse("Redis %s option %q is not allowed (MATCH, COUNT, TYPE)", name, opts[i])
		}
	}
	if !hasCount {
		p.words = append(p.words, "COUNT", strconv.Itoa(min(limit, 100)))
	}
	return nil
}

// maxRedisValue bounds one value read (GET, HGET, GETRANGE) and the sum
// of all the values of one reply (MGET, HGETALL, LRANGE...).
const maxRedisValue = 1 << 20

// redisString runs a command that answers a status or string (TYPE).
func redisString(ctx context.Context, run redisRunner, words ...string) (string, error) {
	rows, _, err := run(ctx, 1, words...)
	if err != nil {
		return "", err
	}
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return "", fmt.Errorf("%s: unexpected reply", strings.Join(words, " "))
	}
	s, ok := rows.Values[0][0].(string)
	if !ok {
		return "", fmt.Errorf("%s: unexpected reply %v", strings.Join(words, " "), rows.Values[0][0])
	}
	return s, nil
}

// redisInt runs a command that answers an integer (a size).
func redisInt(ctx context.Context, run redisRunner, words ...string) (int64, error) {
	rows, _, err := run(ctx, 1, words...)
	if err != nil {
		return 0, err
	}
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return 0, fmt.Errorf("%s: unexpected reply", strings.Join(words, " "))
	}
	if rows.Values[0][0] == nil {
		return 0, nil // MEMORY USAGE of a missing key
	}
	n, ok := rows.Values[0][0].(int64)
	if !ok {
		return 0, fmt.Errorf("%s: unexpected reply %v", strings.Join(words, " "), rows.Values[0][0])
	}
	return n, nil
}

// reshapeRedis turns a flat reply into columns: pairs for HGETALL and
// ZRANGE WITHSCORES, the keys of a SCAN with its next cursor as a note,
// and INFO's "name:value" lines.
func reshapeRedis(name string, spec redisSpec, limit int) func([]string, [][]any) ([]string, [][]any, []string) {
	return func(cols []string, rows [][]any) ([]string, [][]any, []string) {
		var notes []string
		flat := make([]any, 0, len(rows))
		for _, r := range rows {
			if len(r) > 0 {
				flat = append(flat, r[0])
			}
		}
		if spec.scan {
			if len(flat) != 2 {
				return cols, rows, nil
			}
			notes = append(notes, fmt.Sprintf("next cursor: %v (0 when the scan is complete)", flat[0]))
			var items []any
			if s, ok := flat[1].(string); ok && json.Unmarshal([]byte(s), &items) == nil {
				flat = items
			} else {
				flat = nil
			}
			cols = []string{strings.ToLower(map[string]string{"SCAN": "key", "SSCAN": "member"}[name])}
			if spec.pairs == "" && cols[0] == "" {
				cols[0] = "value"
			}
		}
		if name == "INFO" && len(flat) == 1 {
			s, _ := flat[0].(string)
			out := [][]any{}
			for _, line := range strings.Split(s, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				k, v, _ := strings.Cut(line, ":")
				out = append(out, []any{k, v})
			}
			return []string{"name", "value"}, out, notes
		}
		if spec.pairs != "" {
			cols = strings.Split(spec.pairs, ",")
			out := [][]any{}
			for i := 0; i+1 < len(flat); i += 2 {
				out = append(out, []any{flat[i], flat[i+1]})
			}
			return cols, out, notes
		}
		out := make([][]any, len(flat))
		for i, v := range flat {
			out[i] = []any{v}
		}
		return cols, out, notes
	}
}
