package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// System databases hold a server's own state: accounts and their
// passwords (MariaDB/MySQL mysql), its instrumentation, the databases new
// ones are copied from (PostgreSQL templates). A grant there is a grant on
// the server itself: UPDATE on mysql.* lets an account set root's
// password. The create-account and create-database blocks refuse them,
// on every engine and whatever the case of the name (MYSQL is a different
// database on a case-sensitive server, and refusing it too is the safe
// side).
var systemDatabases = map[string]string{
	"mysql":              "MariaDB/MySQL",
	"sys":                "MariaDB/MySQL",
	"performance_schema": "MariaDB/MySQL",
	"information_schema": "MariaDB/MySQL",
	"metrics_schema":     "TiDB",
	"postgres":           "PostgreSQL",
	"template0":          "PostgreSQL",
	"template1":          "PostgreSQL",
}

// systemDatabaseRule names the rule in refusals (the executor refuses a
// template database under the same name).
const systemDatabaseRule = executor.SystemDatabaseRule

// systemDatabase reports whether name is a system database and of which
// engines.
func systemDatabase(name string) (string, bool) {
	e, ok := systemDatabases[strings.ToLower(name)]
	return e, ok
}

// systemDatabaseError is the refusal of a block that would grant on
// (use "grant") or create (use "create") a system database.
func systemDatabaseError(use, name, engines string) error {
	what := "create-account grants on application databases only"
	if use == "create" {
		what = "create-database creates application databases only"
	}
	return errkind.New(errkind.Forbidden, "refused by the rule %q: database %q is a %s system database; %s (system databases: mysql, sys, performance_schema, information_schema, metrics_schema; postgres, template0, template1)",
		systemDatabaseRule, name, engines, what)
}

// checkSystemDatabase refuses a system database as the database of a
// block.
func checkSystemDatabase(use, name string) error {
	if engines, ok := systemDatabase(name); ok {
		return systemDatabaseError(use, name, engines)
	}
	return nil
}

// fieldDatabase is the database a form value names: a database picker's
// INSTANCE/DATABASE or a bare name.
func fieldDatabase(v string) string {
	if _, d, ok := strings.Cut(v, "/"); ok {
		return d
	}
	return v
}

// refusals lists the form values that a block of the flow would refuse
// when it runs, so the requester hears it at submit (a 403 naming the
// field) rather than after approval: a system database as the database
// of create-account or the name of create-database.
func (fl *Flow) refusals(values map[string]any) *FormError {
	fe := &FormError{Flow: fl.Name}
	add := func(field string, err error) {
		if err == nil || fe.For(field) != "" {
			return
		}
		fe.Fields = append(fe.Fields, FieldError{Field: field, Message: err.Error()})
	}
	for _, st := range fl.Steps {
		switch c := st.cfg.(type) {
		case *createAccountCfg:
			field := c.database
			if field == "" {
				field = c.target
			}
			if v, ok := values[field].(string); ok {
				add(field, checkSystemDatabase("grant", fieldDatabase(v)))
			}
		case *createDatabaseCfg:
			if v, ok := values[c.name].(string); ok {
				add(c.name, checkSystemDatabase("create", v))
			}
		}
	}
	if len(fe.Fields) == 0 {
		return nil
	}
	return fe
}

// refuse records a refused submission in the audit log (action
// ticket.refused, target flow/NAME) and returns it as a Forbidden error.
func (s *Service) refuse(ctx context.Context, fl *Flow, target TargetVars, fe *FormError) error {
	detail := map[string]any{"flow": fl.Name, "version": fl.Version, "refused": fe.Error()}
	if target.Instance != "" {
		detail["instance"] = target.Instance
	}
	if target.Database != "" {
		detail["database"] = target.Database
	}
	fields := make([]string, len(fe.Fields))
	for i, f := range fe.Fields {
		fields[i] = f.Field
	}
	detail["fields"] = fields
	if err := audit.Record(ctx, s.db, "ticket.refused", "flow/"+fl.Name, detail); err != nil {
		return fmt.Errorf("record the refusal of a %s ticket: %w", fl.Name, err)
	}
	return errkind.Wrap(errkind.Forbidden, fe)
}
