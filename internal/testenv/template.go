package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// templateFormat is part of every template's cache key; bump it when the
// way templates are initialised changes.
const templateFormat = "2"

// Initialised data directories, one per engine, built at most once per test
// binary (and, through the on-disk cache, once per machine and binary
// version). This is the package's only mutable package-level state: the
// sync.OnceValues make concurrent first starts (parallel tests) build the
// template once; the on-disk cache is safe between concurrent test
// binaries because a template is built in a staging directory and renamed
// into place atomically.
var (
	mariadbTemplate  = sync.OnceValues(buildMariaDBTemplate)
	postgresTemplate = sync.OnceValues(buildPostgresTemplate)
)

// cacheRoot is where templates live between runs.
func cacheRoot() (string, error) {
	if d := os.Getenv("DBFLEET_TESTENV_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for templates: %w", err)
	}
	return filepath.Join(d, "dbfleet-testenv"), nil
}

// binaryKey identifies the installed version of some binaries without
// running them: path, size and modification time.
func binaryKey(paths ...string) string {
	h := sha256.New()
	fmt.Fprintln(h, templateFormat)
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintln(h, p, "missing")
			continue
		}
		fmt.Fprintln(h, p, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// cachedTemplate returns <root>/<name>/data, building it with build (which
// must fill the directory it is given with a "data" subdirectory) when it
// is not there yet.
func cachedTemplate(name string, build func(stage string) error) (string, error) {
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	final := filepath.Join(root, name)
	ready := filepath.Join(final, "ready")
	if _, err := os.Stat(ready); err == nil {
		return filepath.Join(final, "data"), nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create template cache: %w", err)
	}
	stage, err := os.MkdirTemp(root, name+".stage-")
	if err != nil {
		return "", fmt.Errorf("create template staging dir: %w", err)
	}
	defer os.RemoveAll(stage) // a no-op once renamed
	if err := build(stage); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(stage, "ready"), nil, 0o644); err != nil {
		return "", fmt.Errorf("mark template ready: %w", err)
	}
	if err := os.Rename(stage, final); err != nil {
		// Another test binary may have won the race; use its template.
		if _, statErr := os.Stat(ready); statErr == nil {
			return filepath.Join(final, "data"), nil
		}
		return "", fmt.Errorf("install template %s: %w", final, err)
	}
	return filepath.Join(final, "data"), nil
}

// copyTree copies the directory src to dst (which must not exist),
// preserving permission bits. When uid >= 0 every copy is chowned to
// uid:gid.
func copyTree(src, dst string, uid, gid int) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
			// Mkdir is subject to the umask; the server may insist on exact modes.
			if err := os.Chmod(target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default:
			return nil // sockets, pipes: not part of a data directory at rest
		}
		if uid >= 0 {
			if err := os.Lchown(target, uid, gid); err != nil {
				return err
			}
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}
