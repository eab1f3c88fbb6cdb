// Package flows holds the example flow files that `dbfleet serve` copies
// into the flow directory on first start (flows.dir does not exist yet).
// internal/flows reads them; docs/flows.md documents the format.
package flows

import "embed"

// Examples holds *.xml.
//
//go:embed *.xml
var Examples embed.FS
