package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Selector matches instances by attributes. Keys: engine, env, business,
// cluster, role, host, zone; any other key matches a label of the instance
// or, failing that, of its cluster. All pairs must match.
type Selector map[string]string

// ParseSelector reads "k=v" pairs.
func ParseSelector(pairs []string) (Selector, error) {
	s := Selector{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, errkind.New(errkind.Invalid, "invalid match %q: want key=value (keys: engine, env, business, cluster, role, host, zone, or a label)", p)
		}
		s[k] = v
	}
	return s, nil
}

// Group is a named set of instances ("all prod MySQL"): explicit members,
// a selector, or both (the union).
type Group struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Selector    Selector  `json:"selector,omitempty"`
	Members     []string  `json:"members,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Instances is the resolved set, filled by GetGroup.
	Instances []string `json:"instances,omitempty"`
}

// AddGroup creates a group.
func (s *Service) AddGroup(ctx context.Context, g Group) (Group, error) {
	if err := checkName("group", g.Name); err != nil {
		return Group{}, err
	}
	if len(g.Members) == 0 && len(g.Selector) == 0 {
		return Group{}, errkind.New(errkind.Invalid, "group %q: give members, a selector, or both", g.Name)
	}
	sel, _ := json.Marshal(g.Selector)
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Now()
		err := tx.QueryRowContext(ctx, `INSERT INTO source_groups (name, description, selector, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			g.Name, g.Description, string(sel), now, now).Scan(&g.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "group %q already exists", g.Name)
		}
		if err != nil {
			return fmt.Errorf("add group %q: %w", g.Name, err)
		}
		for _, m := range g.Members {
			id, err := idOf(ctx, tx, "instances", "instance", m)
			if err != nil {
				return fmt.Errorf("group %q: %w", g.Name, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO source_group_members (group_id, instance_id) VALUES (?, ?) ON CONFLICT DO NOTHING", g.ID, id); err != nil {
				return fmt.Errorf("group %q: add member %q: %w", g.Name, m, err)
			}
		}
		return audit.Record(ctx, tx, "group.add", g.Name, map[string]any{"members": g.Members, "selector": g.Selector})
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, g.Name)
}

func (s *Service) loadGroups(ctx context.Context, where string, args ...any) ([]Group, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, description, selector, created_at FROM source_groups "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	out := []Group{}
	for rows.Next() {
		var g Group
		var sel string
		var cr int64
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &sel, &cr); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		json.Unmarshal([]byte(sel), &g.Selector)
		g.CreatedAt = sqldb.Time(cr)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Members, err = s.groupMembers(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) groupMembers(ctx context.Context, id int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT i.name FROM source_group_members m JOIN instances i ON i.id = m.instance_id WHERE m.group_id = ? ORDER BY i.name", id)
	if err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ListGroups returns every group (unresolved).
func (s *Service) ListGroups(ctx context.Context) ([]Group, error) {
	return s.loadGroups(ctx, "")
}

// GetGroup returns a group with its resolved instances.
func (s *Service) GetGroup(ctx context.Context, name string) (Group, error) {
	gs, err := s.loadGroups(ctx, "WHERE name = ?", name)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, notFound("group", name)
	}
	g := gs[0]
	ins, err := s.resolve(ctx, g)
	if err != nil {
		return g, err
	}
	for _, in := range ins {
		g.Instances = append(g.Instances, in.Name)
	}
	return g, nil
}

// ResolveGroup returns the instances a group names now.
func (s *Service) ResolveGroup(ctx context.Context, name string) ([]Instance, error) {
	gs, err := s.loadGroups(ctx, "WHERE name = ?", name)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, notFound("group", name)
	}
	return s.resolve(ctx, gs[0])
}

