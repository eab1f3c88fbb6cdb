package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// codeRef is a server error's code as the audit entry and the masked
// message keep it: "1062 (23000)" or "SQLSTATE 22P02".
func codeRef(se *engine.ServerError) string {
	if se.Code != 0 {
		return fmt.Sprintf("%d (%s)", se.Code, se.SQLState)
	}
	return "SQLSTATE " + se.SQLState
}

// mysqlDataErrors are MySQL-family errors whose text quotes a value.
var mysqlDataErrors = map[int]bool{
	1048: true, // column cannot be null
	1062: true, // duplicate entry 'value' for key
	1105: true, // unknown error (XPath syntax error: 'value')
	1264: true, // out of range value
	1265: true, // data truncated
	1292: true, // truncated incorrect value: 'value'
	1300: true, // invalid character string: 'value'
	1366: true, // incorrect string value
	1367: true, // illegal value
	1406: true, // data too long
	1411: true, // incorrect value for function
	1441: true, // datetime field overflow
	1525: true, // incorrect value
	1586: true, // duplicate entry for key
	1690: true, // value is out of range in 'expression'
	1859: true, // duplicate entry for key
	1918: true, // illegal value when converting
	3140: true, // invalid JSON text
	3141: true, // invalid JSON text in argument
	3146: true, // invalid data type for JSON data
	4025: true, // constraint failed
}

// pgDataErrorClass: PostgreSQL data exceptions (22), integrity constraint
// violations (23) and PL/pgSQL raises (P0) quote values.
func pgDataErrorClass(state string) bool {
	return strings.HasPrefix(state, "22") || strings.HasPrefix(state, "23") || strings.HasPrefix(state, "P0")
}

// serverCode finds the server's error code in err's chain (the adapters
// wrap the driver's error in an engine.ServerError).
func serverCode(err error) (code int, state string, ok bool) {
	var se *engine.ServerError
	if errors.As(err, &se) {
		return se.Code, se.SQLState, true
	}
	return 0, "", false
}

// timeoutError reports a statement stopped by its time limit.
func timeoutError(ctx context.Context, err error, code int, state string, timeout time.Duration) error {
	switch {
	case code == 1969 || code == 3024 || code == 1317 || state == "57014":
		// MariaDB max_statement_time, MySQL max_execution_time,
		// interrupted, PostgreSQL statement_timeout (query_canceled).
		return errkind.New(errkind.Invalid, "the statement ran longer than the %s limit and was stopped by the server", timeout)
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return errkind.New(errkind.Invalid, "the statement ran longer than the %s limit and was cancelled", timeout)
	}
	return nil
}

// statementError explains a failed statement (or a failed read of the
// schema for it). A refusal passes through; a statement stopped by the
// timeout says so; a server error is the caller's statement's doing
// (4xx: errkind.Invalid), except the instance's own refusals (its
// account's privileges: errkind.Upstream) and a lost connection. When
// masked (masking rules apply to the caller), and always for the error
// classes that quote data, the server's text is replaced by its code:
// "the server refused the statement: error 1062 (23000)".
func statementError(ctx context.Context, err error, timeout time.Duration, masked bool) error {
	if err == nil {
		return nil
	}
	if _, ok := asRefusal(err); ok {
		return err
	}
	code, state, ok := serverCode(err)
	if terr := timeoutError(ctx, err, code, state, timeout); terr != nil {
		return terr
	}
	if !ok {
		return err // not the server's answer: a lost connection (Unavailable), a cancelled request
	}
	kind := errkind.Invalid
	switch errkind.Of(err) {
	case errkind.Unauthorized, errkind.Forbidden:
		kind = errkind.Upstream // the instance's refusal, not the caller's
	case errkind.Unavailable:
		kind = errkind.Unavailable
	}
	if masked || mysqlDataErrors[code] || code == 0 && pgDataErrorClass(state) {
		// The server's text is left out: only the codes travel on, in an
		// engine.ServerError whose message is the code.
		se := &engine.ServerError{Code: code, SQLState: state}
		ref := codeRef(se)
		if code != 0 {
			ref = "error " + ref
		}
		se.Err = errkind.New(kind, "the server refused the statement: %s", ref)
		return se
	}
	return errkind.Wrap(kind, err)
}
