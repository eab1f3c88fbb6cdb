package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	gosql "github.com/go-sql-driver/mysql"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxy"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// Clients log in with mysql_native_password, or caching_sha2_password
// whose full authentication needs TLS; a wrong password is refused.
func TestLogin(t *testing.T) {
	tests := []struct {
		name   string
		method string
		tls    bool
	}{
		{"native", mysql.AUTH_NATIVE_PASSWORD, false},
		{"native over TLS", mysql.AUTH_NATIVE_PASSWORD, true},
		{"caching_sha2 over TLS", mysql.AUTH_CACHING_SHA2_PASSWORD, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := startProxy(t, func(o *Options, _ *Topology, _ *User) {
				o.AuthMethod = tt.method
				if tt.tls {
					o.TLS = selfSigned(t)
				}
			})
			tlsMode := func(c *gosql.Config) {
				if tt.tls {
					c.TLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test's self-signed certificate
				}
			}
			for range 2 { // the second caching_sha2 login takes the fast path
				db := openDB(t, addr, "app", tlsMode)
				if got := serverID(t, db, whoami); got != 2 {
					t.Errorf("read on %d", got)
				}
				db.Close()
			}
			bad := openDB(t, addr, "app", tlsMode, func(c *gosql.Config) { c.Passwd = "wrong" })
			var me *gosql.MySQLError
			if err := bad.Ping(); err == nil || !errors.As(err, &me) || me.Number != 1045 {
				t.Errorf("wrong password: %v, want error 1045", err)
			}
		})
	}
}

// A session ends when its user is removed or its password or backend
// account changes; an unchanged user keeps its sessions.
func TestSetUsersClosesStaleSessions(t *testing.T) {
	tests := []struct {
		name   string
		change func(u User) []User
		closed bool
	}{
		{"unchanged", func(u User) []User { return []User{u} }, false},
		{"removed", func(User) []User { return nil }, true},
		{"password changed", func(u User) []User { u.Password = "new"; return []User{u} }, true},
		{"backend changed", func(u User) []User { u.Backend.Password = "other"; return []User{u} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var user User
			addr, p := startProxy(t, func(_ *Options, _ *Topology, u *User) { user = *u })
			db := openDB(t, addr, "app")
			db.SetMaxOpenConns(1)
			conn, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			serverID(t, conn, whoami)
			p.SetUsers(tt.change(user))
			var id int
			err = conn.QueryRowContext(t.Context(), whoami).Scan(&id)
			if closed := err != nil; closed != tt.closed {
				t.Errorf("session closed: %v (%v), want %v", closed, err, tt.closed)
			}
		})
	}
}
