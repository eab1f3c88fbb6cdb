package flows

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/xmldoc"
)

// LoadDir parses every *.xml file of dir, offline. It returns the flows
// and every problem of every file (a flow name used twice is one).
func LoadDir(dir string) ([]*Flow, Problems) {
	files, err := xmlFiles(dir)
	if err != nil {
		return nil, Problems{{File: dir, Msg: err.Error()}}
	}
	var out []*Flow
	var probs Problems
	names := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Msg: err.Error()})
			continue
		}
		fl, ps := Parse(f, src)
		if len(ps) > 0 {
			probs = append(probs, ps...)
			continue
		}
		if prev, dup := names[fl.Name]; dup {
			probs = append(probs, Problem{File: f, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("flow %q is also defined in %s", fl.Name, prev)})
			continue
		}
		names[fl.Name] = f
		out = append(out, fl)
	}
	return out, probs
}

func xmlFiles(dir string) ([]string, error) {
	files, err := xmldoc.Files(dir)
	if err != nil {
		return nil, fmt.Errorf("flow directory %s: %w", dir, err)
	}
	return files, nil
}

// Catalog holds the active flows of a directory and watches it: a changed
// file that parses becomes the flow's next version; one that does not is
// reported and the previous version stays active. Every version is stored,
// so tickets keep running the version they started with.
type Catalog struct {
	dir string
	db  *sqldb.DB
	log *slog.Logger
	// Poll is how often the directory is checked for changes; zero means
	// 2 s.
	Poll time.Duration
	// OnChange, when set, is called after the active flows changed.
	OnChange func()

	mu       sync.RWMutex
	active   map[string]*Flow        // by flow name
	fileFlow map[string]string       // file -> flow name it defines
	stamps   map[string]xmldoc.Stamp // file -> what was last read
	problems map[string]Problems     // file -> current problems
	versions map[int64]*Flow         // version id -> parsed flow
}

// NewCatalog returns a catalog of dir whose versions are stored in db.
func NewCatalog(dir string, db *sqldb.DB, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{dir: dir, db: db, log: log, active: map[string]*Flow{}, fileFlow: map[string]string{},
		stamps: map[string]xmldoc.Stamp{}, problems: map[string]Problems{}, versions: map[int64]*Flow{}}
}

// Dir is the watched directory.
func (c *Catalog) Dir() string { return c.dir }

// Run reloads the directory every Poll until ctx ends.
func (c *Catalog) Run(ctx context.Context) error {
	return xmldoc.Watch(ctx, c.Poll, c.Reload, func(err error) { c.log.Warn("reload flows", "dir", c.dir, "err", err) })
}

// Reload reads the files that changed since the last call. Problems of
// individual files are kept (see Problems), not returned.
func (c *Catalog) Reload(ctx context.Context) error {
	files, err := xmlFiles(c.dir)
	if err != nil {
		return err
	}
	changed := false
	seen := map[string]bool{}
	for _, f := range files {
		seen[f] = true
		now, err := xmldoc.StampOf(f)
		if err != nil {
			continue
		}
		c.mu.RLock()
		prev, known := c.stamps[f]
		c.mu.RUnlock()
		if known && prev == now {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if c.load(ctx, f, src, now) {
			changed = true
		}
	}
	c.mu.Lock()
	for f := range c.stamps {
		if seen[f] {
			continue
		}
		delete(c.stamps, f)
		delete(c.problems, f)
		if name, ok := c.fileFlow[f]; ok {
			delete(c.active, name)
			delete(c.fileFlow, f)
			c.log.Info("flow file removed; flow no longer accepts tickets", "file", f, "flow", name)
			changed = true
		}
	}
	c.mu.Unlock()
	if changed && c.OnChange != nil {
		c.OnChange()
	}
	return nil
}

// load parses one file and, when it is valid, makes it the active version
// of its flow. It reports whether the active flows changed.
func (c *Catalog) load(ctx context.Context, file string, src []byte, st xmldoc.Stamp) bool {
	fl, probs := Parse(file, src)
	if len(probs) == 0 {
		c.mu.RLock()
		for f, name := range c.fileFlow {
			if name == fl.Name && f != file {
				probs = Problems{{File: file, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("flow %q is also defined in %s", fl.Name, f)}}
			}
		}
		c.mu.RUnlock()
	}
	if len(probs) == 0 && c.db != nil {
		if err := c.register(ctx, fl); err != nil {
			c.log.Warn("store flow version", "file", file, "err", err)
			return false // retried at the next reload (stamp not recorded)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stamps[file] = st
	if len(probs) > 0 {
		c.problems[file] = probs
		prev := c.fileFlow[file]
		if prev != "" {
			c.log.Warn("invalid flow file; the previous version stays active", "file", file, "flow", prev, "problems", probs.Error())
		} else {
			c.log.Warn("invalid flow file", "file", file, "problems", probs.Error())
		}
		return false
	}
	delete(c.problems, file)
	if old := c.fileFlow[file]; old != "" && old != fl.Name {
		delete(c.active, old)
	}
	cur := c.active[fl.Name]
	c.active[fl.Name] = fl
	c.fileFlow[file] = fl.Name
	if cur == nil || cur.Hash != fl.Hash {
		c.log.Info("flow loaded", "flow", fl.Name, "version", fl.Version, "file", file)
		return true
	}
	return false
}

// register stores a flow version (the same content keeps its number) and
// sets fl.Version and fl.VersionID.
func (c *Catalog) register(ctx context.Context, fl *Flow) error {
	for attempt := 0; ; attempt++ {
		err := c.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := tx.Lock(ctx, "flows.version:"+fl.Name); err != nil {
				return err
			}
			return storeVersion(ctx, tx, fl)
		})
		if err == nil || !sqldb.IsUniqueViolation(err) || attempt == 3 {
			if err == nil {
				c.mu.Lock()
				c.versions[fl.VersionID] = fl
				c.mu.Unlock()
			}
			return err
		}
	}
}

// Get returns the active flow called name.
func (c *Catalog) Get(name string) (*Flow, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	fl, ok := c.active[name]
	return fl, ok
}

// List returns the active flows by name.
func (c *Catalog) List() []*Flow {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Flow, 0, len(c.active))
	for _, fl := range c.active {
		out = append(out, fl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the active flows' names.
func (c *Catalog) Names() []string {
	var out []string
	for _, fl := range c.List() {
		out = append(out, fl.Name)
	}
	return out
}

// Problems lists the problems of the files that do not load now.
func (c *Catalog) Problems() Problems {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out Problems
	for _, f := range sortedKeys(c.problems) {
		out = append(out, c.problems[f]...)
	}
	return out
}

// VersionInfo describes a stored version.
type VersionInfo struct {
	Version   int       `json:"version"`
	Hash      string    `json:"hash"`
	File      string    `json:"file"`
	CreatedAt time.Time `json:"created_at"`
}

// InstallExamples copies the example flows into dir when dir does not
// exist yet (first start). It returns how many files it wrote.
func InstallExamples(dir string, examples fs.FS) (int, error) {
	return xmldoc.InstallExamples(dir, examples, "flow")
}
