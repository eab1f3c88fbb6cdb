package api

import (
	"slices"
	"testing"
)

// TestEveryRouteIsGuarded walks the route table: a route without a
// permission must be public on purpose or listed here with the reason it
// needs only authentication (the handler checks the rest itself).
func TestEveryRouteIsGuarded(t *testing.T) {
	openToAnyUser := map[string]string{
		"POST /api/v1/logout":        "revokes the caller's own token",
		"GET /api/v1/me":             "describes the caller",
		"GET /api/v1/users/{name}":   "yourself, else the handler requires user.manage",
		"PATCH /api/v1/users/{name}": "auth.UpdateUser requires user.manage except for your own password",
		"GET /api/v1/tokens":         "your own; ?all=true requires user.manage in the handler",
		"POST /api/v1/tokens":        "a token for yourself",
		"DELETE /api/v1/tokens/{id}": "your own; others' need user.manage (auth.RevokeToken)",
		"GET /api/v1/engines":        "static facts about this build",

		// Executions: executor.Service decides who sees one (it takes the
		// principal); the handlers only map.
		"GET /api/v1/executions":               "your own; everyone's with sql.execute (executor.Service.List)",
		"GET /api/v1/executions/{id}":          "its requester, or sql.execute (executor.Service.Get)",
		"GET /api/v1/executions/{id}/rollback": "its requester, or sql.execute (executor.Service.RollbackScript)",
	}
	public := []string{"POST /api/v1/login"}
	seen := map[string]bool{}
	for _, rt := range (&Server{}).routes() {
		key := rt.method + " " + rt.path
		if seen[key] {
			t.Errorf("route %s declared twice", key)
		}
		seen[key] = true
		switch {
		case rt.public:
			if !slices.Contains(public, key) {
				t.Errorf("%s is public but not meant to be", key)
			}
		case rt.perm == "":
			if _, ok := openToAnyUser[key]; !ok {
				t.Errorf("%s needs no permission: give it one, or list it in openToAnyUser with the reason", key)
			}
		}
	}
	for key := range openToAnyUser {
		if !seen[key] {
			t.Errorf("openToAnyUser lists %s, which is not a route", key)
		}
	}
}
