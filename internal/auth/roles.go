package auth

import (
	"slices"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Role is a user's role. Roles are ordered: each has every permission of the
// roles below it.
type Role string

// Roles, from least to most privileged.
const (
	Viewer    Role = "viewer"
	Developer Role = "developer"
	DBA       Role = "dba"
	Admin     Role = "admin"
)

// Roles lists every role, least privileged first.
var Roles = []Role{Viewer, Developer, DBA, Admin}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", errkind.New(errkind.Invalid, "unknown role %q (roles: viewer, developer, dba, admin)", s)
}

// Permission is one thing a caller may be allowed to do.
type Permission string

// Permissions. New capabilities add theirs here and to the table below.
const (
	InventoryRead   Permission = "inventory.read"   // see hosts, clusters, instances, groups, shards
	InstanceCheck   Permission = "instance.check"   // connect to an instance and read its state
	InventoryWrite  Permission = "inventory.write"  // add and change inventory
	InventoryDelete Permission = "inventory.delete" // remove inventory
	AuditRead       Permission = "audit.read"       // read the audit log
	UserManage      Permission = "user.manage"      // add users, change roles, revoke others' tokens
	ProxyRemote     Permission = "proxy.remote"     // read a proxy's configuration with its users' passwords (dbfleet proxy run)

	MetricsRead  Permission = "metrics.read"  // dashboards, PromQL queries, health scores, forecasts
	SQLReview    Permission = "sql.review"    // review SQL against rules and live schemas
	SQLExecute   Permission = "sql.execute"   // execute reviewed SQL on an instance, apply rollbacks
	QueryRun     Permission = "query.run"     // read-only queries within one's query grants
	QueryUnmask  Permission = "query.unmask"  // see query results without masking
	QueryGrant   Permission = "query.grant"   // manage query grants and masking rules
	SlowlogRead  Permission = "slowlog.read"  // see slow-query digests
	SlowlogWrite Permission = "slowlog.write" // upload slow logs, configure collection
	HARead       Permission = "ha.read"       // see topology, diagnoses and recoveries
	HAManage     Permission = "ha.manage"     // fail over, switch over, acknowledge recoveries
	VerifyRead   Permission = "verify.read"   // see replica consistency checks and their differences
	VerifyRun    Permission = "verify.run"    // run consistency checks and repair replicas

	FlowRead      Permission = "flow.read"      // see work-order flows and tickets (SQL and results only where the ticket allows)
	FlowSubmit    Permission = "flow.submit"    // submit tickets of flows whose access allows it
	TicketApprove Permission = "ticket.approve" // approve or reject tickets where a flow names one's role or user
	TicketManage  Permission = "ticket.manage"  // retry, resolve, cancel any ticket; see every ticket's SQL and results
	FlowManage    Permission = "flow.manage"    // reload flow files, run scheduled tasks now, see flow errors

	ReportRead   Permission = "report.read"   // list and run the reports whose own access list allows it
	ReportManage Permission = "report.manage" // reload report files and see their errors

	AlertRead   Permission = "alert.read"   // see alerts, rules, silences, messages and who is on call
	AlertAck    Permission = "alert.ack"    // acknowledge alerts (stops repeats and escalation)
	AlertManage Permission = "alert.manage" // silence and unsilence, post alerts, reload rules
)

// grants is the permission table: the permissions each role adds to those of
// the roles before it.
var grants = map[Role][]Permission{
	Viewer:    {InventoryRead, MetricsRead, HARead, FlowRead, VerifyRead, AlertRead, ReportRead},
	Developer: {InstanceCheck, SQLReview, QueryRun, SlowlogRead, FlowSubmit, TicketApprove, AlertAck},
	DBA:       {InventoryWrite, InventoryDelete, AuditRead, SQLExecute, QueryUnmask, QueryGrant, SlowlogWrite, HAManage, VerifyRun, TicketManage, FlowManage, AlertManage, ReportManage},
	Admin:     {UserManage, ProxyRemote},
}

// Can reports whether role r has permission p.
func Can(r Role, p Permission) bool {
	if !slices.Contains(Roles, r) {
		return false
	}
	for _, role := range Roles {
		if slices.Contains(grants[role], p) {
			return true
		}
		if role == r {
			return false
		}
	}
	return false
}

// PermissionsOf lists every permission of r.
func PermissionsOf(r Role) []Permission {
	var out []Permission
	for _, role := range Roles {
		out = append(out, grants[role]...)
		if role == r {
			return out
		}
	}
	return nil
}
