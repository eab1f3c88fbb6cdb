// Package reports holds the shipped report files that `dbfleet serve`
// copies into the report directory on first start (reports.dir does not
// exist yet). internal/reports reads them; docs/reports.md documents the
// format. Each is also an example of a feature.
package reports

import "embed"

// Examples holds *.xml.
//
//go:embed *.xml
var Examples embed.FS
