// Package web holds the web UI's assets: the html/template files under
// templates/ (a layout, shared partials and one file per page) and the
// static files under static/ (CSS, JavaScript, icons). They are embedded in
// the binary; there is no build step.
package web

import "embed"

// FS holds templates/*.html and static/*.
//
//go:embed templates static
var FS embed.FS
