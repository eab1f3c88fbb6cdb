// Package engine is how dbfleet talks to the databases it manages.
//
// One interface, Conn, covers what later capabilities need from any engine:
// version, variables, status counters, replication status in both directions
// (whom this node follows, who follows it), and executing statements.
// Adapters live in sub-packages (mysql, postgres, redis) and are registered
// explicitly in a Registry by the application wiring; adding an engine
// (MongoDB, SQL Server, Elasticsearch...) is a new adapter and one line in
// that list. TiDB speaks the MySQL protocol and is served by the MySQL adapter.
package engine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Kind names a database engine.
type Kind string

// Engines dbfleet knows of. Only those with an adapter registered can be
// connected to; the others are named so the inventory can already hold them.
const (
	MariaDB       Kind = "mariadb"
	MySQL         Kind = "mysql"
	TiDB          Kind = "tidb"
	Postgres      Kind = "postgres"
	Redis         Kind = "redis"
	MongoDB       Kind = "mongodb"
	SQLServer     Kind = "sqlserver"
	Elasticsearch Kind = "elasticsearch"
)

// Known lists every engine name the inventory accepts.
var Known = []Kind{MariaDB, MySQL, TiDB, Postgres, Redis, MongoDB, SQLServer, Elasticsearch}

// ParseKind validates an engine name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Known {
		if string(k) == s {
			return k, nil
		}
	}
	return "", errkind.New(errkind.Invalid, "unknown engine %q (known: mariadb, mysql, tidb, postgres, redis, mongodb, sqlserver, elasticsearch)", s)
}

// Target says where and as whom to connect.
type Target struct {
	Engine   Kind
	Host     string
	Port     int
	User     string
	Password string
	// Database is the default database (MySQL schema, PostgreSQL database,
	// Redis DB number as a string). Empty means the engine's default.
	Database string
	// ConnectTimeout bounds dialling and authentication; zero means 5 s.
	ConnectTimeout time.Duration
}

// Addr is host:port.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String never includes the password.
func (t Target) String() string {
	if t.User == "" {
		return fmt.Sprintf("%s://%s", t.Engine, t.Addr())
	}
	return fmt.Sprintf("%s://%s@%s", t.Engine, t.User, t.Addr())
}

// Role is a node's place in replication as the node itself reports it.
type Role string

// Roles.
const (
	RolePrimary    Role = "primary"    // follows no one, and is writable or has replicas
	RoleReplica    Role = "replica"    // follows a source
	RoleStandalone Role = "standalone" // follows no one, read-only, no replicas attached
)

// Replication is what a node reports about replication, both directions.
type Replication struct {
	Role     Role `json:"role"`
	ReadOnly bool `json:"read_only"`
	// Upstream: set when this node follows a source.
	Source *Upstream `json:"source,omitempty"`
	// Downstream: the replicas this node currently serves, as it sees them.
	Replicas []Downstream `json:"replicas,omitempty"`
	// GTID positions where the engine has them (MariaDB gtid_current_pos,
	// MySQL gtid_executed, PostgreSQL LSN).
	GTIDCurrent string `json:"gtid_current,omitempty"`
	GTIDBinlog  string `json:"gtid_binlog,omitempty"`
	GTIDSlave   string `json:"gtid_slave,omitempty"`
}

