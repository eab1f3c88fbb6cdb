package sqldb

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrate applies the migrations for this store's dialect from fsys, which
// holds one directory per dialect ("sqlite", "postgres") with the same
// version numbers. On PostgreSQL a session advisory lock makes concurrent
// starts of several dbfleet processes safe.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, log *slog.Logger) error {
	sub, err := fs.Sub(fsys, string(db.dialect))
	if err != nil {
		return fmt.Errorf("migrations for %s: %w", db.dialect, err)
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.raw, sub, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.Where, err)
	}
	for _, r := range results {
		log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
