package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Declared roles of an instance in its cluster.
const (
	RolePrimary = "primary"
	RoleReplica = "replica"
)

// Instance is one database server.
type Instance struct {
	ID      int64       `json:"id"`
	Name    string      `json:"name"`
	Engine  engine.Kind `json:"engine"`
	Host    string      `json:"host"`
	Address string      `json:"address"`
	Port    int         `json:"port"`
	User    string      `json:"user"`
	Cluster string      `json:"cluster,omitempty"`
	Env     string      `json:"env,omitempty"`
	// Role is the declared role (primary, replica or empty); Status.Role is
	// what the server itself reported last.
	Role      string    `json:"role,omitempty"`
	Labels    Labels    `json:"labels"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Status    *Status   `json:"status,omitempty"`
}

// Status is the last observed state of an instance.
type Status struct {
	CheckedAt  time.Time     `json:"checked_at"`
	Up         bool          `json:"up"`
	Version    string        `json:"version,omitempty"`
	Uptime     time.Duration `json:"uptime_ns,omitempty"`
	Role       engine.Role   `json:"role,omitempty"`
	ReadOnly   bool          `json:"read_only"`
	Source     string        `json:"source,omitempty"`
	IORunning  bool          `json:"io_running"`
	SQLRunning bool          `json:"sql_running"`
	LagSeconds *float64      `json:"lag_seconds,omitempty"`
	Replicas   int           `json:"replicas"`
	Error      string        `json:"error,omitempty"`
}

// NewInstance is what AddInstance needs.
type NewInstance struct {
	Name     string      `json:"name"`
	Engine   engine.Kind `json:"engine"`
	Host     string      `json:"host"` // a registered host's name or address
	Port     int         `json:"port"`
	User     string      `json:"user"`
	Password string      `json:"password"`
	Cluster  string      `json:"cluster,omitempty"`
	Role     string      `json:"role,omitempty"`
	Labels   Labels      `json:"labels,omitempty"`
}

func checkRole(r string) error {
	switch r {
	case "", RolePrimary, RoleReplica:
		return nil
	}
	return errkind.New(errkind.Invalid, "invalid role %q (primary or replica)", r)
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return errkind.New(errkind.Invalid, "invalid port %d (1-65535)", p)
	}
	return nil
}

// resolveHost finds a host by name, or else by address when exactly one
// host has it.
func resolveHost(ctx context.Context, q sqldb.Querier, h string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, "SELECT id FROM hosts WHERE name = ?", h).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find host %q: %w", h, err)
	}
	rows, err := q.QueryContext(ctx, "SELECT id FROM hosts WHERE address = ?", h)
	if err != nil {
		return 0, fmt.Errorf("find host %q: %w", h, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, fmt.Errorf("find host %q: %w", h, err)
		}
		ids = append(ids, id)
	}
	switch len(ids) {
	case 1:
		return ids[0], rows.Err()
	case 0:
		return 0, errkind.New(errkind.NotFound, "host %q is not registered; add it first with: dbfleet host add --name NAME --address ADDRESS", h)
	default:
		return 0, errkind.New(errkind.Conflict, "%d hosts have address %q; name the host instead", len(ids), h)
	}
}

// clusterForInstance checks an instance may join cluster name with role.
func clusterForInstance(ctx context.Context, q sqldb.Querier, name string, eng engine.Kind, role string, self int64) (sql.NullInt64, error) {
	if name == "" {
		return sql.NullInt64{}, nil
	}
	c, err := getCluster(ctx, q, name)
	if err != nil {
		return sql.NullInt64{}, err
	}
	if c.Engine != eng {
		return sql.NullInt64{}, errkind.New(errkind.Invalid, "cluster %q is %s, the instance is %s", name, c.Engine, eng)
	}
	if role == RolePrimary {
		var other string
		err := q.QueryRowContext(ctx, "SELECT name FROM instances WHERE cluster_id = ? AND role = ? AND id <> ?", c.ID, RolePrimary, self).Scan(&other)
		if err == nil {
			return sql.NullInt64{}, errkind.New(errkind.Conflict, "cluster %q already has primary %q; make it a replica first", name, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return sql.NullInt64{}, fmt.Errorf("check primary of %q: %w", name, err)
		}
	}
	return sql.NullInt64{Int64: c.ID, Valid: true}, nil
}

// AddInstance registers an instance; its password is stored encrypted.
// It does not connect: use Check for that.
func (s *Service) AddInstance(ctx context.Context, n NewInstance) (Instance, error) {
	if err := checkName("instance", n.Name); err != nil {
		return Instance{}, err
	}
	if _, err := engine.ParseKind(string(n.Engine)); err != nil {
		return Instance{}, fmt.Errorf("instance %q: %w", n.Name, err)
	}
	if err := checkPort(n.Port); err != nil {
		return Instance{}, fmt.Errorf("instance %q: %w", n.Name, err)
	}
	if n.Host == "" {
		return Instance{}, errkind.New(errkind.Invalid, "instance %q: a host is required", n.Name)
	}
	if err := checkRole(n.Role); err != nil {
		return Instance{}, fmt.Errorf("instance %q: %w", n.Name, err)
	}
	if n.Role != "" && n.Cluster == "" {
		return Instance{}, errkind.New(errkind.Invalid, "instance %q: a role needs a cluster", n.Name)
	}
	if n.User == "" && n.Engine != engine.Redis {
		return Instance{}, errkind.New(errkind.Invalid, "instance %q: a user is required for %s", n.Name, n.Engine)
	}
	if n.Labels == nil {
		n.Labels = Labels{}
	}
	if err := n.Labels.validate(); err != nil {
		return Instance{}, err
	}
	sealed, err := s.box.Seal(n.Password)
	if err != nil {
		return Instance{}, fmt.Errorf("instance %q: %w", n.Name, err)
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		hostID, err := resolveHost(ctx, tx, n.Host)
		if err != nil {
			return fmt.Errorf("instance %q: %w", n.Name, err)
		}
		clusterID, err := clusterForInstance(ctx, tx, n.Cluster, n.Engine, n.Role, 0)
		if err != nil {
			return fmt.Errorf("instance %q: %w", n.Name, err)
		}
		var other string
		err = tx.QueryRowContext(ctx, "SELECT name FROM instances WHERE host_id = ? AND port = ?", hostID, n.Port).Scan(&other)
		if err == nil {
			return errkind.New(errkind.Conflict, "instance %q: %s port %d is already registered as %q", n.Name, n.Host, n.Port, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add instance %q: %w", n.Name, err)
		}
		now := sqldb.Now()
		_, err = tx.ExecContext(ctx, `INSERT INTO instances (name, engine, host_id, port, username, password, cluster_id, role, labels, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.Name, string(n.Engine), hostID, n.Port, n.User, sealed, clusterID, n.Role, n.Labels.encode(), now, now)
		if err != nil {
			return instanceWriteError(err, n.Name, n.Cluster, n.Host, n.Port)
		}
		return audit.Record(ctx, tx, "instance.add", n.Name, map[string]any{
			"engine": n.Engine, "host": n.Host, "port": n.Port, "user": n.User, "cluster": n.Cluster, "role": n.Role})
	})
	if err != nil {
		return Instance{}, err
	}
	return s.GetInstance(ctx, n.Name)
}

