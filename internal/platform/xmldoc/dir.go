package xmldoc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Files lists the *.xml files of dir (not hidden ones), sorted.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".xml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// Stamp is what a watcher remembers of a file to see that it changed.
type Stamp struct {
	mod  time.Time
	size int64
}

// StampOf stats file.
func StampOf(file string) (Stamp, error) {
	st, err := os.Stat(file)
	if err != nil {
		return Stamp{}, err
	}
	return Stamp{mod: st.ModTime(), size: st.Size()}, nil
}

// InstallExamples copies the *.xml files of examples into dir when dir
// does not exist yet (first start). It returns how many files it wrote.
// what names the kind of file in errors ("flow", "report").
func InstallExamples(dir string, examples fs.FS, what string) (int, error) {
	if _, err := os.Stat(dir); err == nil {
		return 0, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s directory %s: %w", what, dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("create %s directory %s: %w", what, dir, err)
	}
	names, err := fs.Glob(examples, "*.xml")
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(examples, n)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return 0, fmt.Errorf("install example %s %s: %w", what, n, err)
		}
	}
	return len(names), nil
}

// Watch calls reload every poll (2 s when zero) until ctx ends; onErr is
// told of each failed reload. It is how a catalog of files hot-reloads.
func Watch(ctx context.Context, poll time.Duration, reload func(context.Context) error, onErr func(error)) error {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := reload(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
