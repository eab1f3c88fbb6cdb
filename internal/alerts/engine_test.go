package alerts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC) // a Tuesday, 3 a.m.

func testConfig() Config {
	c := DefaultConfig()
	c.People = []Person{{Name: "alice", Channels: []string{"sms"}}, {Name: "bob", Channels: []string{"sms"}}}
	c.Teams = []Team{{Name: "dba", Rotation: []string{"alice", "bob"}, Handoff: t0.Add(-24 * time.Hour)}}
	c.Receivers = []Receiver{{Name: "dba", Team: "dba"}}
	c.Route.Receiver = "dba"
	return c
}

// fleet: cluster c1 (db1 primary on h1, db2 and db3 replicas on h2), c2
// (db4 primary on h1, db5 replica on h2).
var fleet = TopologyView{
	"db1": {Host: "h1", Cluster: "c1", Role: "primary", Rack: "r1"},
	"db2": {Host: "h2", Cluster: "c1", Role: "replica", Rack: "r2"},
	"db3": {Host: "h2", Cluster: "c1", Role: "replica", Rack: "r2"},
	"db4": {Host: "h1", Cluster: "c2", Role: "primary", Rack: "r1"},
	"db5": {Host: "h2", Cluster: "c2", Role: "replica", Rack: "r2"},
}

func al(name, sev string, kv ...string) Alert {
	l := map[string]string{"alertname": name, "severity": sev}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return Alert{Labels: l}
}

func newEngine(t *testing.T, c Config) *Engine {
	t.Helper()
	e, err := NewEngine(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.SetTopology(fleet)
	return e
}

// run ticks the engine every second from..to, putting alerts each 15 s
// evaluation, and returns the digests.
func run(e *Engine, from, to time.Duration, alerts func(at time.Duration) []Alert) []Digest {
	var out []Digest
	for d := from; d <= to; d += time.Second {
		now := t0.Add(d)
		if d%(15*time.Second) == 0 && alerts != nil {
			e.Put(now, alerts(d)...)
		}
		out = append(out, e.Tick(now)...)
	}
	return out
}

func TestRackLossIsOneMessageNamingTheRootCause(t *testing.T) {
	e := newEngine(t, testConfig())
	storm := []Alert{
		al("HostDown", "critical", "host", "h1"),
		al("MySQLDown", "critical", "instance", "db1"),
		al("MySQLDown", "critical", "instance", "db4"),
		al("MySQLReplicationIOStopped", "critical", "instance", "db2"),
		al("MySQLReplicationIOStopped", "critical", "instance", "db3"),
		al("MySQLReplicationIOStopped", "critical", "instance", "db5"),
		al("MySQLSlowQueries", "warning", "instance", "db1"),
	}
	got := run(e, 0, 10*time.Minute, func(time.Duration) []Alert { return storm })
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1: %+v", len(got), got)
	}
	d := got[0]
	if d.Recipient != "alice" || !d.At.Equal(t0.Add(30*time.Second)) {
		t.Errorf("message to %s at %s, want alice at group_wait (30s)", d.Recipient, d.At.Sub(t0))
	}
	if d.Alerts != len(storm) {
		t.Errorf("message covers %d alerts, want all %d", d.Alerts, len(storm))
	}
	if len(d.Lines) != 1 || d.Lines[0].Name != "HostDown" || d.Lines[0].Covers != 6 {
		t.Errorf("lines %+v, want one HostDown line covering 6 symptoms", d.Lines)
	}
	sms := SMSText(d, "https://x/a/T", 1)
	if want := "[P1] 7 alerts/5 inst: h1 HostDown(6 symptoms) https://x/a/T"; sms != want {
		t.Errorf("sms %q, want %q", sms, want)
	}
}

func TestFailoverMutesReplicaLagUntilItEnds(t *testing.T) {
	e := newEngine(t, testConfig())
	failing := true
	got := run(e, 0, 20*time.Minute, func(at time.Duration) []Alert {
		var a []Alert
		if at < 5*time.Minute {
			a = append(a, al("FailoverInProgress", "critical", "cluster", "c1"))
		}
		if failing {
			a = append(a, al("MySQLReplicationLag", "warning", "instance", "db2"), al("MySQLReplicationLag", "warning", "instance", "db3"))
		}
		if at >= 4*time.Minute {
			failing = false
			for i := range a {
				if a[i].Name() == "MySQLReplicationLag" {
					a[i].EndsAt = t0.Add(at)
				}
			}
		}
		return a
	})
	// One page at 30s for the failover covering both lags; when it ends
	// the failover's resolution (lag already gone) — never a lag page.
	for _, d := range got {
		for _, l := range d.Lines {
			if l.Name == "MySQLReplicationLag" && !l.Resolved {
				t.Errorf("lag paged at %s despite the failover: %+v", d.At.Sub(t0), d)
			}
		}
	}
	if len(got) == 0 || got[0].Lines[0].Name != "FailoverInProgress" || got[0].Lines[0].Covers != 2 {
		t.Fatalf("first message %+v, want the failover covering 2 symptoms", got)
	}
}