// instanceWriteError explains a failed insert or update of an instance row:
// the checks before it passed, so a constraint violation means a
// concurrent request got there first.
func instanceWriteError(err error, name, cluster, host string, port int) error {
	c := sqldb.ViolatedConstraint(err)
	switch {
	case sqldb.IsUniqueViolation(err) && strings.Contains(c, "one_primary"):
		return errkind.New(errkind.Conflict, "instance %q: cluster %q already has a primary", name, cluster)
	case sqldb.IsUniqueViolation(err) && strings.Contains(c, "port"):
		return errkind.New(errkind.Conflict, "instance %q: %s port %d is already registered", name, host, port)
	case sqldb.IsUniqueViolation(err):
		return errkind.New(errkind.Conflict, "instance %q already exists", name)
	case sqldb.IsForeignKeyViolation(err):
		return errkind.New(errkind.Conflict, "instance %q: its host or cluster was removed meanwhile; try again", name)
	}
	return fmt.Errorf("write instance %q: %w", name, err)
}

// InstancePatch changes some fields of an instance; nil fields stay.
type InstancePatch struct {
	User     *string `json:"user,omitempty"`
	Password *string `json:"password,omitempty"`
	// Cluster "" removes the instance from its cluster.
	Cluster     *string  `json:"cluster,omitempty"`
	Role        *string  `json:"role,omitempty"`
	SetLabels   Labels   `json:"set_labels,omitempty"`
	UnsetLabels []string `json:"unset_labels,omitempty"`
}

