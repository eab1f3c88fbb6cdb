package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestExitStatus: 2 for a wrongly called command, 1 for a failed operation,
// even when the server's message happens to contain usage-like words.
func TestExitStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error": {"kind": "invalid", "message": "invalid argument \"x\": accepts 1 arg"}}`))
	}))
	defer srv.Close()
	env := []string{"DBFLEET_SERVER=" + srv.URL, "DBFLEET_TOKEN=dbf_test", "DBFLEET_CREDENTIALS=" + t.TempDir() + "/c.json"}
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"host", "list"}, 1, `invalid argument "x"`},
		{[]string{"host", "list", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"host", "show"}, 2, "want exactly one host name"},
		{[]string{"host", "list", "-o", "xml"}, 2, `invalid output format "xml"`},
		{[]string{"nosuch"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := Run(context.Background(), tt.args, strings.NewReader(""), &out, &errb, env)
		if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("dbfleet %v: exit %d, stderr %q; want %d mentioning %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
	}
}