// Upstream describes the source this node replicates from.
type Upstream struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// IORunning / SQLRunning: receiver and applier threads (MySQL IO/SQL
	// threads, PostgreSQL walreceiver streaming, Redis master_link_status up).
	IORunning  bool   `json:"io_running"`
	SQLRunning bool   `json:"sql_running"`
	IOState    string `json:"io_state,omitempty"`
	// LagSeconds is the applier's delay; nil when unknown (e.g. threads stopped).
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
	// LagBytes is how far behind the source's position the replica is,
	// where the engine measures it by offset (Redis).
	LagBytes  *int64 `json:"lag_bytes,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// UsingGTID: MariaDB Using_Gtid (Slave_Pos/Current_Pos/No), MySQL Auto_Position.
	UsingGTID string `json:"using_gtid,omitempty"`
}

// Downstream is one replica as its source sees it.
type Downstream struct {
	Host  string `json:"host"`
	Port  int    `json:"port,omitempty"`
	State string `json:"state,omitempty"`
	// LagBytes where the engine reports it (PostgreSQL, Redis offsets).
	LagBytes *int64 `json:"lag_bytes,omitempty"`
}

// Result of Exec.
type Result struct {
	RowsAffected int64 `json:"rows_affected"`
	LastInsertID int64 `json:"last_insert_id,omitempty"`
}

// Rows is a fully read result set. Values are converted to Go types: nil,
// int64, float64, string, []byte for binary, time.Time; engines without
// columns (Redis) use one column named "value".
type Rows struct {
	Columns []string `json:"columns"`
	Values  [][]any  `json:"rows"`
}

// Info is the summary `instance check` shows.
type Info struct {
	Version     string        `json:"version"`
	Uptime      time.Duration `json:"uptime_ns"`
	Replication Replication   `json:"replication"`
	// Warnings name what could not be read although the server answered
	// (see Inspect); the rest of Info is valid.
	Warnings []string `json:"warnings,omitempty"`
}

// Conn is an open connection (or pool) to one managed database.
// All methods honour ctx cancellation.
type Conn interface {
	// Engine reports which engine this connection talks to.
	Engine() Kind
	// Ping checks the server answers.
	Ping(ctx context.Context) error
	// Version is the server's version string (e.g. "10.11.6-MariaDB").
	Version(ctx context.Context) (string, error)
	// Uptime since the server started.
	Uptime(ctx context.Context) (time.Duration, error)
	// Variables returns configuration variables (MySQL SHOW GLOBAL
	// VARIABLES, PostgreSQL pg_settings, Redis CONFIG GET). Names given
	// restrict the result to those; none means all.
	Variables(ctx context.Context, names ...string) (map[string]string, error)
	// Status returns the server's status counters (MySQL SHOW GLOBAL
	// STATUS, PostgreSQL pg_stat_database totals, Redis INFO fields).
	Status(ctx context.Context) (map[string]string, error)
	// Replication reports this node's replication, both directions.
	Replication(ctx context.Context) (Replication, error)
	// Exec runs one statement (Redis: one command, words split like a shell)
	// with optional placeholder arguments.
	Exec(ctx context.Context, stmt string, args ...any) (Result, error)
	// Query runs one statement that returns rows and reads them all, up
	// to maxRows (0 = no limit); truncated reports whether rows were left.
	Query(ctx context.Context, maxRows int, stmt string, args ...any) (rows *Rows, truncated bool, err error)
	// Close releases the connection.
	Close() error
}

// Driver opens connections for one or more engines.
type Driver interface {
	// Kinds lists the engines this driver serves (the MySQL driver serves
	// mysql, mariadb and tidb).
	Kinds() []Kind
	// Open connects and authenticates, within t.ConnectTimeout. Errors are
	// classified: errkind.Unavailable when the server cannot be reached,
	// errkind.Unauthorized for rejected credentials, and never contain the
	// password.
	Open(ctx context.Context, t Target) (Conn, error)
}

// Registry maps engines to drivers. Build it with NewRegistry and an
// explicit list of drivers.
type Registry struct {
	drivers map[Kind]Driver
}

// NewRegistry registers drivers; a later driver for the same kind wins.
func NewRegistry(drivers ...Driver) *Registry {
	r := &Registry{drivers: map[Kind]Driver{}}
	for _, d := range drivers {
		for _, k := range d.Kinds() {
			r.drivers[k] = d
		}
	}
	return r
}

// Supported reports whether an adapter is registered for k.
func (r *Registry) Supported(k Kind) bool { _, ok := r.drivers[k]; return ok }

// Open connects to t with the driver registered for its engine.
func (r *Registry) Open(ctx context.Context, t Target) (Conn, error) {
	d, ok := r.drivers[t.Engine]
	if !ok {
		return nil, errkind.New(errkind.Invalid, "engine %q has no adapter in this build yet", t.Engine)
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = 5 * time.Second
	}
	return d.Open(ctx, t)
}

// Inspect gathers Info from a connection. The version is what proves the
// server up: its error is returned. A later read that the server refuses
// (a privilege the account lacks, a statement this version does not have)
// leaves the server up, with the reason in Info.Warnings and that part
// empty; a lost connection or a cancelled ctx is still an error.
func Inspect(ctx context.Context, c Conn) (Info, error) {
	var info Info
	var err error
	if info.Version, err = c.Version(ctx); err != nil {
		return info, fmt.Errorf("version: %w", err)
	}
	partial := func(what string, err error) error {
		if ctx.Err() != nil || errkind.Is(err, errkind.Unavailable) {
			return fmt.Errorf("%s: %w", what, err)
		}
		info.Warnings = append(info.Warnings, fmt.Sprintf("%s could not be read: %v", what, err))
		return nil
	}
	if info.Uptime, err = c.Uptime(ctx); err != nil {
		if err := partial("uptime", err); err != nil {
			return info, err
		}
	}
	if info.Replication, err = c.Replication(ctx); err != nil {
		info.Replication = Replication{}
		if err := partial("replication state", err); err != nil {
			return info, err
		}
	}
	return info, nil
}