// UpdateInstance applies a patch.
func (s *Service) UpdateInstance(ctx context.Context, name string, p InstancePatch) (Instance, error) {
	var sealed string
	if p.Password != nil {
		var err error
		if sealed, err = s.box.Seal(*p.Password); err != nil {
			return Instance{}, fmt.Errorf("instance %q: %w", name, err)
		}
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		in, err := getInstance(ctx, tx, name)
		if err != nil {
			return err
		}
		detail := map[string]any{}
		user, cluster, role := in.User, in.Cluster, in.Role
		if p.User != nil {
			user = *p.User
			detail["user"] = user
		}
		if p.Cluster != nil {
			cluster = *p.Cluster
			detail["cluster"] = cluster
			if cluster == "" {
				role = ""
			}
		}
		if p.Role != nil {
			if err := checkRole(*p.Role); err != nil {
				return fmt.Errorf("instance %q: %w", name, err)
			}
			role = *p.Role
			detail["role"] = role
		}
		if role != "" && cluster == "" {
			return errkind.New(errkind.Invalid, "instance %q: a role needs a cluster", name)
		}
		clusterID, err := clusterForInstance(ctx, tx, cluster, in.Engine, role, in.ID)
		if err != nil {
			return fmt.Errorf("instance %q: %w", name, err)
		}
		for k, v := range p.SetLabels {
			if err := in.Labels.set(k, v); err != nil {
				return err
			}
			detail["label."+k] = v
		}
		for _, k := range p.UnsetLabels {
			delete(in.Labels, k)
			detail["label."+k] = nil
		}
		if p.Password != nil {
			detail["password"] = "changed"
			if _, err := tx.ExecContext(ctx, "UPDATE instances SET password = ? WHERE id = ?", sealed, in.ID); err != nil {
				return fmt.Errorf("update instance %q: %w", name, err)
			}
		}
		if len(detail) == 0 {
			return errkind.New(errkind.Invalid, "instance %q: nothing to change", name)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE instances SET username = ?, cluster_id = ?, role = ?, labels = ?, updated_at = ? WHERE id = ?",
			user, clusterID, role, in.Labels.encode(), sqldb.Now(), in.ID); err != nil {
			return instanceWriteError(err, name, cluster, in.Host, in.Port)
		}
		return audit.Record(ctx, tx, "instance.set", name, detail)
	})
	if err != nil {
		return Instance{}, err
	}
	return s.GetInstance(ctx, name)
}

const instanceSelect = `SELECT i.id, i.name, i.engine, h.name, h.address, i.port, i.username, COALESCE(c.name, ''), COALESCE(c.env, ''),
	i.role, i.labels, i.created_at, i.updated_at,
	st.checked_at, st.up, st.version, st.uptime_s, st.role, st.read_only, st.source, st.io_running, st.sql_running, st.lag_seconds, st.replicas, st.error
	FROM instances i
	JOIN hosts h ON h.id = i.host_id
	LEFT JOIN clusters c ON c.id = i.cluster_id
	LEFT JOIN instance_status st ON st.instance_id = i.id`

func scanInstance(row interface{ Scan(...any) error }) (Instance, error) {
	var in Instance
	var eng, labels string
	var cr, up int64
	var checked, uptime sql.NullInt64
	var isUp, ro, io, sqlRun sql.NullBool
	var ver, role, src, serr sql.NullString
	var lag sql.NullFloat64
	var replicas sql.NullInt64
	err := row.Scan(&in.ID, &in.Name, &eng, &in.Host, &in.Address, &in.Port, &in.User, &in.Cluster, &in.Env,
		&in.Role, &labels, &cr, &up,
		&checked, &isUp, &ver, &uptime, &role, &ro, &src, &io, &sqlRun, &lag, &replicas, &serr)
	if err != nil {
		return in, err
	}
	in.Engine, in.Labels, in.CreatedAt, in.UpdatedAt = engine.Kind(eng), decodeLabels(labels), sqldb.Time(cr), sqldb.Time(up)
	if checked.Valid {
		st := &Status{
			CheckedAt: sqldb.Time(checked.Int64), Up: isUp.Bool, Version: ver.String,
			Uptime: time.Duration(uptime.Int64) * time.Second, Role: engine.Role(role.String),
			ReadOnly: ro.Bool, Source: src.String, IORunning: io.Bool, SQLRunning: sqlRun.Bool,
			Replicas: int(replicas.Int64), Error: serr.String,
		}
		if lag.Valid {
			st.LagSeconds = &lag.Float64
		}
		in.Status = st
	}
	return in, nil
}

