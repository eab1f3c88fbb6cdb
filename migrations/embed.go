// Package migrations holds the metadata schema, one directory per store
// dialect (sqlite/, postgres/) with the same version numbers. Each file is
// owned by the package named in its name (00002_auth.sql belongs to
// internal/auth); a package only ever reads and writes its own tables.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
