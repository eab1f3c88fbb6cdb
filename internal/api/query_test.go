package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// The console's errors over HTTP: a refusal is a 4xx whose body names
// the rule; a server error of a masked caller shows only its code.
func TestConsoleErrorBodies(t *testing.T) {
	f := newFixture(t)
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.users (id INT PRIMARY KEY, phone VARCHAR(20))",
		"INSERT INTO shop.users VALUES (1, '13812345678'), (2, '13987654321')")
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "dora"})
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	db := sqldbtest.SQLite(t)
	box, _ := secret.New(make([]byte, secret.KeySize))
	engines := engine.NewRegistry(mysql.New())
	inv := inventory.NewService(db, box, engines, log)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}
	svc, err := query.NewService(db, box, inv, engines, f.api.Auth, log, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.api.Query = svc
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	if _, err := svc.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "m1", Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddMask(ctx, dba, query.MaskRule{Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stmt, kind, rule, message string
		status                    int
	}{
		{"SELECT SLEEP(1)", "forbidden", "function-not-allowed", "function SLEEP() is not on the console's allow-list", http.StatusForbidden},
		{"SELECT 1 /*T! , 'a */ , (SELECT phone FROM users) /*' */", "forbidden", "special-comment", "special comments (/*T!", http.StatusForbidden},
		{"SELECT * FROM mysql.user", "forbidden", "not-granted", "table mysql.user is not granted to user dev", http.StatusForbidden},
		{"SELEC 1", "invalid", "syntax", "cannot parse the statement", http.StatusBadRequest},
		{"SELECT COUNT(*) FROM users a, users b, users c GROUP BY CONCAT(a.phone, FLOOR(RAND(0)*2))", "invalid", "", "the server refused the statement: error 1062 (23000)", http.StatusBadRequest},
		{"SELECT EXTRACTVALUE('<a>x</a>', CONCAT('~', phone)) FROM users", "invalid", "", "the server refused the statement: error 1105 (HY000)", http.StatusBadRequest},
	} {
		var body httpx.ErrorBody
		code := f.do(t, "dev", "POST", "/api/v1/console/run", query.Request{Instance: "m1", Database: "shop", Statement: tc.stmt}, &body)
		if code != tc.status || body.Error.Kind != tc.kind || body.Error.Rule != tc.rule || !strings.Contains(body.Error.Message, tc.message) {
			t.Errorf("%s: %d %+v, want %d %s %q %q", tc.stmt, code, body.Error, tc.status, tc.kind, tc.rule, tc.message)
		}
		if strings.Contains(body.Error.Message, "1381234") || strings.Contains(body.Error.Message, "1398765") {
			t.Errorf("%s: the body holds a masked value: %s", tc.stmt, body.Error.Message)
		}
	}
	if strings.Contains(logBuf.String(), "1381234") || strings.Contains(logBuf.String(), "1398765") {
		t.Errorf("the log holds a masked value: %s", logBuf.String())
	}
}
