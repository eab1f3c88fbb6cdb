package query

import (
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// AllowedFunctions extends the console's allow-lists of functions
// (query.allowed_functions in the configuration): MySQL-family names
// (a built-in or UDF name, or DB.NAME for a stored function) and
// PostgreSQL names (NAME, resolved through the session's search_path,
// or SCHEMA.NAME). Names compare case-insensitively on MySQL, as
// PostgreSQL stores them (unquoted names in lower case) on PostgreSQL.
type AllowedFunctions struct {
	MySQL    []string `json:"mysql,omitempty" yaml:"mysql"`
	Postgres []string `json:"postgres,omitempty" yaml:"postgres"`
}

// allowLists are the functions, operators and settings the console lets
// statements use, built once per Service from the generated lists and
// the configuration.
type allowLists struct {
	mysql      map[string]bool // lower case; "db.name" for stored functions
	pg         map[string]bool // pg_catalog built-ins
	pgExtra    map[string]bool // configured: "name" or "schema.name"
	pgOps      map[string]bool
	pgSettings map[string]bool
}

func newAllowLists(extra AllowedFunctions) (*allowLists, error) {
	a := &allowLists{
		mysql: map[string]bool{}, pg: map[string]bool{}, pgExtra: map[string]bool{},
		pgOps: map[string]bool{}, pgSettings: map[string]bool{},
	}
	for _, n := range mysqlFunctions {
		a.mysql[n] = true
	}
	for _, n := range pgFunctions {
		a.pg[n] = true
	}
	for _, n := range pgOperators {
		a.pgOps[n] = true
	}
	for _, n := range pgSettings {
		a.pgSettings[n] = true
	}
	for _, n := range extra.MySQL {
		if err := checkFunctionName(n, "mysql"); err != nil {
			return nil, err
		}
		a.mysql[strings.ToLower(n)] = true
	}
	for _, n := range extra.Postgres {
		if err := checkFunctionName(n, "postgres"); err != nil {
			return nil, err
		}
		a.pgExtra[n] = true
	}
	return a, nil
}

// checkFunctionName validates a configured function name: NAME or
// SCHEMA.NAME, each part a plain identifier.
func checkFunctionName(n, list string) error {
	if !validFunctionName(n) {
		return errkind.New(errkind.Invalid, "query.allowed_functions.%s: %q is not a function name (want NAME or SCHEMA.NAME)", list, n)
	}
	return nil
}

// validFunctionName reports whether n is NAME or SCHEMA.NAME, each a plain
// identifier.
func validFunctionName(n string) bool {
	parts := strings.Split(n, ".")
	ok := len(parts) <= 2
	for _, p := range parts {
		if p == "" || len(p) > 64 || strings.ContainsFunc(p, func(r rune) bool {
			return !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r >= 0x80)
		}) {
			ok = false
		}
	}
	return ok
}

// notAllowed is the refusal of a function that is not on the list.
func notAllowed(name string) error {
	return refuseRule(RuleFunction, "function %s is not on the console's allow-list of read-only functions without side effects (a DBA can extend it: query.allowed_functions)", name)
}

// mysqlAllowed checks a MySQL-family function by the grammar's name
// (lower case) and its database qualifier ("" for none).
func (a *allowLists) mysqlAllowed(schema, name string) error {
	key := name
	if schema != "" {
		key = strings.ToLower(schema) + "." + name
	}
	if a.mysql[key] {
		return nil
	}
	shown := strings.ToUpper(name) + "()"
	if d, ok := mysqlDisplay[name]; ok {
		shown = d
	}
	if schema != "" {
		shown = schema + "." + shown
	}
	return notAllowed(shown)
}

// pgAllowed checks a PostgreSQL function named by schema (""
// unqualified) and name; builtin reports a pg_catalog function, which
// the caller qualifies so that the server calls exactly it.
func (a *allowLists) pgAllowed(schema, name string) (builtin bool, err error) {
	switch {
	case (schema == "" || schema == "pg_catalog") && a.pg[name]:
		return true, nil
	case schema == "" && a.pgExtra[name]:
		return false, nil
	case schema != "" && a.pgExtra[schema+"."+name]:
		return false, nil
	}
	shown := name
	if schema != "" {
		shown = schema + "." + name
	}
	return false, notAllowed(shown + "()")
}

// pgOperatorAllowed checks an operator, written as OPERATOR(schema.op)
// when qualified.
func (a *allowLists) pgOperatorAllowed(schema, op string) error {
	if (schema == "" || schema == "pg_catalog") && a.pgOps[op] {
		return nil
	}
	shown := op
	if schema != "" {
		shown = fmt.Sprintf("OPERATOR(%s.%s)", schema, op)
	}
	return refuseRule(RuleOperator, "operator %s is not on the console's allow-list of operators", shown)
}

// pgSettingAllowed checks a setting SHOW or current_setting() reads.
func (a *allowLists) pgSettingAllowed(name string) error {
	if a.pgSettings[strings.ToLower(name)] {
		return nil
	}
	return refuseRule(RuleSetting, "setting %s may not be read in the console: only settings of the allow-list are (file locations, authentication, SSL, replication, archiving and log destinations are left out)", name)
}