func TestDedupRepeatAndAck(t *testing.T) {
	c := testConfig()
	c.Route.RepeatInterval = dur(time.Hour)
	c.Ack.EscalateAfter = 0
	e := newEngine(t, c)
	a := al("MySQLDown", "critical", "instance", "db1")
	got := run(e, 0, 2*time.Hour+11*time.Minute, func(time.Duration) []Alert { return []Alert{a} })
	// 30s, then repeats on the first group_interval tick strictly after
	// repeat_interval (Alertmanager's rule): 1h5m30s, 2h10m30s.
	var at []time.Duration
	for _, d := range got {
		at = append(at, d.At.Sub(t0))
	}
	if len(at) != 3 || at[0] != 30*time.Second || at[1] != time.Hour+5*time.Minute+30*time.Second {
		t.Errorf("messages at %v, want 30s, 1h5m30s, 2h10m30s", at)
	}
	// Acknowledged: no more repeats.
	e.SetAcks(map[string]time.Time{"0:{alertname=\"MySQLDown\",cluster=\"c1\"}": t0.Add(2*time.Hour + 11*time.Minute)})
	if more := run(e, 2*time.Hour+11*time.Minute+time.Second, 5*time.Hour, func(time.Duration) []Alert { return []Alert{a} }); len(more) != 0 {
		t.Errorf("acknowledged group repeated: %d messages", len(more))
	}
}

func TestPerRecipientMergeWindowAndBudget(t *testing.T) {
	c := testConfig()
	c.Merge.Interval = 2 * time.Minute
	c.Merge.Budget = 2
	c.Ack.EscalateAfter = 0
	e := newEngine(t, c)
	// A new cluster's alert every minute: with group_by cluster, each a
	// new group of its own; Alertmanager would send 12.
	got := run(e, 0, 12*time.Minute, func(at time.Duration) []Alert {
		var a []Alert
		for i := 0; i <= int(at/time.Minute); i++ {
			a = append(a, al("MySQLTooManyConnections", "warning", "cluster", "k"+string(rune('a'+i))))
		}
		return a
	})
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2 (budget)", len(got))
	}
	if got[1].At.Sub(got[0].At) < 2*time.Minute {
		t.Errorf("second message %s after the first, want at least the 2m merge interval", got[1].At.Sub(got[0].At))
	}
	more := run(e, 12*time.Minute+time.Second, 35*time.Minute, func(at time.Duration) []Alert {
		var a []Alert
		for i := 0; i < 13; i++ {
			a = append(a, al("MySQLTooManyConnections", "warning", "cluster", "k"+string(rune('a'+i))))
		}
		return a
	})
	if len(more) == 0 || more[0].Held == 0 || more[0].At.Before(got[0].At.Add(30*time.Minute)) {
		t.Fatalf("after the budget window: %+v, want a message stating held updates once the window slid", more)
	}
	if !strings.Contains(SMSText(more[0], "L", 2), "delayed by budget") {
		t.Errorf("sms %q does not say updates were held", SMSText(more[0], "L", 2))
	}
	total := map[string]bool{}
	for _, d := range append(got, more...) {
		for _, fp := range d.Covered {
			total[fp] = true
		}
	}
	if len(total) != 13 {
		t.Errorf("messages account for %d alerts, want all 13", len(total))
	}
}

func TestFlapDamping(t *testing.T) {
	c := testConfig()
	c.Flap = Flap{FireAfter: 2, ResolvedHold: 3 * time.Minute}
	c.Ack.EscalateAfter = 0
	e := newEngine(t, c)
	// Up and down every minute for 10 minutes: fires after 2 evaluations,
	// then never resolves within the hold.
	got := run(e, 0, 10*time.Minute, func(at time.Duration) []Alert {
		a := al("MySQLReplicationLag", "warning", "instance", "db2")
		if (at/time.Minute)%2 == 1 {
			a.EndsAt = t0.Add(at)
		}
		return []Alert{a}
	})
	if len(got) != 1 {
		t.Fatalf("flapping alert gave %d messages, want 1", len(got))
	}
	if got[0].At != t0.Add(45*time.Second) {
		t.Errorf("first message at %s, want 45s (2nd evaluation at 15s + group_wait 30s)", got[0].At.Sub(t0))
	}
	// Resolves for good: "resolved" only after the 3m hold.
	res := run(e, 10*time.Minute+time.Second, 30*time.Minute, func(at time.Duration) []Alert {
		a := al("MySQLReplicationLag", "warning", "instance", "db2")
		a.EndsAt = t0.Add(10 * time.Minute)
		return []Alert{a}
	})
	if len(res) != 1 || res[0].Resolved != 1 || res[0].At.Before(t0.Add(13*time.Minute)) {
		t.Errorf("resolution %+v, want one resolved message after the 3m hold", res)
	}
}

