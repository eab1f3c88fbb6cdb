package metrics

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// collector reads one engine's metrics from an open connection. It
// returns an error when the server could not be read at all (the target is
// then down); failures of optional parts (a view without privilege) are
// reported through partial and the rest is still collected.
type collector interface {
	// collect emits the samples; slow is true when the slow parts (table
	// sizes) are due as well.
	collect(ctx context.Context, c engine.Conn, e *emitter, slow bool, partial func(part string, err error)) error
	// upName is the engine's up metric (mysql_up, pg_up, redis_up).
	upName() string
}

// collectorFor returns the collector of an engine, or nil when dbfleet does
// not collect metrics from it.
func collectorFor(k engine.Kind) collector {
	switch k {
	case engine.MariaDB, engine.MySQL, engine.TiDB:
		return mysqlCollector{}
	case engine.Postgres:
		return postgresCollector{}
	case engine.Redis:
		return redisCollector{}
	}
	return nil
}
