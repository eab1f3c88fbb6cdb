package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const redisHint = "apt-get install redis-server"

// Redis is a running (or stopped) throwaway redis-server without
// persistence (--save "" --appendonly no, replication snapshots deleted):
// a restart starts empty, and a replica then resyncs from its primary.
type Redis struct {
	Host     string
	Port     int
	Password string // requirepass, and masterauth for when it replicates

	proc *process
}

// RedisOption changes how StartRedis starts a server.
type RedisOption func(*redisConfig)

type redisConfig struct {
	password string
	args     []string
}

// RedisArgs appends redis-server options (e.g. "--maxmemory", "10mb"); they
// come last and so override the defaults.
func RedisArgs(args ...string) RedisOption {
	return func(c *redisConfig) { c.args = append(c.args, args...) }
}

// RedisPassword sets requirepass (default: random).
func RedisPassword(password string) RedisOption {
	return func(c *redisConfig) { c.password = password }
}

func requireRedis(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	p, ok := lookBinary("redis-server", "/usr/bin", "/usr/local/bin")
	if !ok {
		missing(t, "redis-server", redisHint)
	}
	return p
}

// StartRedis starts a redis-server and waits until it answers PING.
func StartRedis(t testing.TB, opts ...RedisOption) *Redis {
	t.Helper()
	return startRedis(t, nil, opts...)
}

// StartRedisReplica starts a replica of primary (REPLICAOF, masterauth and
// requirepass set to primary's password) and waits until its
// master_link_status is up and the primary lists it as online.
func StartRedisReplica(t testing.TB, primary *Redis) *Redis {
	t.Helper()
	return startRedis(t, primary, RedisPassword(primary.Password))
}

func startRedis(t testing.TB, primary *Redis, opts ...RedisOption) *Redis {
	t.Helper()
	bin := requireRedis(t)
	began := time.Now()
	var cfg redisConfig
	for _, o := range opts {
		o(&cfg)
	}
	base, err := tempBase(t, "redis")
	if err != nil {
		t.Fatalf("testenv: redis: %v", err)
	}
	r := &Redis{Host: "127.0.0.1", Password: cfg.password}
	if r.Password == "" {
		r.Password = secret("secret-")
	}
	r.proc = &process{
		name:    "redis-server",
		path:    bin,
		out:     filepath.Join(base, "redis.log"),
		logs:    []string{filepath.Join(base, "redis.log")},
		stopSig: syscall.SIGTERM,
	}
	t.Cleanup(r.proc.kill)
	_, err = startWithRetry(func(port int) error {
		r.Port = port
		r.proc.args = []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--dir", base,
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--logfile", "",
			"--requirepass", r.Password,
			"--masterauth", r.Password,
			// Disk-based full sync: the primary streams writes to a replica
			// as soon as the snapshot is sent, where after a diskless sync it
			// waits for the replica's first acknowledgement (up to 1 s).
			"--repl-diskless-sync", "no",
			// Delete the snapshots replication writes, so that a restart
			// starts empty instead of loading a stale one.
			"--rdb-del-sync-files", "yes",
		}
		if primary != nil {
			r.proc.args = append(r.proc.args, "--replicaof", primary.Host, strconv.Itoa(primary.Port))
		}
		r.proc.args = append(r.proc.args, cfg.args...)
		_ = os.Truncate(r.proc.out, 0) // a retry must not see the last attempt's errors
		if err := r.proc.start(); err != nil {
			return err
		}
		err := r.proc.waitReady(r.ping)
		if err != nil {
			r.proc.kill()
		}
		return err
	})
	if err != nil {
		t.Fatal(r.proc.failure(fmt.Errorf("redis in %s: %w", base, err)))
	}
	if primary != nil {
		r.waitLinkUp(t, primary)
	}
	t.Logf("testenv: redis %d ready in %s", r.Port, time.Since(began).Round(time.Millisecond))
	return r
}

// Addr is host:port.
func (r *Redis) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Client returns a go-redis client, closed when the test ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := r.client()
	t.Cleanup(func() { c.Close() })
	return c
}

func (r *Redis) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            r.Addr(),
		Password:        r.Password,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		DialerRetries:   1,
		DialTimeout:     5 * time.Second,
	})
}

func (r *Redis) ping(ctx context.Context) error {
	_, err := r.do(ctx, "PING")
	return err
}

// do runs one command on a fresh connection after AUTH, speaking just
// enough RESP for PING and INFO. (go-redis would log every refused dial
// while a server starts.)
func (r *Redis) do(ctx context.Context, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var b strings.Builder
	for _, cmd := range [][]string{{"AUTH", r.Password}, args} {
		fmt.Fprintf(&b, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	br := bufio.NewReader(conn)
	if _, err := readReply(br); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return readReply(br)
}

// readReply reads a simple string, error, integer or bulk string reply.
func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("%s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// waitLinkUp waits until the replica's link is up and the primary lists
// it as online (past the initial sync, receiving the write stream).
func (r *Redis) waitLinkUp(t testing.TB, primary *Redis) {
	t.Helper()
	online := fmt.Sprintf("port=%d,state=online", r.Port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := r.do(ctx, "INFO", "replication")
		var pinfo string
		if err == nil && strings.Contains(info, "master_link_status:up") {
			pinfo, err = primary.do(ctx, "INFO", "replication")
		}
		cancel()
		if err == nil && strings.Contains(pinfo, online) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(r.proc.failure(fmt.Errorf("redis %s: not an online replica of %s after 30s (%v)\nreplica: %s\nprimary: %s",
				r.Addr(), primary.Addr(), err, info, pinfo)))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the server.
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	r.proc.kill()
}

// Stop shuts the server down.
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	if err := r.proc.stop(time.Minute); err != nil {
		t.Fatal(r.proc.failure(fmt.Errorf("redis %s: stop: %w", r.Addr(), err)))
	}
}

// Start restarts a stopped or killed server on the same port (empty: there
// is no persistence); a replica reconnects to its primary.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.proc.start(); err != nil {
		t.Fatal(r.proc.failure(fmt.Errorf("redis %s: %w", r.Addr(), err)))
	}
	if err := r.proc.waitReady(r.ping); err != nil {
		r.proc.kill()
		t.Fatal(r.proc.failure(fmt.Errorf("redis %s: restart: %w", r.Addr(), err)))
	}
}
