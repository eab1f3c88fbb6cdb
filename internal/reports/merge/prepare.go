package merge

import (
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Prepared is what Prepare made of a dataset's single-server SELECT.
type Prepared struct {
	ShardSQL string // what each shard runs (AVG split into SUM/COUNT, LIMIT pushed down as LIMIT offset+limit, ...)
	Plan     Plan
}

// Prepare rewrites a single-server SELECT for a sharded run; an
// unsupported form is an error naming it. dialect is internal/sql's
// Dialect.
func Prepare(dialect sql.Dialect, text string) (*Prepared, error) {
	return nil, errkind.New(errkind.Invalid, "prepare %s select for a sharded run: not implemented yet", dialect)
}
