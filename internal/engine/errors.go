package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Unreachable reports whether err means a server could not be reached or
// the connection to it broke: refused, reset, unreachable host or network,
// DNS failure, an I/O timeout, an end of stream, or a context deadline.
// Adapters classify such errors as errkind.Unavailable.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, driver.ErrBadConn):
		return true
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// Redact hides secret in err's message, while errors.Is/As still see
// err's chain. Adapters pass every error they return through it, so that
// no driver message can leak a password. A secret of 8 bytes or more is
// replaced by "xxxxx" wherever it appears; a shorter one only where it
// stands as a whole token (not inside a run of letters, digits, '.', '-'
// or '_'), so that a password such as "1" does not garble "127.0.0.1" and
// thereby give itself away. Redact(nil, s) is nil.
func Redact(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	msg := err.Error()
	var out string
	if len(secret) >= 8 {
		out = strings.ReplaceAll(msg, secret, "xxxxx")
	} else {
		out = redactTokens(msg, secret)
	}
	if out == msg {
		return err
	}
	return &redacted{msg: out, err: err}
}

func redactTokens(msg, secret string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, secret)
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		end := i + len(secret)
		if (i == 0 || !isWordByte(msg[i-1])) && (end == len(msg) || !isWordByte(msg[end])) {
			b.WriteString(msg[:i])
			b.WriteString("xxxxx")
		} else {
			b.WriteString(msg[:end])
		}
		msg = msg[end:]
	}
}

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_' || c >= 0x80
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Fail is how adapters report a failed operation: err wrapped with where
// (engine://user@host:port) and what failed, secret removed from the text,
// and classified by the adapter's classify (Unknown leaves it unclassified).
func Fail(where, secret, op string, err error, classify func(error) errkind.Kind) error {
	err = Redact(fmt.Errorf("%s: %s: %w", where, op, err), secret)
	if k := classify(err); k != errkind.Unknown {
		return errkind.Wrap(k, err)
	}
	return err
}

// ServerError is an error a database server answered with, with the
// server's own code and SQLSTATE, so that a caller can tell what happened
// without the server's text (which can echo data: "Duplicate entry
// '13812345678'") and show "error 1062 (23000)" instead. Adapters wrap the
// driver's error in it; find it with errors.As.
type ServerError struct {
	// Code is the MySQL/MariaDB error number; 0 on PostgreSQL.
	Code int
	// SQLState is the five-character SQLSTATE; empty when the server sent
	// none.
	SQLState string
	// Err is the driver's error; its text is the server's message.
	Err error
}

func (e *ServerError) Error() string { return e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// Short names the error by its codes only: "error 1062 (23000)" (MySQL,
// MariaDB) or "error 22P02" (PostgreSQL).
func (e *ServerError) Short() string {
	switch {
	case e.Code != 0 && e.SQLState != "":
		return fmt.Sprintf("error %d (%s)", e.Code, e.SQLState)
	case e.Code != 0:
		return fmt.Sprintf("error %d", e.Code)
	case e.SQLState != "":
		return "error " + e.SQLState
	}
	return "error"
}
