package api_test

import (
	"net/http"
	"testing"
)

// Without the work-order service, its routes answer 503 (after the usual
// authentication and permission checks), never crash.
func TestFlowRoutesWithoutService(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		user, method, path string
		want               int
	}{
		{"dev", "GET", "/api/v1/flows", http.StatusServiceUnavailable},
		{"dev", "GET", "/api/v1/tickets/1/attachments/1", http.StatusServiceUnavailable},
		{"vic", "POST", "/api/v1/tickets", http.StatusForbidden},
		{"dev", "POST", "/api/v1/tickets/1/retry", http.StatusForbidden},
		{"", "GET", "/api/v1/tickets", http.StatusUnauthorized},
	} {
		if got := f.do(t, c.user, c.method, c.path, nil, nil); got != c.want {
			t.Errorf("%s %s as %q: %d, want %d", c.method, c.path, c.user, got, c.want)
		}
	}
}
