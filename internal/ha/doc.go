// Package ha keeps MariaDB and Redis clusters available: it detects a
// failed primary from what every node reports, fails over (automatically
// or by hand), switches over on request, fences old primaries and records
// every step.
//
// The decisions are pure functions over a snapshot of the cluster
// (Topology): Diagnose names the problems with their evidence, Decide says
// what the controller should do, PlanFailover and PlanSwitchover choose
// the new primary. testdata/scenarios holds their fixtures. A primary is
// dead only when dbfleet cannot reach it AND every reachable replica has
// lost it (and those replicas are at least half of them); otherwise
// dbfleet re-probes and does nothing.
//
// The controller (Service.Run) runs under a lease so that one process
// acts. A recovery takes a row first: one runs per cluster at a time, and
// an unacknowledged automatic failover blocks the next automatic one of
// the same cluster during its anti-flap period.
//
// It owns the tables ha_settings, ha_promotion_rules, ha_recoveries and
// ha_recovery_steps, keyed by the inventory's cluster and instance names;
// it changes the inventory only through inventory.Service (declared roles
// after a failover).
package ha
