package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Service manages the inventory.
type Service struct {
	db      *sqldb.DB
	box     *secret.Box
	engines *engine.Registry
	log     *slog.Logger
	// CheckTimeout bounds one instance check (connect + inspect); each
	// extra check gets three times as long.
	CheckTimeout time.Duration
	// ExtraChecks run after an instance answered `instance check` (not
	// the periodic probe); set by the app before serving.
	ExtraChecks []ExtraCheck
}

// NewService returns a Service. box encrypts instance passwords; engines
// opens connections to instances.
func NewService(db *sqldb.DB, box *secret.Box, engines *engine.Registry, log *slog.Logger) *Service {
	return &Service{db: db, box: box, engines: engines, log: log, CheckTimeout: DefaultConfig().CheckTimeout}
}

func notFound(what, name string) error {
	return errkind.New(errkind.NotFound, "%s %q not found", what, name)
}

// idOf looks up the id of a named row in table (one of this package's).
func idOf(ctx context.Context, q sqldb.Querier, table, what, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(what, name)
	}
	if err != nil {
		return 0, fmt.Errorf("find %s %q: %w", what, name, err)
	}
	return id, nil
}

// Host is a machine that runs instances.
type Host struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Address     string    `json:"address"`
	Rack        string    `json:"rack,omitempty"`
	Zone        string    `json:"zone,omitempty"`
	Labels      Labels    `json:"labels"`
	Cores       int       `json:"cores,omitempty"`
	MemoryBytes int64     `json:"memory_bytes,omitempty"`
	DiskBytes   int64     `json:"disk_bytes,omitempty"`
	Instances   int       `json:"instances"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Warnings are what AddHost accepted but a DBA should look at (an
	// address another host already has); not stored.
	Warnings []string `json:"warnings,omitempty"`
}

// AddHost registers a host.
func (s *Service) AddHost(ctx context.Context, h Host) (Host, error) {
	if err := checkName("host", h.Name); err != nil {
		return Host{}, err
	}
	if h.Address == "" {
		return Host{}, errkind.New(errkind.Invalid, "host %q: an address is required", h.Name)
	}
	if h.Cores < 0 || h.MemoryBytes < 0 || h.DiskBytes < 0 {
		return Host{}, errkind.New(errkind.Invalid, "host %q: capacity cannot be negative", h.Name)
	}
	if h.Labels == nil {
		h.Labels = Labels{}
	}
	if err := h.Labels.validate(); err != nil {
		return Host{}, err
	}
	now := sqldb.Now()
	h.CreatedAt, h.UpdatedAt, h.Instances = sqldb.Time(now), sqldb.Time(now), 0
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// One machine is usually one host entry: a second entry for the same
		// address splits its instances (and its capacity) over two names.
		// Several entries are legitimate only where one machine plays
		// several hosts (containers, tests), so this is a warning.
		rows, err := tx.QueryContext(ctx, `SELECT name FROM hosts WHERE address = ? ORDER BY name`, h.Address)
		if err != nil {
			return fmt.Errorf("add host %q: %w", h.Name, err)
		}
		others, err := sqldb.Collect(rows, func(r *sql.Rows) (string, error) {
			var n string
			return n, r.Scan(&n)
		})
		if err != nil {
			return fmt.Errorf("add host %q: %w", h.Name, err)
		}
		for _, o := range others {
			h.Warnings = append(h.Warnings, fmt.Sprintf("address %s is also host %q: one machine registered twice splits its instances and capacity", h.Address, o))
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO hosts (name, address, rack, zone, labels, cores, memory_bytes, disk_bytes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			h.Name, h.Address, h.Rack, h.Zone, h.Labels.encode(), h.Cores, h.MemoryBytes, h.DiskBytes, now, now).Scan(&h.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "host %q already exists", h.Name)
		}
		if err != nil {
			return fmt.Errorf("add host %q: %w", h.Name, err)
		}
		return audit.Record(ctx, tx, "host.add", h.Name, map[string]any{"address": h.Address})
	})
	return h, err
}

const hostSelect = `SELECT h.id, h.name, h.address, h.rack, h.zone, h.labels, h.cores, h.memory_bytes, h.disk_bytes, h.created_at, h.updated_at,
	(SELECT COUNT(*) FROM instances i WHERE i.host_id = h.id) FROM hosts h`

func scanHost(row interface{ Scan(...any) error }) (Host, error) {
	var h Host
	var labels string
	var c, u int64
	err := row.Scan(&h.ID, &h.Name, &h.Address, &h.Rack, &h.Zone, &labels, &h.Cores, &h.MemoryBytes, &h.DiskBytes, &c, &u, &h.Instances)
	h.Labels, h.CreatedAt, h.UpdatedAt = decodeLabels(labels), sqldb.Time(c), sqldb.Time(u)
	return h, err
}

// ListHosts returns every host by name.
func (s *Service) ListHosts(ctx context.Context) ([]Host, error) {
	rows, err := s.db.QueryContext(ctx, hostSelect+" ORDER BY h.name")
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	defer rows.Close()
	out := []Host{}
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, fmt.Errorf("list hosts: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// GetHost returns one host.
func (s *Service) GetHost(ctx context.Context, name string) (Host, error) {
	h, err := scanHost(s.db.QueryRowContext(ctx, hostSelect+" WHERE h.name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return h, notFound("host", name)
	}
	if err != nil {
		return h, fmt.Errorf("get host %q: %w", name, err)
	}
	return h, nil
}

// RemoveHost removes a host that runs no instance.
func (s *Service) RemoveHost(ctx context.Context, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := idOf(ctx, tx, "hosts", "host", name)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM instances WHERE host_id = ?", id).Scan(&n); err != nil {
			return fmt.Errorf("remove host %q: %w", name, err)
		}
		if n > 0 {
			return errkind.New(errkind.Conflict, "host %q still has %d instance(s); remove or move them first", name, n)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM hosts WHERE id = ?", id); err != nil {
			return fmt.Errorf("remove host %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "host.remove", name, nil)
	})
}

// Cluster is a set of instances of one engine serving one purpose.
type Cluster struct {
	ID        int64       `json:"id"`
	Name      string      `json:"name"`
	Engine    engine.Kind `json:"engine"`
	Env       string      `json:"env"`
	Business  string      `json:"business,omitempty"`
	Labels    Labels      `json:"labels"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	// Instances is filled by GetCluster.
	Instances []Instance `json:"instances,omitempty"`
}

