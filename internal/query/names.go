package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// names is how an instance compares database and table names: the way
// its server does. MariaDB and MySQL compare them case-sensitively when
// lower_case_table_names is 0 (the Linux default: sales and SALES are two
// databases) and case-insensitively when it is 1 or 2; PostgreSQL
// compares exactly (its parser already folds unquoted names to lower
// case). Grants, the SHOW DATABASES / SHOW TABLES filters, the schema
// browser and the column lineage that decides masking all use it, so
// that a grant on shop never covers SHOP where the server tells them
// apart. Column names are another matter: MariaDB and MySQL always
// compare them case-insensitively, PostgreSQL exactly (colFold).
type names struct {
	fold    bool // database and table names
	colFold bool // column names
}

func (n names) eq(a, b string) bool {
	if n.fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func (n names) colEq(a, b string) bool {
	if n.colFold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// exactNames compare as PostgreSQL does.
var exactNames = names{}

// lctnCache remembers each instance's lower_case_table_names: it cannot
// change without a restart, so a while is safe.
type lctnCache = ttlCache[int]

func newLCTNCache(ttl time.Duration) *lctnCache { return newTTLCache[int](ttl, 0) }

// namesOf is the comparison of target's server: read (and cached) from
// the server for the MySQL family, exact for PostgreSQL and Redis.
func (s *Service) namesOf(ctx context.Context, target engine.Kind, instance string) (names, error) {
	switch target {
	case engine.MariaDB, engine.MySQL, engine.TiDB:
	default:
		return exactNames, nil
	}
	if v, ok := s.lctn.get(instance, s.now()); ok {
		return names{fold: v != 0, colFold: true}, nil
	}
	// The inventory's account reads it: a server setting, no data.
	t, err := s.inv.Target(ctx, instance)
	if err != nil {
		return names{}, err
	}
	conn, err := s.engines.Open(ctx, t)
	if err != nil {
		return names{}, fmt.Errorf("connect to instance %q: %w", instance, s.queryError(ctx, err, 0))
	}
	defer conn.Close()
	rows, _, err := conn.Query(ctx, 1, "SELECT @@lower_case_table_names")
	if err != nil {
		return names{}, fmt.Errorf("read lower_case_table_names of instance %q: %w", instance, s.queryError(ctx, err, 0))
	}
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return names{}, errkind.New(errkind.Upstream, "instance %q did not report lower_case_table_names", instance)
	}
	n, ok := engine.Int64(rows.Values[0][0])
	if !ok {
		return names{}, errkind.New(errkind.Upstream, "instance %q reported lower_case_table_names %q", instance, rows.String(0, 0))
	}
	v := int(n)
	s.lctn.put(instance, v, s.now())
	return names{fold: v != 0, colFold: true}, nil
}