func TestEscalation(t *testing.T) {
	e := newEngine(t, testConfig())
	got := run(e, 0, 20*time.Minute, func(time.Duration) []Alert { return []Alert{al("MySQLDown", "critical", "instance", "db1")} })
	var who []string
	for _, d := range got {
		who = append(who, d.Recipient)
	}
	if strings.Join(who, ",") != "alice,bob" || got[1].Escalated != 1 || !strings.HasPrefix(SMSText(got[1], "", 1), "ESCALATED") {
		t.Errorf("recipients %v (%+v), want alice then bob escalated after 15m", who, got)
	}
}

func TestQuietHoursHoldLowPriority(t *testing.T) {
	c := testConfig()
	c.People[0].QuietHours = "22:00-07:00"
	c.People[0].QuietMinPriority = "P1"
	e := newEngine(t, c)
	got := run(e, 0, 10*time.Minute, func(time.Duration) []Alert { return []Alert{al("MySQLSlowQueries", "warning", "instance", "db1")} })
	if len(got) != 0 {
		t.Fatalf("a P2 reached alice in quiet hours: %+v", got)
	}
	got = run(e, 4*time.Hour, 4*time.Hour+time.Minute, func(time.Duration) []Alert { return []Alert{al("MySQLSlowQueries", "warning", "instance", "db1")} })
	if len(got) != 1 || got[0].At != t0.Add(4*time.Hour) {
		t.Errorf("after quiet hours: %+v, want the held message at 07:00", got)
	}
}

