package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/xmldoc"
)

// LinkAll checks what spans reports: every sub-report and drill target
// exists, the parameters passed to it are its own, and no report
// includes itself through sub-reports (a cycle). Drills may form cycles:
// they are navigation, run only when clicked.
func LinkAll(all []*Report) Problems {
	byID := map[string]*Report{}
	for _, r := range all {
		byID[r.ID] = r
	}
	var probs Problems
	for _, r := range all {
		for _, b := range r.Blocks {
			if b.Kind == "subreport" {
				probs = append(probs, linkParams(r, byID, b.Ref, b.Params, b.Pos, "<subreport ref=%q>")...)
			}
			for _, c := range b.Columns {
				if c.Drill != nil {
					probs = append(probs, linkParams(r, byID, c.Drill.Report, c.Drill.Params, c.Drill.Pos, "drill to %q")...)
				}
			}
		}
	}
	// Cycles among sub-reports: depth-first, reporting each cycle once
	// at the report where it closes.
	state := map[string]int{} // 0 new, 1 on the path, 2 done
	var path []string
	var visit func(r *Report)
	visit = func(r *Report) {
		state[r.ID] = 1
		path = append(path, r.ID)
		for _, b := range r.Blocks {
			t := byID[b.Ref]
			if b.Kind != "subreport" || t == nil {
				continue
			}
			switch state[t.ID] {
			case 1:
				i := len(path) - 1
				for path[i] != t.ID {
					i--
				}
				cycle := append(append([]string{}, path[i:]...), t.ID)
				probs = append(probs, Problem{File: r.File, Pos: b.Pos, Msg: fmt.Sprintf("<subreport ref=%q>: a cycle of sub-reports: %s", b.Ref, strings.Join(cycle, " -> "))})
			case 0:
				visit(t)
			}
		}
		path = path[:len(path)-1]
		state[r.ID] = 2
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if state[id] == 0 {
			visit(byID[id])
		}
	}
	return probs
}

func linkParams(r *Report, byID map[string]*Report, target string, params map[string]string, pos Pos, what string) Problems {
	t := byID[target]
	if t == nil {
		return Problems{{File: r.File, Pos: pos, Msg: fmt.Sprintf(what+": no such report", target)}}
	}
	var probs Problems
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if t.Param(k) == nil {
			probs = append(probs, Problem{File: r.File, Pos: pos, Msg: fmt.Sprintf(what+": report %s has no parameter %q", target, target, k)})
		}
	}
	return probs
}

// LoadDir parses every *.xml file of dir, offline, and links them. It
// returns the reports that load and every problem of every file.
func LoadDir(dir string) ([]*Report, Problems) {
	files, err := xmldoc.Files(dir)
	if err != nil {
		return nil, Problems{{File: dir, Msg: err.Error()}}
	}
	var out []*Report
	var probs Problems
	ids := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Msg: err.Error()})
			continue
		}
		r, ps := Parse(f, src)
		if len(ps) > 0 {
			probs = append(probs, ps...)
			continue
		}
		if prev, dup := ids[r.ID]; dup {
			probs = append(probs, Problem{File: f, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("report %q is also defined in %s", r.ID, prev)})
			continue
		}
		ids[r.ID] = f
		out = append(out, r)
	}
	probs = append(probs, LinkAll(out)...)
	return out, probs
}

// Catalog holds the active reports of a directory and watches it: a
// changed file that parses and links becomes the report's next version;
// one that does not is reported and the previous version stays active.
type Catalog struct {
	dir string
	db  *sqldb.DB
	log *slog.Logger
	// Poll is how often the directory is checked; zero means 2 s.
	Poll time.Duration

	mu       sync.RWMutex
	active   map[string]*Report // by id
	fileID   map[string]string  // file -> report id
	stamps   map[string]xmldoc.Stamp
	problems map[string]Problems
}

// NewCatalog returns a catalog of dir whose versions are stored in db
// (nil: not stored, versions stay 0).
func NewCatalog(dir string, db *sqldb.DB, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{dir: dir, db: db, log: log, active: map[string]*Report{}, fileID: map[string]string{},
		stamps: map[string]xmldoc.Stamp{}, problems: map[string]Problems{}}
}

// Dir is the watched directory.
func (c *Catalog) Dir() string { return c.dir }

// Run reloads the directory every Poll until ctx ends.
func (c *Catalog) Run(ctx context.Context) error {
	return xmldoc.Watch(ctx, c.Poll, c.Reload, func(err error) { c.log.Warn("reload reports", "dir", c.dir, "err", err) })
}

