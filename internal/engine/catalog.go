package engine

import (
	"context"
	"fmt"
	"strconv"
)

// DatabaseExists asks the server whether database name exists: a schema
// of information_schema on the MySQL family, a row of pg_database on
// PostgreSQL, a logical database number below `databases` on Redis.
func DatabaseExists(ctx context.Context, c Conn, name string) (bool, error) {
	var q string
	switch c.Engine() {
	case MariaDB, MySQL, TiDB:
		q = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"
	case Postgres:
		q = "SELECT datname FROM pg_database WHERE datname = $1"
	case Redis:
		n, err := strconv.Atoi(name)
		if err != nil || n < 0 {
			return false, nil
		}
		vars, err := c.Variables(ctx, "databases")
		if err != nil {
			return false, fmt.Errorf("look for database %s: %w", name, err)
		}
		max, err := strconv.Atoi(vars["databases"])
		if err != nil {
			return false, fmt.Errorf("look for database %s: databases = %q", name, vars["databases"])
		}
		return n < max, nil
	default:
		return false, fmt.Errorf("look for database %s: not supported on %s", name, c.Engine())
	}
	rows, _, err := c.Query(ctx, 1, q, name)
	if err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return len(rows.Values) > 0, nil
}