func TestSilence(t *testing.T) {
	e := newEngine(t, testConfig())
	if err := e.SetSilences([]Silence{{ID: 1, Matchers: []string{`instance=db1`}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	got := run(e, 0, 5*time.Minute, func(time.Duration) []Alert { return []Alert{al("MySQLDown", "critical", "instance", "db1")} })
	if len(got) != 0 {
		t.Fatalf("silenced alert sent: %+v", got)
	}
	st := e.Alerts(t0.Add(5 * time.Minute))
	if len(st) != 1 || st[0].State != "silenced" || st[0].Rule != "silence:1" {
		t.Errorf("status %+v, want silenced by silence:1", st)
	}
	// The silence expires by itself.
	got = run(e, time.Hour, time.Hour+5*time.Minute, func(time.Duration) []Alert { return []Alert{al("MySQLDown", "critical", "instance", "db1")} })
	if len(got) != 1 {
		t.Errorf("after expiry got %d messages, want 1", len(got))
	}
}

// A restart from the saved state neither re-sends nor forgets.
func TestSavedStateSurvivesRestart(t *testing.T) {
	c := testConfig()
	e := newEngine(t, c)
	a := []Alert{al("MySQLDown", "critical", "instance", "db1")}
	if got := run(e, 0, time.Minute, func(time.Duration) []Alert { return a }); len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	raw, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	e2, err := NewEngine(c, &st)
	if err != nil {
		t.Fatal(err)
	}
	e2.SetTopology(fleet)
	c.Ack.EscalateAfter = 0
	got := run(e2, time.Minute+time.Second, 10*time.Minute, func(time.Duration) []Alert { return a })
	for _, d := range got {
		if d.Escalated == 0 {
			t.Errorf("restarted engine re-sent %+v", d)
		}
	}
}

func TestInhibitRuleEqualLabels(t *testing.T) {
	c := testConfig()
	c.Topology = Topology{}
	c.InhibitRules = []InhibitRule{{SourceMatchers: []string{`alertname="HostDown"`}, TargetMatchers: []string{`severity=~"warning|critical"`}, Equal: []string{"host"}}}
	e := newEngine(t, c)
	e.Put(t0, al("HostDown", "critical", "host", "h1"), al("MySQLDown", "critical", "instance", "db1"), al("MySQLDown", "critical", "instance", "db2"))
	byInst := map[string]AlertStatus{}
	for _, s := range e.Alerts(t0) {
		byInst[s.Labels["instance"]+s.Labels["alertname"]] = s
	}
	if s := byInst["db1MySQLDown"]; s.State != "inhibited" || s.Rule != "inhibit_rules[0]" {
		t.Errorf("db1 on h1: %+v, want inhibited by rule 0", s)
	}
	if s := byInst["db2MySQLDown"]; s.State != "firing" {
		t.Errorf("db2 on h2: %+v, want firing", s)
	}
}

func TestSMSSegments(t *testing.T) {
	tests := []struct {
		s        string
		enc      string
		segments int
	}{
		{strings.Repeat("a", 160), "GSM-7", 1},
		{strings.Repeat("a", 161), "GSM-7", 2},
		{strings.Repeat("a", 306), "GSM-7", 2},
		{strings.Repeat("a", 307), "GSM-7", 3},
		{strings.Repeat("{", 80), "GSM-7", 1}, // extension: 2 septets each
		{strings.Repeat("{", 81), "GSM-7", 2},
		{strings.Repeat("主", 70), "UCS-2", 1},
		{strings.Repeat("主", 71), "UCS-2", 2},
		{strings.Repeat("主", 134), "UCS-2", 2},
		{strings.Repeat("主", 135), "UCS-2", 3},
	}
	for _, tt := range tests {
		enc, _ := SMSLength(tt.s)
		if enc != tt.enc || SMSSegments(tt.s) != tt.segments {
			t.Errorf("%d runes of %q: %s %d segments, want %s %d", len([]rune(tt.s)), []rune(tt.s)[0], enc, SMSSegments(tt.s), tt.enc, tt.segments)
		}
	}
}

func TestSMSTextCutsByPriorityAndKeepsLink(t *testing.T) {
	d := Digest{Priority: P1, Alerts: 30, Instances: 30}
	for i := range 30 {
		p := P2
		if i == 29 {
			p = P1
		}
		d.Lines = append(d.Lines, Line{Name: "MySQLReplicationLag", Subject: "db-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)), Priority: p})
	}
	d.Lines[0], d.Lines[29] = d.Lines[29], d.Lines[0]
	link := "https://dbfleet.example/a/abcdef"
	for _, segs := range []int{1, 2} {
		s := SMSText(d, link, segs)
		if SMSSegments(s) > segs || !strings.HasSuffix(s, link) || !strings.Contains(s, "more") {
			t.Errorf("%d segments: %q (%d segments)", segs, s, SMSSegments(s))
		}
	}
	d.Lines[0].Summary = "主库宕机"
	d.Lines[0].Name = "主库宕机"
	s := SMSText(d, link, 2)
	if enc, n := SMSLength(s); enc != "UCS-2" || n > 134 || !strings.Contains(s, "主库宕机") || !strings.HasSuffix(s, link) {
		t.Errorf("UCS-2 text %q: %s %d units", s, enc, n)
	}
}

func TestP1NeverWaitsForTheMergeInterval(t *testing.T) {
	c := testConfig()
	c.Ack.EscalateAfter = 0
	e := newEngine(t, c)
	// db1 (c1's primary) dies at 0; a warning on c2 at 20s; db4 (c2's
	// primary) dies at 40s, 10 s after the first page went out.
	got := run(e, 0, 3*time.Minute, func(at time.Duration) []Alert {
		a := []Alert{al("MySQLDown", "critical", "instance", "db1")}
		if at >= 15*time.Second {
			a = append(a, al("MySQLLongTransaction", "warning", "instance", "db5"))
		}
		if at >= 45*time.Second {
			a = append(a, al("MySQLDown", "critical", "instance", "db4"))
		}
		return a
	})
	if len(got) < 2 {
		t.Fatalf("got %d messages, want the first page and the second P1's page: %+v", len(got), got)
	}
	if at := got[0].At.Sub(t0); at != 30*time.Second {
		t.Errorf("first page at %s, want 30s (group_wait)", at)
	}
	// The second P1's group was created at 45s: it pages at 75s, not at
	// 2m30s when the merge interval since the first page ends.
	if at := got[1].At.Sub(t0); at != 75*time.Second {
		t.Errorf("second P1 paged at %s, want 75s (its group_wait), not held by the 2m merge interval", at)
	}
	names := map[string]bool{}
	for _, l := range got[1].Lines {
		names[l.Subject+" "+l.Name] = true
	}
	if !names["db4 MySQLDown"] || !names["db5 MySQLLongTransaction"] {
		t.Errorf("second page lines %+v, want db4's P1 carrying the pending db5 warning", got[1].Lines)
	}
	if len(got) > 2 {
		for _, d := range got[2:] {
			if d.At.Before(got[1].At.Add(c.Merge.Interval)) {
				t.Errorf("a message at %s within the merge interval after the P1 page: %+v", d.At.Sub(t0), d.Lines)
			}
		}
	}
}
