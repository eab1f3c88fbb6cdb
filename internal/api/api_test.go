package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

type fixture struct {
	srv    *httptest.Server
	tokens map[string]string // user -> token
	api    *api.Server
	db     *sqldb.DB
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	a := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost, MaxFailures: 3})
	box, _ := secret.New(make([]byte, secret.KeySize))
	inv := inventory.NewService(db, box, engine.NewRegistry(), log)
	s := &api.Server{Auth: a, Inventory: inv, Audit: audit.NewLog(db), Engines: engine.NewRegistry(), Log: log, Version: "test"}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, tokens: map[string]string{}, api: s, db: db}
	ctx := context.Background()
	if _, _, err := a.Bootstrap(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"dora", "dba"}, {"dev", "developer"}, {"vic", "viewer"}} {
		if _, err := a.AddUser(ctx, u.name, auth.Role(u.role), u.name+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"admin", "dora", "dev", "vic"} {
		var resp api.TokenResponse
		pw := u + "-password"
		if code := f.do(t, "", "POST", "/api/v1/login", api.LoginRequest{User: u, Password: pw}, &resp); code != 200 {
			t.Fatalf("login %s: %d", u, code)
		}
		f.tokens[u] = resp.Token
	}
	return f
}

// do sends a request as user ("" for none) and decodes the answer into out.
func (f *fixture) do(t *testing.T, user, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if s, ok := in.(string); ok {
		body = strings.NewReader(s)
	} else if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func (f *fixture) seed(t *testing.T) {
	t.Helper()
	steps := []struct {
		path string
		body any
	}{
		{"/api/v1/hosts", inventory.Host{Name: "h1", Address: "127.0.0.1"}},
		{"/api/v1/clusters", inventory.Cluster{Name: "c1", Engine: engine.MariaDB}},
		{"/api/v1/instances", inventory.NewInstance{Name: "i1", Engine: engine.MariaDB, Host: "h1", Port: 3306, User: "u", Password: "p4ssw0rd-secret", Cluster: "c1", Role: "primary"}},
	}
	for _, s := range steps {
		if code := f.do(t, "dora", "POST", s.path, s.body, nil); code != http.StatusCreated {
			t.Fatalf("seed %s: %d", s.path, code)
		}
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	tests := []struct {
		user, method, path string
		body               any
		want               int
	}{
		{"", "GET", "/api/v1/instances", nil, 401},
		{"vic", "GET", "/api/v1/instances", nil, 200},
		{"vic", "POST", "/api/v1/hosts", inventory.Host{Name: "h2", Address: "x"}, 403},
		{"vic", "PATCH", "/api/v1/clusters/c1", map[string]any{"env": "test"}, 403},
		{"vic", "DELETE", "/api/v1/instances/i1", nil, 403},
		{"vic", "POST", "/api/v1/instances/i1/check", nil, 403},
		{"vic", "GET", "/api/v1/audit", nil, 403},
		{"dev", "GET", "/api/v1/clusters/c1", nil, 200},
		{"dev", "DELETE", "/api/v1/instances/i1", nil, 403},
		{"dev", "POST", "/api/v1/instances", inventory.NewInstance{Name: "i2", Engine: "mariadb", Host: "h1", Port: 3307, User: "u"}, 403},
		{"dev", "GET", "/api/v1/users", nil, 403},
		{"dev", "POST", "/api/v1/users", api.NewUser{Name: "x", Role: "admin", Password: "long-enough"}, 403},
		{"dev", "PATCH", "/api/v1/users/dev", map[string]any{"role": "admin"}, 403},
		{"dev", "PATCH", "/api/v1/users/vic", map[string]any{"password": "hijacked-pw"}, 403},
		{"dev", "PATCH", "/api/v1/users/dev", map[string]any{"password": "my-new-password"}, 400},
		{"dev", "PATCH", "/api/v1/users/dev", map[string]any{"password": "my-new-password", "current_password": "wrong"}, 403},
		{"dev", "PATCH", "/api/v1/users/dev", map[string]any{"password": "my-new-password", "current_password": "dev-password"}, 200},
		{"dora", "GET", "/api/v1/audit", nil, 200},
		{"dora", "GET", "/api/v1/users", nil, 403},
		{"admin", "GET", "/api/v1/users", nil, 200},
	}
	for _, tt := range tests {
		if got := f.do(t, tt.user, tt.method, tt.path, tt.body, nil); got != tt.want {
			t.Errorf("%s %s %s: %d, want %d", tt.user, tt.method, tt.path, got, tt.want)
		}
	}
	// Nothing the refused requests asked for happened.
	var ins []inventory.Instance
	f.do(t, "vic", "GET", "/api/v1/instances", nil, &ins)
	if len(ins) != 1 || ins[0].Name != "i1" {
		t.Fatalf("instances after refused changes: %+v", ins)
	}
	var c inventory.Cluster
	f.do(t, "vic", "GET", "/api/v1/clusters/c1", nil, &c)
	if c.Env != "prod" {
		t.Fatalf("cluster env changed by a viewer: %q", c.Env)
	}
	var entries []audit.Entry
	f.do(t, "dora", "GET", "/api/v1/audit?action=user.set-password", nil, &entries)
	if len(entries) != 1 || entries[0].User != "dev" || entries[0].Target != "dev" {
		t.Fatalf("password change audit: %+v", entries)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	tests := []struct {
		name, method, path string
		body               any
		want               int
		msg                string
	}{
		{"malformed json", "POST", "/api/v1/hosts", `{"name": "h2", "address": }`, 400, "line 1 column"},
		{"unknown field", "POST", "/api/v1/hosts", `{"name": "h2", "adress": "x"}`, 400, `unknown field "adress"`},
		{"wrong type", "POST", "/api/v1/instances", `{"name": "i2", "port": "3306"}`, 400, `field "port"`},
		{"trailing data", "POST", "/api/v1/hosts", `{"name": "h2", "address": "x"} {}`, 400, "after the object"},
		{"empty body", "POST", "/api/v1/hosts", ``, 400, "empty body"},
		{"unknown engine", "POST", "/api/v1/clusters", inventory.Cluster{Name: "c2", Engine: "oracle"}, 400, "unknown engine"},
		{"bad port", "POST", "/api/v1/instances", inventory.NewInstance{Name: "i2", Engine: "mariadb", Host: "h1", Port: 0, User: "u"}, 400, "invalid port"},
		{"duplicate", "POST", "/api/v1/hosts", inventory.Host{Name: "h1", Address: "x"}, 409, "already exists"},
		{"host in use", "DELETE", "/api/v1/hosts/h1", nil, 409, "still has 1 instance"},
		{"not found", "GET", "/api/v1/instances/nope", nil, 404, `instance "nope" not found`},
		{"unknown route", "GET", "/api/v1/frobnicate", nil, 404, "no API route"},
		{"bad since", "GET", "/api/v1/audit?since=yesterday", nil, 400, "invalid since"},
		{"check without adapter", "POST", "/api/v1/instances/i1/check", nil, 400, "no adapter"},
	}
	for _, tt := range tests {
		var eb struct {
			Error struct{ Kind, Message string }
		}
		got := f.do(t, "dora", tt.method, tt.path, tt.body, &eb)
		if got != tt.want || !strings.Contains(eb.Error.Message, tt.msg) {
			t.Errorf("%s: %d %q, want %d mentioning %q", tt.name, got, eb.Error.Message, tt.want, tt.msg)
		}
	}
}

func TestNoSecretsInResponses(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	for _, path := range []string{"/api/v1/instances", "/api/v1/instances/i1", "/api/v1/clusters/c1", "/api/v1/audit?limit=1000"} {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["admin"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, secret := range []string{"p4ssw0rd-secret", "admin-password", `"password"`} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("GET %s reveals %q", path, secret)
			}
		}
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	var tok api.TokenResponse
	if code := f.do(t, "dev", "POST", "/api/v1/tokens", api.NewToken{Name: "ci", TTL: "1h"}, &tok); code != 201 || tok.Token == "" {
		t.Fatalf("create token: %d %+v", code, tok)
	}
	f.tokens["ci"] = tok.Token
	var me api.Me
	if code := f.do(t, "ci", "GET", "/api/v1/me", nil, &me); code != 200 || me.User != "dev" {
		t.Fatalf("me with api token: %d %+v", code, me)
	}
	if code := f.do(t, "dev", "DELETE", "/api/v1/tokens/"+itoa(tok.Info.ID), nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := f.do(t, "ci", "GET", "/api/v1/me", nil, nil); code != 401 {
		t.Fatalf("revoked token still works: %d", code)
	}
	// Logout revokes the login token.
	if code := f.do(t, "vic", "POST", "/api/v1/logout", nil, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code := f.do(t, "vic", "GET", "/api/v1/me", nil, nil); code != 401 {
		t.Fatalf("token works after logout: %d", code)
	}
	// Failed logins are rate limited.
	codes := []int{}
	for i := 0; i < 4; i++ {
		codes = append(codes, f.do(t, "", "POST", "/api/v1/login", api.LoginRequest{User: "dora", Password: "guess"}, nil))
	}
	if codes[0] != 401 || codes[3] != 429 {
		t.Fatalf("login attempts: %v, want 401... then 429", codes)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestOpenAPI(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
		Comps   struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if code := f.do(t, "", "GET", "/api/v1/openapi.json", nil, &doc); code != 200 {
		t.Fatalf("openapi: %d", code)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	for _, want := range []string{"/api/v1/login", "/api/v1/instances/{name}/check", "/api/v1/shardmaps", "/api/v1/audit"} {
		if doc.Paths[want] == nil {
			t.Errorf("openapi lacks %s", want)
		}
	}
	if _, ok := doc.Comps.Schemas["inventory.NewInstance"]; !ok {
		t.Errorf("openapi lacks schema inventory.NewInstance: %v", doc.Comps.Schemas)
	}
}
