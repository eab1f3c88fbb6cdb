// Package health computes a 0-100 health score per instance that explains
// itself: 100 minus deductions, each with its category (availability,
// reliability, performance, maintainability), severity, observed value,
// threshold and points (reference/health-score.md, docs/health.md).
//
// The rules are data: a built-in YAML file (rules.yaml) with the PromQL
// inputs per engine family and the rules, optionally a user file laid over
// it, with per-cluster overrides. Evaluate is the pure scoring function
// (a snapshot of input values in, a Score out); Service gathers snapshots
// through a consumer-defined Querier (PromQL on the metric store) and a
// Forecaster (the forecast package: z-scores of key metrics against their
// band, days until the disk is full), recomputes every minute ("now",
// the last 30 minutes) and daily, and stores scores and deductions in its
// own tables (health_scores, health_deductions).
package health
