// Package redis is the engine adapter for Redis, over
// github.com/redis/go-redis/v9.
//
// A Conn is a small pool speaking RESP2. Statements are commands, split
// into words like redis-cli does; commands that change or hijack a
// connection's state (SELECT, MULTI, SUBSCRIBE, MONITOR...) are refused,
// since the next call may run on another pooled connection.
package redis

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Driver opens Redis connections.
type Driver struct{}

// New returns the Redis driver.
func New() *Driver { return &Driver{} }

// Kinds is redis.
func (*Driver) Kinds() []engine.Kind { return []engine.Kind{engine.Redis} }

// Conn is a connection pool to one server.
type Conn struct {
	client *goredis.Client
	opts   goredis.Options // to ask this replica's master for its offset
	port   int
	where  string // redis://user@host:port, never the password
	secret string // only to redact it from errors
}

var _ engine.Conn = (*Conn)(nil)

// Open connects and authenticates within t.ConnectTimeout (default 5 s).
// Database is the DB number ("" is 0); User is an ACL user (Redis 6+),
// empty or "default" for requirepass.
func (*Driver) Open(ctx context.Context, t engine.Target) (engine.Conn, error) {
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = 5 * time.Second
	}
	c := &Conn{where: t.String(), secret: t.Password}
	db := 0
	if t.Database != "" {
		n, err := strconv.Atoi(t.Database)
		if err != nil || n < 0 {
			return nil, errkind.New(errkind.Invalid, "%s: database %q is not a Redis DB number", c.where, t.Database)
		}
		db = n
	}
	opts := &goredis.Options{
		Addr:                  t.Addr(),
		Password:              t.Password,
		DB:                    db,
		Protocol:              2, // plain replies: strings, integers, arrays
		DisableIdentity:       true,
		DialTimeout:           t.ConnectTimeout,
		DialerRetries:         1,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1, // a command is never sent twice
		PoolSize:              4,
	}
	if t.User != "default" {
		opts.Username = t.User
	}
	c.client = goredis.NewClient(opts)
	c.opts, c.port = *opts, t.Port
	octx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	if err := c.client.Ping(octx).Err(); err != nil {
		c.client.Close()
		if octx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", t.ConnectTimeout, err)
		}
		return nil, c.fail("connect", err)
	}
	return c, nil
}

// fail wraps err with what failed and where, hides the password, and
// classifies it.
func (c *Conn) fail(op string, err error) error {
	return engine.Fail(c.where, c.secret, op, err, classify)
}

// classify maps Redis error prefixes and network failures to kinds.
func classify(err error) errkind.Kind {
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		switch {
		case goredis.IsAuthError(err), hasAnyPrefix(msg, "WRONGPASS", "NOAUTH", "ERR invalid password", "ERR AUTH", "ERR Client sent AUTH"):
			return errkind.Unauthorized
		case hasAnyPrefix(msg, "NOPERM"):
			return errkind.Forbidden
		case hasAnyPrefix(msg, "LOADING", "MASTERDOWN", "BUSY ", "TRYAGAIN"):
			return errkind.Unavailable
		case hasAnyPrefix(msg, "ERR unknown command", "ERR wrong number of arguments", "ERR syntax error",
			"WRONGTYPE", "ERR value is not", "ERR unknown subcommand", "ERR invalid"):
			return errkind.Invalid
		}
		return errkind.Unknown
	}
	if errors.Is(err, goredis.ErrPoolTimeout) || engine.Unreachable(err) {
		return errkind.Unavailable
	}
	return errkind.Unknown
}

// IsWrongType reports whether err is the server's WRONGTYPE answer (the
// key holds a value of another type), read from the server's error in
// err's chain, not from err's text.
func IsWrongType(err error) bool {
	var rerr goredis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "WRONGTYPE")
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Engine is redis.
func (c *Conn) Engine() engine.Kind { return engine.Redis }

// Ping sends PING.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return c.fail("ping", err)
	}
	return nil
}

