package reports

import (
	"slices"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// covers reports whether the grant names the principal: its user, or its
// role or a lower one (roles are ordered: a grant to developer covers dba
// and admin).
func (g Grant) covers(p auth.Principal) bool {
	if g.User != "" {
		return g.User == p.User
	}
	have, want := slices.Index(auth.Roles, p.Role), slices.Index(auth.Roles, g.Role)
	return have >= 0 && want >= 0 && have >= want
}

// Can reports whether the principal has permission perm (view, run,
// subscribe, edit) on the report. An admin may do everything.
func (r *Report) Can(p auth.Principal, perm string) bool {
	if p.Role == auth.Admin {
		return true
	}
	for _, g := range r.Grants {
		if g.covers(p) && slices.Contains(g.Perms, perm) {
			return true
		}
	}
	return false
}

// require returns a Forbidden error when the principal lacks perm. A
// report the principal may not even view is reported as not found.
func (r *Report) require(p auth.Principal, perm string) error {
	if !r.Can(p, PermView) && !r.Can(p, perm) {
		return errkind.New(errkind.NotFound, "no report %q", r.ID)
	}
	if !r.Can(p, perm) {
		return errkind.New(errkind.Forbidden, "report %s: you lack its %s permission", r.ID, perm)
	}
	return nil
}