// DefaultEnv is the environment of a cluster added without one: the
// strictest, so that policies err on the safe side.
const DefaultEnv = "prod"

// AddCluster registers a cluster.
func (s *Service) AddCluster(ctx context.Context, c Cluster) (Cluster, error) {
	if err := checkName("cluster", c.Name); err != nil {
		return Cluster{}, err
	}
	if _, err := engine.ParseKind(string(c.Engine)); err != nil {
		return Cluster{}, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	if c.Env == "" {
		c.Env = DefaultEnv
	}
	if !envName.MatchString(c.Env) {
		return Cluster{}, errkind.New(errkind.Invalid, "cluster %q: invalid env %q (lower-case letters, digits, '-'; e.g. prod, test, dev)", c.Name, c.Env)
	}
	if c.Labels == nil {
		c.Labels = Labels{}
	}
	if err := c.Labels.validate(); err != nil {
		return Cluster{}, err
	}
	now := sqldb.Now()
	c.CreatedAt, c.UpdatedAt = sqldb.Time(now), sqldb.Time(now)
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO clusters (name, engine, env, business, labels, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, string(c.Engine), c.Env, c.Business, c.Labels.encode(), now, now).Scan(&c.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "cluster %q already exists", c.Name)
		}
		if err != nil {
			return fmt.Errorf("add cluster %q: %w", c.Name, err)
		}
		return audit.Record(ctx, tx, "cluster.add", c.Name, map[string]any{"engine": c.Engine, "env": c.Env})
	})
	return c, err
}

