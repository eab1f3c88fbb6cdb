package xmldoc

import (
	"fmt"
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