func (s *Service) resolve(ctx context.Context, g Group) ([]Instance, error) {
	all, err := s.ListInstances(ctx, InstanceFilter{})
	if err != nil {
		return nil, err
	}
	clusters := map[string]Cluster{}
	zones := map[string]string{}
	if len(g.Selector) > 0 {
		cs, err := s.ListClusters(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			clusters[c.Name] = c
		}
		if _, ok := g.Selector["zone"]; ok {
			hs, err := s.ListHosts(ctx)
			if err != nil {
				return nil, err
			}
			for _, h := range hs {
				zones[h.Name] = h.Zone
			}
		}
	}
	var out []Instance
	for _, in := range all {
		if slices.Contains(g.Members, in.Name) || (len(g.Selector) > 0 && matches(g.Selector, in, clusters[in.Cluster], zones[in.Host])) {
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func matches(sel Selector, in Instance, cluster Cluster, zone string) bool {
	for k, v := range sel {
		var got string
		switch k {
		case "engine":
			got = string(in.Engine)
		case "env":
			got = in.Env
		case "business":
			got = cluster.Business
		case "cluster":
			got = in.Cluster
		case "role":
			got = in.Role
		case "host":
			got = in.Host
		case "zone":
			got = zone
		default:
			var ok bool
			if got, ok = in.Labels[k]; !ok {
				got = cluster.Labels[k]
			}
		}
		if got != v {
			return false
		}
	}
	return true
}

// RemoveGroup deletes a group (not its instances).
func (s *Service) RemoveGroup(ctx context.Context, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := idOf(ctx, tx, "source_groups", "group", name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM source_group_members WHERE group_id = ?", id); err != nil {
			return fmt.Errorf("remove group %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM source_groups WHERE id = ?", id); err != nil {
			return fmt.Errorf("remove group %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "group.remove", name, nil)
	})
}

// ShardMap is a logical database split over instances: shard i lives in
// database DB on instance Instance.
type ShardMap struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Database    string    `json:"database"`
	Key         string    `json:"key,omitempty"`
	Strategy    string    `json:"strategy,omitempty"`
	Description string    `json:"description,omitempty"`
	Shards      []Shard   `json:"shards"`
	CreatedAt   time.Time `json:"created_at"`
	// Warnings are what AddShardMap accepted but a DBA should look at (a
	// shard database that does not exist, an instance it could not ask);
	// not stored.
	Warnings []string `json:"warnings,omitempty"`
}

// Shard is one part of a shard map.
type Shard struct {
	Index    int    `json:"index"`
	Instance string `json:"instance"`
	Database string `json:"database"`
}

// ParseShard reads "INSTANCE/DB" (or "INDEX=INSTANCE/DB").
func ParseShard(s string, defaultIndex int) (Shard, error) {
	sh := Shard{Index: defaultIndex}
	if i, rest, ok := strings.Cut(s, "="); ok {
		if _, err := fmt.Sscanf(i, "%d", &sh.Index); err != nil {
			return sh, errkind.New(errkind.Invalid, "invalid shard %q: want [INDEX=]INSTANCE/DATABASE", s)
		}
		s = rest
	}
	inst, db, ok := strings.Cut(s, "/")
	if !ok || inst == "" || db == "" {
		return sh, errkind.New(errkind.Invalid, "invalid shard %q: want [INDEX=]INSTANCE/DATABASE", s)
	}
	sh.Instance, sh.Database = inst, db
	return sh, nil
}

// Shard strategies (descriptive: dbfleet reads every shard and merges).
var strategies = []string{"", "hash", "mod", "range", "list", "lookup"}

// AddShardMap creates a shard map.
func (s *Service) AddShardMap(ctx context.Context, m ShardMap) (ShardMap, error) {
	if err := checkName("shard map", m.Name); err != nil {
		return ShardMap{}, err
	}
	if m.Database == "" {
		return ShardMap{}, errkind.New(errkind.Invalid, "shard map %q: the logical database name is required", m.Name)
	}
	if !slices.Contains(strategies, m.Strategy) {
		return ShardMap{}, errkind.New(errkind.Invalid, "shard map %q: unknown strategy %q (hash, mod, range, list, lookup)", m.Name, m.Strategy)
	}
	if len(m.Shards) == 0 {
		return ShardMap{}, errkind.New(errkind.Invalid, "shard map %q: at least one shard is required", m.Name)
	}
	seen := map[int]bool{}
	for _, sh := range m.Shards {
		if seen[sh.Index] {
			return ShardMap{}, errkind.New(errkind.Invalid, "shard map %q: shard index %d given twice", m.Name, sh.Index)
		}
		seen[sh.Index] = true
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Now()
		err := tx.QueryRowContext(ctx, `INSERT INTO shard_maps (name, logical_db, shard_key, strategy, description, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.Name, m.Database, m.Key, m.Strategy, m.Description, now, now).Scan(&m.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "shard map %q already exists", m.Name)
		}
		if err != nil {
			return fmt.Errorf("add shard map %q: %w", m.Name, err)
		}
		for _, sh := range m.Shards {
			id, err := idOf(ctx, tx, "instances", "instance", sh.Instance)
			if err != nil {
				return fmt.Errorf("shard map %q shard %d: %w", m.Name, sh.Index, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO shards (map_id, idx, instance_id, db_name) VALUES (?, ?, ?, ?)", m.ID, sh.Index, id, sh.Database); err != nil {
				return fmt.Errorf("shard map %q shard %d: %w", m.Name, sh.Index, err)
			}
		}
		return audit.Record(ctx, tx, "shardmap.add", m.Name, map[string]any{"database": m.Database, "shards": len(m.Shards)})
	})
	if err != nil {
		return ShardMap{}, err
	}
	out, err := s.GetShardMap(ctx, m.Name)
	if err != nil {
		return ShardMap{}, err
	}
	out.Warnings = s.checkShards(ctx, out)
	return out, nil
}

// checkShards asks each shard's instance whether the shard's database
// exists. A shard map may be declared before its databases are created,
// so what is missing or cannot be asked is a warning, not a refusal.
func (s *Service) checkShards(ctx context.Context, m ShardMap) []string {
	var warns []string
	for _, sh := range m.Shards {
		if sh.Database == "" {
			continue
		}
		ok, err := s.shardDatabaseExists(ctx, sh)
		switch {
		case err != nil:
			warns = append(warns, fmt.Sprintf("shard %d: could not check that database %s exists on %s: %v", sh.Index, sh.Database, sh.Instance, err))
		case !ok:
			warns = append(warns, fmt.Sprintf("shard %d: database %s does not exist on %s", sh.Index, sh.Database, sh.Instance))
		}
	}
	return warns
}

func (s *Service) shardDatabaseExists(ctx context.Context, sh Shard) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.CheckTimeout)
	defer cancel()
	c, err := s.Connect(ctx, sh.Instance, "")
	if err != nil {
		return false, err
	}
	defer c.Close()
	return engine.DatabaseExists(ctx, c, sh.Database)
}

func (s *Service) loadShardMaps(ctx context.Context, where string, args ...any) ([]ShardMap, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, logical_db, shard_key, strategy, description, created_at FROM shard_maps "+where+" ORDER BY name", args...)
	if err != nil {
		return nil, fmt.Errorf("list shard maps: %w", err)
	}
	defer rows.Close()
	out := []ShardMap{}
	for rows.Next() {
		var m ShardMap
		var cr int64
		if err := rows.Scan(&m.ID, &m.Name, &m.Database, &m.Key, &m.Strategy, &m.Description, &cr); err != nil {
			return nil, fmt.Errorf("list shard maps: %w", err)
		}
		m.CreatedAt = sqldb.Time(cr)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Shards, err = s.shards(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) shards(ctx context.Context, mapID int64) ([]Shard, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT s.idx, i.name, s.db_name FROM shards s JOIN instances i ON i.id = s.instance_id WHERE s.map_id = ? ORDER BY s.idx", mapID)
	if err != nil {
		return nil, fmt.Errorf("shards: %w", err)
	}
	defer rows.Close()
	out := []Shard{}
	for rows.Next() {
		var sh Shard
		if err := rows.Scan(&sh.Index, &sh.Instance, &sh.Database); err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// ListShardMaps returns every shard map with its shards.
func (s *Service) ListShardMaps(ctx context.Context) ([]ShardMap, error) {
	return s.loadShardMaps(ctx, "")
}

// GetShardMap returns one shard map.
func (s *Service) GetShardMap(ctx context.Context, name string) (ShardMap, error) {
	ms, err := s.loadShardMaps(ctx, "WHERE name = ?", name)
	if err != nil {
		return ShardMap{}, err
	}
	if len(ms) == 0 {
		return ShardMap{}, notFound("shard map", name)
	}
	return ms[0], nil
}

// RemoveShardMap deletes a shard map (not its instances or data).
func (s *Service) RemoveShardMap(ctx context.Context, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := idOf(ctx, tx, "shard_maps", "shard map", name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM shards WHERE map_id = ?", id); err != nil {
			return fmt.Errorf("remove shard map %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM shard_maps WHERE id = ?", id); err != nil {
			return fmt.Errorf("remove shard map %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "shardmap.remove", name, nil)
	})
}