// Reload reads the files that changed since the last call. Problems of
// files are kept (Problems), not returned.
func (c *Catalog) Reload(ctx context.Context) error {
	files, err := xmldoc.Files(c.dir)
	if err != nil {
		return fmt.Errorf("report directory %s: %w", c.dir, err)
	}
	seen := map[string]bool{}
	var changed []string
	for _, f := range files {
		seen[f] = true
		st, err := xmldoc.StampOf(f)
		if err != nil {
			continue
		}
		c.mu.RLock()
		prev, known := c.stamps[f]
		c.mu.RUnlock()
		if !known || prev != st {
			changed = append(changed, f)
		}
	}
	c.mu.Lock()
	for f := range c.stamps {
		if !seen[f] {
			delete(c.stamps, f)
			delete(c.problems, f)
			if id, ok := c.fileID[f]; ok {
				delete(c.active, id)
				delete(c.fileID, f)
				c.log.Info("report file removed", "file", f, "report", id)
			}
		}
	}
	c.mu.Unlock()
	// Two passes: a report may link to one that is new in this reload.
	parsed := map[string]*Report{}
	for _, f := range changed {
		st, err := xmldoc.StampOf(f)
		if err != nil {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		r, probs := Parse(f, src)
		c.mu.Lock()
		c.stamps[f] = st
		if len(probs) > 0 {
			c.problems[f] = probs
			c.log.Warn("invalid report file; the previous version stays active", "file", f, "problems", probs.Error())
		} else {
			delete(c.problems, f)
			parsed[f] = r
		}
		c.mu.Unlock()
	}
	for f, r := range parsed {
		if err := c.activate(ctx, f, r, parsed); err != nil {
			c.mu.Lock()
			delete(c.stamps, f) // retried at the next reload
			c.mu.Unlock()
			c.log.Warn("store report version", "file", f, "err", err)
		}
	}
	return nil
}

// activate links r against the active reports (and the others parsed in
// this reload) and makes it active when nothing is wrong.
func (c *Catalog) activate(ctx context.Context, file string, r *Report, batch map[string]*Report) error {
	c.mu.RLock()
	set := map[string]*Report{}
	for _, a := range c.active {
		set[a.ID] = a
	}
	var probs Problems
	for f, id := range c.fileID {
		if id == r.ID && f != file {
			probs = Problems{{File: file, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("report %q is also defined in %s", r.ID, f)}}
		}
	}
	c.mu.RUnlock()
	for _, b := range batch {
		set[b.ID] = b
	}
	set[r.ID] = r
	all := make([]*Report, 0, len(set))
	for _, a := range set {
		all = append(all, a)
	}
	for _, p := range LinkAll(all) {
		if p.File == file {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		c.mu.Lock()
		c.problems[file] = probs
		c.mu.Unlock()
		c.log.Warn("invalid report file; the previous version stays active", "file", file, "problems", probs.Error())
		return nil
	}
	if c.db != nil {
		if err := c.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := tx.Lock(ctx, "reports.version:"+r.ID); err != nil {
				return err
			}
			return storeVersion(ctx, tx, r)
		}); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.fileID[file]; old != "" && old != r.ID {
		delete(c.active, old)
	}
	if cur := c.active[r.ID]; cur == nil || cur.Hash != r.Hash {
		c.log.Info("report loaded", "report", r.ID, "version", r.Version, "file", file)
	}
	c.active[r.ID] = r
	c.fileID[file] = r.ID
	return nil
}

func storeVersion(ctx context.Context, tx *sqldb.Tx, r *Report) error {
	err := tx.QueryRowContext(ctx, "SELECT version FROM report_versions WHERE report = ? AND hash = ?", r.ID, r.Hash).Scan(&r.Version)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("report %s version: %w", r.ID, err)
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM report_versions WHERE report = ?", r.ID).Scan(&last); err != nil {
		return fmt.Errorf("report %s version: %w", r.ID, err)
	}
	r.Version = int(last.Int64) + 1
	if _, err := tx.ExecContext(ctx, "INSERT INTO report_versions (report, version, hash, file, source, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.ID, r.Version, r.Hash, r.File, string(r.Source), sqldb.Now()); err != nil {
		return fmt.Errorf("store report %s version %d: %w", r.ID, r.Version, err)
	}
	return nil
}

// Get returns the active report id.
func (c *Catalog) Get(id string) (*Report, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.active[id]
	return r, ok
}

// List returns the active reports by id.
func (c *Catalog) List() []*Report {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Report, 0, len(c.active))
	for _, r := range c.active {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Problems lists the problems of the files that do not load now.
func (c *Catalog) Problems() Problems {
	c.mu.RLock()
	defer c.mu.RUnlock()
	files := make([]string, 0, len(c.problems))
	for f := range c.problems {
		files = append(files, f)
	}
	sort.Strings(files)
	var out Problems
	for _, f := range files {
		out = append(out, c.problems[f]...)
	}
	return out
}
