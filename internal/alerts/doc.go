// Package alerts turns metrics and platform events into few, useful
// messages. Alert rules in Prometheus' rule-file format are evaluated by
// Prometheus' own rule manager over the embedded TSDB; platform events
// (failovers, health scores, forecasts, stuck tickets, failing scrapes)
// join them as alerts. The pipeline keeps Alertmanager's semantics where
// they overlap (routing tree, group_wait / group_interval /
// repeat_interval, inhibition with equal labels, silences, a notification
// log) and adds what an on-call DBA's phone needs: topology-aware
// inhibition from the inventory, flap damping, per-recipient merging with a
// budget and quiet hours, SMS text that fits its segments, acknowledgement
// and escalation along a weekly on-call rotation.
//
// The pipeline itself (Engine) is pure: alerts, topology and time in,
// messages out, its whole state a JSON snapshot. Service persists that
// snapshot and the outgoing messages in one transaction (the notification
// log), and delivers the messages through internal/notify with retries, so
// a restart neither re-sends nor loses a message.
//
// It owns the tables alert_state, alert_messages, alert_silences,
// alert_acks and alert_oncall_overrides.
package alerts