// ClusterPatch changes some fields of a cluster; nil fields stay.
type ClusterPatch struct {
	Env         *string  `json:"env,omitempty"`
	Business    *string  `json:"business,omitempty"`
	SetLabels   Labels   `json:"set_labels,omitempty"`
	UnsetLabels []string `json:"unset_labels,omitempty"`
}

// UpdateCluster applies a patch.
func (s *Service) UpdateCluster(ctx context.Context, name string, p ClusterPatch) (Cluster, error) {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		c, err := getCluster(ctx, tx, name)
		if err != nil {
			return err
		}
		detail := map[string]any{}
		if p.Env != nil {
			if !envName.MatchString(*p.Env) {
				return errkind.New(errkind.Invalid, "cluster %q: invalid env %q (lower-case letters, digits, '-'; e.g. prod, test, dev)", name, *p.Env)
			}
			detail["env"] = map[string]string{"from": c.Env, "to": *p.Env}
			c.Env = *p.Env
		}
		if p.Business != nil {
			detail["business"] = *p.Business
			c.Business = *p.Business
		}
		for k, v := range p.SetLabels {
			if err := c.Labels.set(k, v); err != nil {
				return err
			}
			detail["label."+k] = v
		}
		for _, k := range p.UnsetLabels {
			delete(c.Labels, k)
			detail["label."+k] = nil
		}
		if len(detail) == 0 {
			return errkind.New(errkind.Invalid, "cluster %q: nothing to change", name)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE clusters SET env = ?, business = ?, labels = ?, updated_at = ? WHERE id = ?",
			c.Env, c.Business, c.Labels.encode(), sqldb.Now(), c.ID); err != nil {
			return fmt.Errorf("update cluster %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "cluster.set", name, detail)
	})
	if err != nil {
		return Cluster{}, err
	}
	return s.GetCluster(ctx, name)
}

const clusterSelect = "SELECT id, name, engine, env, business, labels, created_at, updated_at FROM clusters"

func scanCluster(row interface{ Scan(...any) error }) (Cluster, error) {
	var c Cluster
	var eng, labels string
	var cr, up int64
	err := row.Scan(&c.ID, &c.Name, &eng, &c.Env, &c.Business, &labels, &cr, &up)
	c.Engine, c.Labels, c.CreatedAt, c.UpdatedAt = engine.Kind(eng), decodeLabels(labels), sqldb.Time(cr), sqldb.Time(up)
	return c, err
}

func getCluster(ctx context.Context, q sqldb.Querier, name string) (Cluster, error) {
	c, err := scanCluster(q.QueryRowContext(ctx, clusterSelect+" WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("cluster", name)
	}
	if err != nil {
		return c, fmt.Errorf("get cluster %q: %w", name, err)
	}
	return c, nil
}

// ListClusters returns every cluster by name (without instances).
func (s *Service) ListClusters(ctx context.Context) ([]Cluster, error) {
	rows, err := s.db.QueryContext(ctx, clusterSelect+" ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	out := []Cluster{}
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCluster returns a cluster with its instances and their state.
func (s *Service) GetCluster(ctx context.Context, name string) (Cluster, error) {
	c, err := getCluster(ctx, s.db, name)
	if err != nil {
		return c, err
	}
	c.Instances, err = s.ListInstances(ctx, InstanceFilter{Cluster: name})
	return c, err
}

// RemoveCluster removes a cluster that has no instance.
func (s *Service) RemoveCluster(ctx context.Context, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := idOf(ctx, tx, "clusters", "cluster", name)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM instances WHERE cluster_id = ?", id).Scan(&n); err != nil {
			return fmt.Errorf("remove cluster %q: %w", name, err)
		}
		if n > 0 {
			return errkind.New(errkind.Conflict, "cluster %q still has %d instance(s); remove them first", name, n)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM clusters WHERE id = ?", id); err != nil {
			return fmt.Errorf("remove cluster %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "cluster.remove", name, nil)
	})
}
