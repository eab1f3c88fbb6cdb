package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", fmt.Errorf("connect: %w", syscall.ECONNREFUSED), true},
		{"op error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("x")}, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "db.invalid", IsNotFound: true}, true},
		{"deadline", fmt.Errorf("connect: %w", context.DeadlineExceeded), true},
		{"io deadline", os.ErrDeadlineExceeded, true},
		{"eof", io.ErrUnexpectedEOF, true},
		{"bad conn", driver.ErrBadConn, true},
		{"reset", syscall.ECONNRESET, true},
		{"canceled", context.Canceled, false},
		{"server error", errors.New("syntax error"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("dial failed for password=hunter22 at host")
	tests := []struct {
		name   string
		err    error
		secret string
		want   string
	}{
		{"hidden", base, "hunter22", "dial failed for password=xxxxx at host"},
		{"absent", errors.New("plain"), "hunter22", "plain"},
		{"no secret", base, "", base.Error()},
		{"wrapped kind", errkind.Wrap(errkind.Unavailable, base), "hunter22", "dial failed for password=xxxxx at host"},
		{"in a URL", errors.New("redis://u:s3cr3t@10.0.0.1:6379 refused"), "s3cr3t", "redis://u:xxxxx@10.0.0.1:6379 refused"},
		{"quoted short", errors.New(`parse "pw'x!" failed`), "pw'x!", `parse "xxxxx" failed`},
		{"short, inside numbers", errors.New("redis://127.0.0.1:6398: refused"), "1", "redis://127.0.0.1:6398: refused"},
		{"short, standing alone", errors.New("password 1 rejected"), "1", "password xxxxx rejected"},
		{"short, inside a word", errors.New("supersecretive setting"), "secret", "supersecretive setting"},
		{"long, anywhere", errors.New("pw=hunter22. next"), "hunter22", "pw=xxxxx. next"},
		{"twice", errors.New("a=pw9 b=pw9"), "pw9", "a=xxxxx b=xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.err, tt.secret)
			if got.Error() != tt.want {
				t.Errorf("Redact() = %q, want %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) || errkind.Of(got) != errkind.Of(tt.err) {
				t.Errorf("Redact() lost the chain of %v", tt.err)
			}
		})
	}
	if Redact(nil, "x") != nil {
		t.Error("Redact(nil) != nil")
	}
}

func TestTargetString(t *testing.T) {
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Engine: MariaDB, Host: "10.0.0.1", Port: 3306, User: "dba", Password: "pw-secret"}, "mariadb://dba@10.0.0.1:3306"},
		{Target{Engine: Redis, Host: "::1", Port: 6379, Password: "pw-secret"}, "redis://[::1]:6379"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.t, got, tt.want)
		}
	}
}
