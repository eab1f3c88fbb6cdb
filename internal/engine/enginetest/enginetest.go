// Package enginetest is the conformance suite of engine adapters: the
// contract of engine.Driver and engine.Conn that every adapter (mysql,
// postgres, redis) must keep, run against real servers from each
// adapter's own tests:
//
//	func TestConformance(t *testing.T) { enginetest.Run(t, enginetest.Setup{...}) }
//
// What differs by engine (statements, variable names, what a replica
// reports beyond the common fields) is given in Setup; what is the same
// is asserted here once, so a new adapter gets every check by calling Run.
// Checks of an adapter's own conversions and parsers stay beside it.
package enginetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// Setup is what the suite needs to know of one adapter and its servers.
type Setup struct {
	Driver engine.Driver
	// Kinds is what Driver.Kinds must return, in order.
	Kinds []engine.Kind
	// Primary is a server that follows no one; Replicas follow it.
	Primary  engine.Target
	Replicas []engine.Target
	// Secrets are passwords no error message may contain (Primary's is
	// added).
	Secrets []string
	// WrongPasswords are passwords the server must refuse
	// (errkind.Unauthorized), each error naming WhereWords.
	WrongPasswords []string
	// WhereWords are what an error of Open must say besides the address
	// (the engine, the user).
	WhereWords []string

	// Version reports whether Version's answer is this engine's.
	Version func(string) bool
	// Variables are names to ask for (one of them unknown to the server)
	// and the exact answer expected.
	Variables     []string
	WantVariables map[string]string
	// AllVariables is the least number of variables Variables() returns;
	// AllVariable is one of them with its value.
	AllVariables int
	AllVariable  [2]string
	// StatusKeys must be among Status's keys; CheckStatus, if set, checks
	// more.
	StatusKeys  []string
	CheckStatus func(t *testing.T, status map[string]string)

	// Table is the fixture of the Query and Exec checks.
	Table Table

	// BeforeReplication, if set, runs before the replication checks (a
	// write on the primary, waiting for the replicas).
	BeforeReplication func(t *testing.T, primary engine.Conn)
	// ReplicaPorts: whether the primary reports its replicas' ports.
	ReplicaPorts bool
	// ReplicaState is the state the primary reports for a healthy replica
	// ("" for any non-empty one).
	ReplicaState string
	// ReplicaLagBytes: whether the primary reports each replica's lag in
	// bytes.
	ReplicaLagBytes bool
	// CheckPrimary and CheckReplica, if set, check what the engine reports
	// beyond the common fields.
	CheckPrimary func(t *testing.T, p engine.Replication)
	CheckReplica func(t *testing.T, p, r engine.Replication)
}

// Table is a fixture of five rows with ids 1 to 5.
type Table struct {
	// Target is where the fixture lives (a database of its own, a Redis
	// DB number).
	Target engine.Target
	// Create makes the five rows, replacing any left by an earlier run.
	Create func(t *testing.T, c engine.Conn)
	// All reads the five ids in order, one column; None reads no row.
	All, None string
	// Bad does not parse (errkind.Invalid); Duplicate writes a key that
	// exists (errkind.Conflict), "" where the engine has no keys;
	// Missing reads what does not exist (errkind.NotFound), "" where the
	// engine answers an empty result instead.
	Bad, Duplicate, Missing string
	// Sleep runs for seconds (the suite cancels it after 100 ms); "" to
	// skip the check.
	Sleep string
	// Database is the database Create makes (or uses): DatabaseExists must
	// find it, and not find a name that does not exist.
	Database string
	// Streams: the adapter's Conn is an engine.Streamer (checked with the
	// same fixture).
	Streams bool
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, s Setup) {
	s.Secrets = append(s.Secrets, s.Primary.Password)
	t.Run("Kinds", func(t *testing.T) {
		if got := s.Driver.Kinds(); !reflect.DeepEqual(got, s.Kinds) {
			t.Errorf("Kinds() = %v, want %v", got, s.Kinds)
		}
	})
	t.Run("Info", func(t *testing.T) { s.info(t) })
	t.Run("ExecQuery", func(t *testing.T) { s.execQuery(t) })
	if s.Table.Streams {
		t.Run("Stream", func(t *testing.T) { s.stream(t) })
	}
	t.Run("WrongPassword", func(t *testing.T) { s.wrongPassword(t) })
	t.Run("Unreachable", func(t *testing.T) { s.unreachable(t) })
	if len(s.Replicas) > 0 {
		t.Run("Replication", func(t *testing.T) { s.replication(t) })
	}
}