// info runs INFO [section] and parses its key:value lines.
func (c *Conn) info(ctx context.Context, op string, section ...string) (map[string]string, error) {
	s, err := c.client.Info(ctx, section...).Result()
	if err != nil {
		return nil, c.fail(op, err)
	}
	return parseInfo(s), nil
}

// parseInfo reads INFO output: "# Section" headers, "key:value" lines.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// Version is INFO server's redis_version.
func (c *Conn) Version(ctx context.Context) (string, error) {
	m, err := c.info(ctx, "version", "server")
	if err != nil {
		return "", err
	}
	return m["redis_version"], nil
}

// Uptime is INFO server's uptime_in_seconds.
func (c *Conn) Uptime(ctx context.Context) (time.Duration, error) {
	m, err := c.info(ctx, "uptime", "server")
	if err != nil {
		return 0, err
	}
	secs, err := strconv.ParseInt(m["uptime_in_seconds"], 10, 64)
	if err != nil {
		return 0, c.fail("uptime", fmt.Errorf("parse uptime_in_seconds %q: %w", m["uptime_in_seconds"], err))
	}
	return time.Duration(secs) * time.Second, nil
}

// Variables is CONFIG GET for each name (glob patterns allowed), or
// CONFIG GET * when none is given.
func (c *Conn) Variables(ctx context.Context, names ...string) (map[string]string, error) {
	if len(names) == 0 {
		names = []string{"*"}
	}
	out := map[string]string{}
	for _, n := range names {
		m, err := c.client.ConfigGet(ctx, n).Result()
		if err != nil {
			return nil, c.fail("variables", err)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// Status is every INFO all field, key -> value ("db0" ->
// "keys=1,expires=0,avg_ttl=0").
func (c *Conn) Status(ctx context.Context) (map[string]string, error) {
	return c.info(ctx, "status", "all")
}

// Exec runs one command. Words that are a bare ? take the arguments in
// order; arguments left over are appended. An integer reply becomes
// RowsAffected (DEL, SADD...).
func (c *Conn) Exec(ctx context.Context, stmt string, args ...any) (engine.Result, error) {
	cmd, err := command(stmt, args)
	if err != nil {
		return engine.Result{}, errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: exec: %w", c.where, err))
	}
	v, err := c.client.Do(ctx, cmd...).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return engine.Result{}, c.fail("exec", err)
	}
	var r engine.Result
	if n, ok := v.(int64); ok {
		r.RowsAffected = n
	}
	return r, nil
}

// Query runs one command and returns its reply as one column "value": a
// row per element for an array reply (nested arrays as JSON text), one
// row otherwise (nil for a nil reply).
func (c *Conn) Query(ctx context.Context, maxRows int, stmt string, args ...any) (*engine.Rows, bool, error) {
	cmd, err := command(stmt, args)
	if err != nil {
		return nil, false, errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: query: %w", c.where, err))
	}
	v, err := c.client.Do(ctx, cmd...).Result()
	if errors.Is(err, goredis.Nil) {
		v, err = nil, nil
	}
	if err != nil {
		return nil, false, c.fail("query", err)
	}
	out := &engine.Rows{Columns: []string{"value"}, Values: [][]any{}}
	elems, isArray := v.([]any)
	if !isArray {
		elems = []any{v}
	}
	truncated := false
	for _, e := range elems {
		if maxRows > 0 && len(out.Values) == maxRows {
			truncated = true
			break
		}
		out.Values = append(out.Values, []any{convert(e)})
	}
	return out, truncated, nil
}

// convert keeps strings, integers and nil; nested arrays become JSON.
func convert(v any) any {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return x
	case []any:
		conv := make([]any, len(x))
		for i, e := range x {
			conv[i] = convert(e)
		}
		b, err := json.Marshal(conv)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// refused are commands that would change or take over a pooled
// connection.
var refused = map[string]bool{
	"SELECT": true, "AUTH": true, "HELLO": true, "QUIT": true, "RESET": true,
	"MULTI": true, "EXEC": true, "DISCARD": true, "WATCH": true, "UNWATCH": true,
	"SUBSCRIBE": true, "PSUBSCRIBE": true, "SSUBSCRIBE": true, "UNSUBSCRIBE": true, "PUNSUBSCRIBE": true, "SUNSUBSCRIBE": true,
	"MONITOR": true, "SYNC": true, "PSYNC": true,
}

// command splits stmt into words and fills the placeholders.
func command(stmt string, args []any) ([]any, error) {
	words, err := SplitArgs(stmt)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	if name := strings.ToUpper(words[0].Text); refused[name] && !words[0].Quoted {
		return nil, fmt.Errorf("%s is not allowed here: it changes the connection's state", name)
	}
	cmd := make([]any, 0, len(words)+len(args))
	next := 0
	for _, w := range words {
		if w.Text == "?" && !w.Quoted {
			if next >= len(args) {
				return nil, fmt.Errorf("%d placeholders, %d arguments", countPlaceholders(words), len(args))
			}
			cmd = append(cmd, args[next])
			next++
			continue
		}
		cmd = append(cmd, w.Text)
	}
	return append(cmd, args[next:]...), nil
}

func countPlaceholders(words []Word) int {
	n := 0
	for _, w := range words {
		if w.Text == "?" && !w.Quoted {
			n++
		}
	}
	return n
}

// Word is one word of a command line; Quoted when it was written in
// quotes (a quoted "?" is not a placeholder, a quoted command name is not
// checked).
type Word struct {
	Text   string
	Quoted bool
}

// SplitArgs splits a command line like redis-cli (sdssplitargs): words
// separated by blanks; "double quotes" with \n \r \t \b \a \\ \" \xHH
// escapes; 'single quotes' with \' only. A closing quote must end the
// word. It is the one splitter of Redis command lines: the adapter runs
// what it splits, the query console checks it.
func SplitArgs(s string) ([]Word, error) {
	var out []Word
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		var b strings.Builder
		quoted := false
		for i < len(s) && !isSpace(s[i]) {
			switch s[i] {
			case '"':
				quoted = true
				i++
				closed := false
				for i < len(s) {
					ch := s[i]
					if ch == '"' {
						closed = true
						i++
						break
					}
					if ch == '\\' && i+1 < len(s) {
						i++
						switch e := s[i]; e {
						case 'n':
							ch = '\n'
						case 'r':
							ch = '\r'
						case 't':
							ch = '\t'
						case 'b':
							ch = '\b'
						case 'a':
							ch = '\a'
						case 'x':
							if i+2 < len(s) {
								if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
									ch = byte(v)
									i += 2
									break
								}
							}
							ch = 'x'
						default:
							ch = e
						}
					}
					b.WriteByte(ch)
					i++
				}
				if !closed {
					return nil, errors.New("unbalanced double quotes")
				}
				if i < len(s) && !isSpace(s[i]) {
					return nil, errors.New("closing quote must be followed by a space")
				}
			case '\'':
				quoted = true
				i++
				closed := false
				for i < len(s) {
					if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					if s[i] == '\'' {
						closed = true
						i++
						break
					}
					b.WriteByte(s[i])
					i++
				}
				if !closed {
					return nil, errors.New("unbalanced single quotes")
				}
				if i < len(s) && !isSpace(s[i]) {
					return nil, errors.New("closing quote must be followed by a space")
				}
			default:
				b.WriteByte(s[i])
				i++
			}
		}
		out = append(out, Word{Text: b.String(), Quoted: quoted})
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Close closes the pool.
func (c *Conn) Close() error { return c.client.Close() }

// RouteLogs sends go-redis's own log lines (dial failures, pool notices)
// to log at debug level instead of stderr: the same failures reach callers
// as errors. go-redis keeps one logger per process, so the application
// wiring calls this once.
func RouteLogs(log *slog.Logger) {
	goredis.SetLogger(slogLogger{log})
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
