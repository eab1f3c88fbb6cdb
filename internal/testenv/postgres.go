package testenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

const postgresHint = "apt-get install postgresql"

// Postgres is a running (or stopped) throwaway PostgreSQL server.
type Postgres struct {
	Host string
	Port int
	// User/Password: a superuser; TCP connections authenticate with
	// scram-sha-256, unix-socket connections (SocketDir) are trusted.
	User, Password string
	DataDir        string
	SocketDir      string

	proc *process
	bins pgBins
	cred *syscall.Credential
}

// LogPath is the server's log file (its stderr): what log_statement and
// the other logging settings write.
func (p *Postgres) LogPath() string { return p.proc.out }

type pgBins struct{ dir string }

func (b pgBins) path(name string) string { return filepath.Join(b.dir, name) }

// findPostgres looks for postgres and initdb side by side on PATH, then in
// /usr/lib/postgresql/<version>/bin, newest first.
func findPostgres() (pgBins, bool) {
	var dirs []string
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(matches, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	dirs = append(dirs, matches...)
	for _, d := range dirs {
		ok := true
		for _, name := range []string{"postgres", "initdb"} {
			if fi, err := os.Stat(filepath.Join(d, name)); err != nil || fi.IsDir() {
				ok = false
			}
		}
		if ok {
			return pgBins{dir: d}, true
		}
	}
	return pgBins{}, false
}

// pgVersion extracts 15 from /usr/lib/postgresql/15/bin (0 if none).
func pgVersion(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func requirePostgres(t testing.TB) (pgBins, *syscall.Credential) {
	t.Helper()
	SkipShort(t)
	bins, ok := findPostgres()
	if !ok {
		missing(t, "postgres or initdb", postgresHint)
	}
	cred, err := postgresCredential()
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	return bins, cred
}

// postgresCredential is whom to run PostgreSQL as: ourselves, or the
// "postgres" account when we are root (PostgreSQL refuses to run as root).
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a 'postgres' account to run the server as: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres account has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// chownTo gives path to cred's user (no-op without a credential).
func chownTo(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

func credIDs(cred *syscall.Credential) (int, int) {
	if cred == nil {
		return -1, -1
	}
	return int(cred.Uid), int(cred.Gid)
}

// StartPostgres starts a PostgreSQL server and waits until its superuser
// can log in over TCP.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bins, cred := requirePostgres(t)
	began := time.Now()
	p, base, err := newPostgres(t, bins, cred)
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	p.User, p.Password = "dbfleet", secret("secret-")
	if err := initPostgresData(bins, cred, p.DataDir); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	if err := p.startNew(base); err != nil {
		t.Fatal(p.proc.failure(fmt.Errorf("postgres in %s: %w", base, err)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.socketExec(ctx, "ALTER ROLE "+pgx.Identifier{p.User}.Sanitize()+" PASSWORD "+pgLiteral(p.Password)); err != nil {
		t.Fatal(p.proc.failure(fmt.Errorf("%s: set password: %w", p.where(), err)))
	}
	t.Logf("testenv: postgres %d ready in %s", p.Port, time.Since(began).Round(time.Millisecond))
	return p
}

// StartPostgresReplica starts a streaming replica of primary, cloned with
// pg_basebackup -R, and waits until it streams.
func StartPostgresReplica(t testing.TB, primary *Postgres) *Postgres {
	t.Helper()
	bins, cred := requirePostgres(t)
	began := time.Now()
	p, base, err := newPostgres(t, bins, cred)
	if err != nil {
		t.Fatalf("testenv: postgres replica: %v", err)
	}
	p.User, p.Password = primary.User, primary.Password

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.path("pg_basebackup"),
		"-h", primary.Host, "-p", strconv.Itoa(primary.Port), "-U", primary.User,
		"-D", p.DataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync", "-w")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+primary.Password)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: postgres replica: pg_basebackup from %s: %v\n%s", primary.where(), err, lastLines(string(out), 20))
	}
	if err := p.startNew(base); err != nil {
		t.Fatal(p.proc.failure(fmt.Errorf("postgres replica in %s: %w", base, err)))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, err := p.socketQuery(ctx, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")
		if err == nil && status == "streaming" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(p.proc.failure(fmt.Errorf("%s: not streaming from %s after 30s (status %q, %v)", p.where(), primary.where(), status, err)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("testenv: postgres replica %d of %d ready in %s", p.Port, primary.Port, time.Since(began).Round(time.Millisecond))
	return p
}

// newPostgres makes the server's directory (owned by the account the
// server runs as) and registers the cleanups.
func newPostgres(t testing.TB, bins pgBins, cred *syscall.Credential) (*Postgres, string, error) {
	base, err := tempBase(t, "postgres")
	if err != nil {
		return nil, "", err
	}
	if err := chownTo(base, cred); err != nil {
		return nil, "", fmt.Errorf("chown %s: %w", base, err)
	}
	p := &Postgres{Host: "127.0.0.1", DataDir: filepath.Join(base, "data"), SocketDir: base, bins: bins, cred: cred}
	p.proc = &process{
		name:    "postgres",
		path:    bins.path("postgres"),
		cred:    cred,
		out:     filepath.Join(base, "postgres.log"),
		logs:    []string{filepath.Join(base, "postgres.log")},
		stopSig: syscall.SIGINT, // fast shutdown: do not wait for clients
	}
	p.proc.afterKill = func() { removeSysVSegment(p.DataDir) }
	t.Cleanup(p.proc.kill)
	return p, base, nil
}

// startNew starts the server on a free port and waits for it.
func (p *Postgres) startNew(base string) error {
	_, err := startWithRetry(func(port int) error {
		p.Port = port
		p.proc.args = []string{
			"-D", p.DataDir,
			"-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories=" + base,
			"-c", "cluster_name=pg" + strconv.Itoa(port),
			"-c", "fsync=off",
			"-c", "full_page_writes=off",
			"-c", "shared_buffers=16MB",
			"-c", "max_connections=50",
			"-c", "wal_keep_size=64MB",
			"-c", "logging_collector=off",
			// Dynamic shared memory in files under the data directory, not
			// /dev/shm/PostgreSQL.*: a killed server leaves nothing behind.
			"-c", "dynamic_shared_memory_type=mmap",
			"-c", "timezone=UTC",
		}
		_ = os.Truncate(p.proc.out, 0)
		if err := p.proc.start(); err != nil {
			return err
		}
		err := p.proc.waitReady(p.ping)
		if err != nil {
			p.proc.kill()
		}
		return err
	})
	return err
}

// removeSysVSegment removes the small System V shared memory segment that
// a killed postmaster leaves behind (a restart would reuse it, the end of
// the test would not). postmaster.pid's 7th line holds its key and id; the
// segment is removed only when its key matches and, once the killed
// backends are gone, nothing is attached to it.
func removeSysVSegment(datadir string) {
	b, err := os.ReadFile(filepath.Join(datadir, "postmaster.pid"))
	if err != nil {
		return // stopped cleanly, or never started
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return
	}
	key, err1 := strconv.ParseUint(f[0], 10, 32)
	id, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || id < 0 {
		return
	}
	for range 100 {
		var desc unix.SysvShmDesc
		if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil || uint32(desc.Perm.Key) != uint32(key) {
			return // gone already, or the id now belongs to someone else
		}
		if desc.Nattch == 0 {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			return
		}
		time.Sleep(20 * time.Millisecond) // killed backends still exiting
	}
}

func initPostgresData(bins pgBins, cred *syscall.Credential, datadir string) error {
	uid, gid := credIDs(cred)
	tmpl, terr := postgresTemplate()
	if terr == nil {
		if err := copyTree(tmpl, datadir, uid, gid); err != nil {
			return fmt.Errorf("copy template %s: %w", tmpl, err)
		}
		return nil
	}
	if err := initdb(bins, cred, datadir); err != nil {
		return fmt.Errorf("%w (no template either: %v)", err, terr)
	}
	return nil
}

func buildPostgresTemplate() (string, error) {
	bins, ok := findPostgres()
	if !ok {
		return "", fmt.Errorf("postgres binaries not found")
	}
	cred, err := postgresCredential()
	if err != nil {
		return "", err
	}
	return cachedTemplate("postgres-"+binaryKey(bins.path("postgres"), bins.path("initdb")), func(stage string) error {
		// initdb runs as the server account, which may not be able to
		// reach the cache (root's home); initialise under /tmp, then copy.
		tmp, err := os.MkdirTemp(tempRoot(), "dbfleet-initdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := ownDir(tmp); err != nil {
			return err
		}
		if err := chownTo(tmp, cred); err != nil {
			return err
		}
		if err := initdb(bins, cred, filepath.Join(tmp, "data")); err != nil {
			return err
		}
		return copyTree(filepath.Join(tmp, "data"), filepath.Join(stage, "data"), -1, -1)
	})
}

// initdb creates a cluster whose superuser "dbfleet" has no password yet;
// StartPostgres sets a fresh one through the trusted unix socket.
func initdb(bins pgBins, cred *syscall.Credential, datadir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.path("initdb"),
		"-D", datadir, "-U", "dbfleet", "-E", "UTF8", "--locale=C",
		"--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync",
		"--wal-segsize=1") // 1 MB WAL segments: a 16 times smaller data directory to copy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb -D %s: %w\n%s", datadir, err, lastLines(string(out), 30))
	}
	return nil
}

func (p *Postgres) where() string { return fmt.Sprintf("postgres 127.0.0.1:%d", p.Port) }

// kv quotes a keyword/value connection-string value.
func kv(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// pgLiteral quotes s as a standard-conforming SQL string literal.
func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// socketConfig connects through the unix socket, where local trust applies.
func (p *Postgres) socketConfig(db string) (*pgx.ConnConfig, error) {
	return pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable connect_timeout=5",
		kv(p.SocketDir), p.Port, kv(p.User), kv(db)))
}

func (p *Postgres) ping(ctx context.Context) error {
	cfg, err := p.socketConfig("postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (p *Postgres) socketExec(ctx context.Context, stmt string) error {
	cfg, err := p.socketConfig("postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func (p *Postgres) socketQuery(ctx context.Context, q string) (string, error) {
	cfg, err := p.socketConfig("postgres")
	if err != nil {
		return "", err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, q).Scan(&s)
	return s, err
}

// URL is postgres://user:pass@127.0.0.1:port/db?sslmode=disable.
func (p *Postgres) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(p.User, p.Password),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates a fresh, empty database, to isolate a test.
func (p *Postgres) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		t.Fatalf("testenv: %s: connect: %v", p.where(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: %s: create database %q: %v", p.where(), name, err)
	}
}

// Kill sends SIGKILL to the server and its backends, as a crash would.
func (p *Postgres) Kill(t testing.TB) {
	t.Helper()
	p.proc.kill()
}

// Stop shuts the server down (fast shutdown).
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.proc.stop(time.Minute); err != nil {
		t.Fatal(p.proc.failure(fmt.Errorf("%s: stop: %w", p.where(), err)))
	}
}

// Start restarts a stopped or killed server on the same port and data
// directory, and waits until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.proc.start(); err != nil {
		t.Fatal(p.proc.failure(fmt.Errorf("%s: %w", p.where(), err)))
	}
	if err := p.proc.waitReady(p.ping); err != nil {
		p.proc.kill()
		t.Fatal(p.proc.failure(fmt.Errorf("%s: restart: %w", p.where(), err)))
	}
}