// NoSecrets fails t when err's message holds one of secrets.
func NoSecrets(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error message contains a password: %v", err)
		}
	}
}

// Open opens tg through a Registry holding only d, and closes the
// connection when t ends.
func Open(t testing.TB, d engine.Driver, tg engine.Target, secrets ...string) engine.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := engine.NewRegistry(d).Open(ctx, tg)
	NoSecrets(t, err, append(secrets, tg.Password)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s Setup) open(t *testing.T, tg engine.Target) engine.Conn {
	t.Helper()
	return Open(t, s.Driver, tg, s.Secrets...)
}

func (s Setup) info(t *testing.T) {
	c := s.open(t, s.Primary)
	ctx := context.Background()
	if c.Engine() != s.Primary.Engine {
		t.Errorf("Engine() = %q, want %q", c.Engine(), s.Primary.Engine)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := engine.Inspect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Version(info.Version) {
		t.Errorf("version %q", info.Version)
	}
	// Uptime counts whole seconds and the server may be younger than one.
	for deadline := time.Now().Add(3 * time.Second); info.Uptime <= 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if info.Uptime, err = c.Uptime(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if info.Uptime <= 0 {
		t.Errorf("uptime %v", info.Uptime)
	}

	vars, err := c.Variables(ctx, s.Variables...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vars, s.WantVariables) {
		t.Errorf("Variables(%s) = %v, want %v", strings.Join(s.Variables, ", "), vars, s.WantVariables)
	}
	all, err := c.Variables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k, v := s.AllVariable[0], s.AllVariable[1]; len(all) < s.AllVariables || k != "" && all[k] != v {
		t.Errorf("Variables() has %d entries (want %d or more), %s=%q (want %q)", len(all), s.AllVariables, k, all[k], v)
	}

	status, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range s.StatusKeys {
		if _, ok := status[k]; !ok {
			t.Errorf("status lacks %s", k)
		}
	}
	if s.CheckStatus != nil {
		s.CheckStatus(t, status)
	}
}

// databaseExists runs after Table.Create made tb.Database.
func (s Setup) databaseExists(t *testing.T, c engine.Conn) {
	tb := s.Table
	for name, want := range map[string]bool{tb.Database: true, "dbfleet_no_such_db": false} {
		got, err := engine.DatabaseExists(context.Background(), c, name)
		if err != nil || got != want {
			t.Errorf("DatabaseExists(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func (s Setup) execQuery(t *testing.T) {
	tb := s.Table
	c := s.open(t, tb.Target)
	ctx := context.Background()
	tb.Create(t, c)
	s.databaseExists(t, c)

	for _, tt := range []struct {
		max       int
		wantRows  int
		truncated bool
	}{{0, 5, false}, {3, 3, true}, {5, 5, false}, {10, 5, false}} {
		rows, truncated, err := c.Query(ctx, tt.max, tb.All)
		if err != nil {
			t.Fatal(err)
		}
		if rows.Len() != tt.wantRows || truncated != tt.truncated {
			t.Errorf("maxRows %d: %d rows truncated=%v, want %d %v", tt.max, rows.Len(), truncated, tt.wantRows, tt.truncated)
			continue
		}
		for i := range rows.Len() {
			if got := rows.Int64(i, 0); got != int64(i+1) {
				t.Errorf("maxRows %d: row %d reads %d (%#v), want %d", tt.max, i, got, rows.Values[i], i+1)
			}
		}
	}
	// The connection is usable after a truncated read.
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	empty, truncated, err := c.Query(ctx, 0, tb.None)
	if err != nil || truncated || empty.Values == nil || len(empty.Values) != 0 {
		t.Errorf("empty result: %#v %v %v", empty, truncated, err)
	}

	for _, tt := range []struct {
		stmt string
		kind errkind.Kind
	}{{tb.Bad, errkind.Invalid}, {tb.Duplicate, errkind.Conflict}, {tb.Missing, errkind.NotFound}} {
		if tt.stmt == "" {
			continue
		}
		_, err := c.Exec(ctx, tt.stmt)
		NoSecrets(t, err, s.Secrets...)
		if !errkind.Is(err, tt.kind) {
			t.Errorf("Exec(%q): kind %v, want %v: %v", tt.stmt, errkind.Of(err), tt.kind, err)
		}
		_, _, err = c.Query(ctx, 0, tt.stmt)
		NoSecrets(t, err, s.Secrets...)
		if !errkind.Is(err, tt.kind) {
			t.Errorf("Query(%q): kind %v, want %v: %v", tt.stmt, errkind.Of(err), tt.kind, err)
		}
	}

	if tb.Sleep != "" {
		// A cancelled statement breaks nothing for the next call.
		qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		began := time.Now()
		_, _, err = c.Query(qctx, 0, tb.Sleep)
		cancel()
		if err == nil {
			t.Fatalf("%s finished within 100ms", tb.Sleep)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("%s cancelled after 100ms returned after %s", tb.Sleep, d)
		}
		if rows, _, err := c.Query(ctx, 0, tb.All); err != nil || rows.Len() != 5 {
			t.Errorf("after a cancelled statement: %v, %v", rows, err)
		}
	}
}

func (s Setup) wrongPassword(t *testing.T) {
	for _, pw := range s.WrongPasswords {
		tg := s.Primary
		tg.Password = pw
		_, err := s.Driver.Open(context.Background(), tg)
		if !errkind.Is(err, errkind.Unauthorized) {
			t.Fatalf("password %q: kind %v, want unauthorized: %v", pw, errkind.Of(err), err)
		}
		NoSecrets(t, err, append(s.Secrets, pw)...)
		t.Logf("error: %v", err)
		for _, want := range append([]string{tg.Addr()}, s.WhereWords...) {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
}

func (s Setup) unreachable(t *testing.T) {
	for _, tt := range []struct {
		name string
		port int
	}{
		{"refused", testenv.FreePort(t)},
		{"silent", testenv.SilentPort(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := s.Primary
			tg.Port = tt.port
			tg.ConnectTimeout = time.Second
			began := time.Now()
			_, err := s.Driver.Open(context.Background(), tg)
			if !errkind.Is(err, errkind.Unavailable) {
				t.Errorf("kind %v, want unavailable: %v", errkind.Of(err), err)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("took %s with a 1s connect timeout", d)
			}
			NoSecrets(t, err, s.Secrets...)
			t.Logf("error after %s: %v", time.Since(began).Round(time.Millisecond), err)
			if err != nil && !strings.Contains(err.Error(), tg.Addr()) {
				t.Errorf("error %q does not name %s", err, tg.Addr())
			}
		})
	}
}

func (s Setup) replication(t *testing.T) {
	ctx := context.Background()
	pc := s.open(t, s.Primary)
	if s.BeforeReplication != nil {
		s.BeforeReplication(t, pc)
	}
	p, err := pc.Replication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != engine.RolePrimary || p.ReadOnly || p.Source != nil || p.GTIDCurrent == "" {
		t.Errorf("primary: role %s read_only %v source %+v gtid_current %q", p.Role, p.ReadOnly, p.Source, p.GTIDCurrent)
	}
	if len(p.Replicas) != len(s.Replicas) {
		t.Fatalf("primary sees %d replicas, want %d: %+v", len(p.Replicas), len(s.Replicas), p.Replicas)
	}
	var ports []int
	for _, d := range p.Replicas {
		if d.Host != "127.0.0.1" || d.State == "" || s.ReplicaState != "" && d.State != s.ReplicaState || s.ReplicaLagBytes && d.LagBytes == nil {
			t.Errorf("replica as the primary sees it: %+v", d)
		}
		ports = append(ports, d.Port)
	}
	if s.ReplicaPorts {
		for _, r := range s.Replicas {
			if !slices.Contains(ports, r.Port) {
				t.Errorf("primary does not list replica port %d: %+v", r.Port, p.Replicas)
			}
		}
	}
	if s.CheckPrimary != nil {
		s.CheckPrimary(t, p)
	}

	for _, tg := range s.Replicas {
		r, err := s.open(t, tg).Replication(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Role != engine.RoleReplica || !r.ReadOnly || r.Source == nil {
			t.Fatalf("replica %d: role %s read_only %v source %+v", tg.Port, r.Role, r.ReadOnly, r.Source)
		}
		src := r.Source
		if src.Host != "127.0.0.1" || src.Port != s.Primary.Port || !src.IORunning || !src.SQLRunning ||
			src.LagSeconds == nil || src.LastError != "" {
			t.Errorf("replica %d source: %+v", tg.Port, src)
		}
		if len(r.Replicas) != 0 {
			t.Errorf("replica %d has replicas: %+v", tg.Port, r.Replicas)
		}
		if s.CheckReplica != nil {
			s.CheckReplica(t, p, r)
		}
	}
}

// stream checks engine.Streamer on the Table fixture: rows in order, an
// empty result, errors classified, an early Close and a cancelled
// statement leave the connection usable.
func (s Setup) stream(t *testing.T) {
	tb := s.Table
	c := s.open(t, tb.Target)
	ctx := context.Background()
	tb.Create(t, c)
	st, ok := c.(engine.Streamer)
	if !ok {
		t.Fatalf("%T is not an engine.Streamer", c)
	}
	read := func(stmt string, stop int) ([]int64, error) {
		t.Helper()
		rs, err := st.Stream(ctx, stmt)
		if err != nil {
			return nil, err
		}
		if len(rs.Columns()) != 1 || len(rs.ColumnTypes()) != 1 {
			t.Errorf("%s: columns %q types %q, want one each", stmt, rs.Columns(), rs.ColumnTypes())
		}
		var ids []int64
		for rs.Next() {
			v, ok := engine.Int64(rs.Row()[0])
			if !ok {
				t.Errorf("%s: row %#v does not read as an integer", stmt, rs.Row())
			}
			ids = append(ids, v)
			if len(ids) == stop {
				break
			}
		}
		err = rs.Err()
		if cerr := rs.Close(); cerr != nil && err == nil {
			err = cerr
		}
		return ids, err
	}
	if ids, err := read(tb.All, -1); err != nil || !slices.Equal(ids, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("stream all: %v, %v", ids, err)
	}
	if ids, err := read(tb.All, 2); err != nil || !slices.Equal(ids, []int64{1, 2}) {
		t.Errorf("stream closed after 2 rows: %v, %v", ids, err)
	}
	if ids, err := read(tb.None, -1); err != nil || len(ids) != 0 {
		t.Errorf("stream none: %v, %v", ids, err)
	}
	_, err := read(tb.Bad, -1)
	NoSecrets(t, err, s.Secrets...)
	if !errkind.Is(err, errkind.Invalid) {
		t.Errorf("Stream(%q): kind %v, want invalid: %v", tb.Bad, errkind.Of(err), err)
	}
	if tb.Sleep != "" {
		qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		rs, err := st.Stream(qctx, tb.Sleep)
		if err == nil {
			for rs.Next() {
			}
			err = rs.Err()
			rs.Close()
		}
		cancel()
		if err == nil {
			t.Errorf("%s streamed within 100ms", tb.Sleep)
		}
	}
	if ids, err := read(tb.All, -1); err != nil || len(ids) != 5 {
		t.Errorf("stream after the others: %v, %v", ids, err)
	}
}