func getInstance(ctx context.Context, q sqldb.Querier, name string) (Instance, error) {
	in, err := scanInstance(q.QueryRowContext(ctx, instanceSelect+" WHERE i.name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return in, notFound("instance", name)
	}
	if err != nil {
		return in, fmt.Errorf("get instance %q: %w", name, err)
	}
	return in, nil
}

// GetInstance returns one instance with its last observed state.
func (s *Service) GetInstance(ctx context.Context, name string) (Instance, error) {
	return getInstance(ctx, s.db, name)
}

// InstanceFilter narrows ListInstances; empty fields match all.
type InstanceFilter struct {
	Cluster string
	Engine  engine.Kind
	Host    string
	Env     string
}

// ListInstances returns instances by name.
func (s *Service) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error) {
	var where []string
	var args []any
	if f.Cluster != "" {
		where, args = append(where, "c.name = ?"), append(args, f.Cluster)
	}
	if f.Engine != "" {
		where, args = append(where, "i.engine = ?"), append(args, string(f.Engine))
	}
	if f.Host != "" {
		where, args = append(where, "h.name = ?"), append(args, f.Host)
	}
	if f.Env != "" {
		where, args = append(where, "c.env = ?"), append(args, f.Env)
	}
	q := instanceSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return s.queryInstances(ctx, q+" ORDER BY i.name", args...)
}

func (s *Service) queryInstances(ctx context.Context, q string, args ...any) ([]Instance, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	defer rows.Close()
	out := []Instance{}
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// RemoveInstance removes an instance. It leaves the groups that named it;
// an instance that is a shard of a shard map cannot be removed.
func (s *Service) RemoveInstance(ctx context.Context, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := idOf(ctx, tx, "instances", "instance", name)
		if err != nil {
			return err
		}
		var mapName string
		err = tx.QueryRowContext(ctx, "SELECT m.name FROM shards s JOIN shard_maps m ON m.id = s.map_id WHERE s.instance_id = ?", id).Scan(&mapName)
		if err == nil {
			return errkind.New(errkind.Conflict, "instance %q holds a shard of shard map %q; change or remove the map first", name, mapName)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("remove instance %q: %w", name, err)
		}
		for _, q := range []string{
			"DELETE FROM source_group_members WHERE instance_id = ?",
			"DELETE FROM instance_status WHERE instance_id = ?",
			"DELETE FROM instances WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("remove instance %q: %w", name, err)
			}
		}
		return audit.Record(ctx, tx, "instance.remove", name, nil)
	})
}

// Target returns how to connect to an instance, with its password
// decrypted. Callers must not log or return the password.
func (s *Service) Target(ctx context.Context, name string) (engine.Target, error) {
	var t engine.Target
	var eng, sealed string
	err := s.db.QueryRowContext(ctx, `SELECT i.engine, h.address, i.port, i.username, i.password
		FROM instances i JOIN hosts h ON h.id = i.host_id WHERE i.name = ?`, name).Scan(&eng, &t.Host, &t.Port, &t.User, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("instance", name)
	}
	if err != nil {
		return t, fmt.Errorf("instance %q: %w", name, err)
	}
	t.Engine = engine.Kind(eng)
	if t.Password, err = s.box.Open(sealed); err != nil {
		return t, fmt.Errorf("instance %q credentials: %w", name, err)
	}
	return t, nil
}

// Connect opens a connection to a registered instance. database may be
// empty for the engine's default.
func (s *Service) Connect(ctx context.Context, name, database string) (engine.Conn, error) {
	t, err := s.Target(ctx, name)
	if err != nil {
		return nil, err
	}
	t.Database = database
	c, err := s.engines.Open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("connect to instance %q: %w", name, upstream(err))
	}
	return c, nil
}

// upstream reclassifies what a managed database answered so that the edges
// do not mistake it for the caller's own problem: the instance refusing
// dbfleet's stored credentials is not the caller's 401, a missing privilege
// there is not the caller's 403. Unreachable stays Unavailable; Invalid
// (no adapter, bad configuration) stays the caller's.
func upstream(err error) error {
	switch errkind.Of(err) {
	case errkind.Unavailable, errkind.Invalid:
		return err
	}
	return errkind.Wrap(errkind.Upstream, err)
}
