package app

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dbfleet/dbfleet/internal/config"
)

// privateData makes what the server keeps private to its user, whatever
// the umask it was started with: the store holds the audit log with every
// console statement, export attachments, slow-log examples and ticket SQL.
//
// It narrows the process's umask to at least 077, so that every file and
// directory created from now on (the SQLite file and its -wal and -shm,
// the TSDB's blocks, the key file) is 0600 or 0700, creates the data
// directory 0700, and tightens what already exists there (and the store,
// metrics directory and key file when configured elsewhere) with one WARN
// line naming what was readable by others. It returns a function that
// restores the umask.
func privateData(cfg config.Config, log *slog.Logger) (restore func(), err error) {
	restore = restrictUmask()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return restore, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	roots := []string{cfg.Data, cfg.Metrics.Dir, cfg.SecretKeyFile}
	if spec := cfg.StoreSpec(); !strings.HasPrefix(spec, "postgres://") && !strings.HasPrefix(spec, "postgresql://") {
		path := strings.TrimPrefix(spec, "sqlite:")
		roots = append(roots, path, path+"-wal", path+"-shm", path+"-journal")
	}
	var loose []string
	seen := map[string]bool{}
	for _, root := range roots {
		if root == "" {
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if seen[path] {
				return fs.SkipDir
			}
			seen[path] = true
			if !d.Type().IsRegular() && !d.IsDir() {
				return nil // symlinks and the like are not followed
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if mode := info.Mode().Perm(); mode&0o077 != 0 {
				if err := os.Chmod(path, mode&^0o077); err != nil {
					return err
				}
				loose = append(loose, fmt.Sprintf("%s (%04o)", path, mode))
			}
			return nil
		})
		if err != nil {
			return restore, fmt.Errorf("make the data directory private: %w", err)
		}
	}
	if len(loose) > 0 {
		shown := loose
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(loose)-5))
		}
		log.Warn("the data directory was readable by other users; removed their permissions",
			"dir", cfg.Data, "entries", len(loose), "were", strings.Join(shown, ", "))
	}
	return restore, nil
}
