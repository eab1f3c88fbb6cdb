package alerts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Instance is what the topology knows of one database instance.
type Instance struct {
	Host    string `json:"host,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	Rack    string `json:"rack,omitempty"`
	Role    string `json:"role,omitempty"` // primary, replica
}

// TopologyView maps instance names to their place in the fleet.
type TopologyView map[string]Instance

// Enrich adds host, cluster, rack and role labels from the topology to an
// alert naming an instance, without overriding the alert's own.
func (t TopologyView) Enrich(l map[string]string) map[string]string {
	in, ok := t[l["instance"]]
	if !ok {
		return l
	}
	out := maps.Clone(l)
	for k, v := range map[string]string{"host": in.Host, "cluster": in.Cluster, "rack": in.Rack, "role": in.Role} {
		if v != "" && out[k] == "" {
			out[k] = v
		}
	}
	return out
}

// Silence mutes alerts matching all its matchers between StartsAt and
// EndsAt.
type Silence struct {
	ID        int64     `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
	// Source is "user", or what made it ("ticket:42", "switchover:c1").
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Active reports whether the silence mutes at now.
func (s Silence) Active(now time.Time) bool { return !now.Before(s.StartsAt) && now.Before(s.EndsAt) }

type alertEntry struct {
	Alert         Alert     `json:"alert"`
	Evals         int       `json:"evals"`
	Active        bool      `json:"active"` // passed flap.fire_after
	ResolvedSince time.Time `json:"resolved_since,omitzero"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type groupState struct {
	Key       string            `json:"key"`
	Route     string            `json:"route"`
	Receiver  string            `json:"receiver"`
	Labels    map[string]string `json:"labels"`
	CreatedAt time.Time         `json:"created_at"`
	NextFlush time.Time         `json:"next_flush"`
	Flushed   bool              `json:"flushed"`
	Alerts    []string          `json:"alerts"`
}

type nflogEntry struct {
	Firing   []string  `json:"firing"`
	Resolved []string  `json:"resolved"`
	At       time.Time `json:"at"`
}

type digestItem struct {
	Group    string   `json:"group"`
	Firing   []string `json:"firing"`
	Resolved []string `json:"resolved"`
	// Escalated is the escalation level that brought it (0: on call).
	Escalated int       `json:"escalated,omitempty"`
	At        time.Time `json:"at"`
}

type digest struct {
	Items    []digestItem `json:"items"`
	LastSent time.Time    `json:"last_sent,omitzero"`
	Sent     []time.Time  `json:"sent,omitempty"` // within the budget window
	// Held counts updates that waited for the budget since the last message.
	Held int `json:"held,omitempty"`
	// Told are the firing alerts this person's messages covered.
	Told map[string]bool `json:"told,omitempty"`
}

type escalation struct {
	Group    string    `json:"group"`
	Receiver string    `json:"receiver"`
	Level    int       `json:"level"`
	SentAt   time.Time `json:"sent_at"`
}

// State is the engine's whole state, saved as JSON after every tick.
type State struct {
	Alerts      map[string]*alertEntry `json:"alerts"`
	Groups      map[string]*groupState `json:"groups"`
	NFLog       map[string]nflogEntry  `json:"nflog"`
	Digests     map[string]*digest     `json:"digests"`
	Escalations map[string]*escalation `json:"escalations"`
	Seq         int64                  `json:"seq"`
}

// Engine is the notification pipeline as a pure state machine: Put adds
// alerts, Tick advances to now and returns the messages due. It is not
// safe for concurrent use.
type Engine struct {
	cc       *compiled
	st       State
	topo     TopologyView
	silences []Silence
	silenceM map[int64][]*labels.Matcher
	acks     map[string]time.Time
}

// NewEngine returns an engine for a compiled configuration, starting from
// a saved state (nil for a fresh one).
func NewEngine(c Config, saved *State) (*Engine, error) {
	cc, err := Compile(c)
	if err != nil {
		return nil, err
	}
	e := &Engine{cc: cc, silenceM: map[int64][]*labels.Matcher{}, acks: map[string]time.Time{}}
	if saved != nil {
		e.st = *saved
	}
	if e.st.Alerts == nil {
		e.st.Alerts = map[string]*alertEntry{}
	}
	if e.st.Groups == nil {
		e.st.Groups = map[string]*groupState{}
	}
	if e.st.NFLog == nil {
		e.st.NFLog = map[string]nflogEntry{}
	}
	if e.st.Digests == nil {
		e.st.Digests = map[string]*digest{}
	}
	if e.st.Escalations == nil {
		e.st.Escalations = map[string]*escalation{}
	}
	return e, nil
}

// State returns the engine's state (to save it).
func (e *Engine) State() *State { return &e.st }

// SetTopology sets the fleet's topology for enrichment and inhibition.
func (e *Engine) SetTopology(t TopologyView) { e.topo = t }

// SetSilences replaces the silences.
func (e *Engine) SetSilences(ss []Silence) error {
	m := map[int64][]*labels.Matcher{}
	for _, s := range ss {
		ms, err := ParseMatchers(s.Matchers)
		if err != nil {
			return fmt.Errorf("silence %d: %w", s.ID, err)
		}
		m[s.ID] = ms
	}
	e.silences, e.silenceM = ss, m
	return nil
}

// SetOverrides replaces the on-call overrides added at run time (team ->
// overrides, newest first); they win over the configuration's.
func (e *Engine) SetOverrides(o map[string][]Override) { e.cc.overrides = o }

// SetAcks replaces the acknowledgements: group key -> when.
func (e *Engine) SetAcks(a map[string]time.Time) { e.acks = a }

// Put records alerts as the rule manager or an event source sent them.
func (e *Engine) Put(now time.Time, alerts ...Alert) {
	for _, a := range alerts {
		a.Labels = e.topo.Enrich(a.Labels)
		fp := a.Fingerprint()
		en, ok := e.st.Alerts[fp]
		if a.Resolved(now) {
			if !ok {
				continue
			}
			en.Alert.EndsAt = a.EndsAt
			en.Evals = 0
			if !en.Active {
				delete(e.st.Alerts, fp)
				continue
			}
			if en.ResolvedSince.IsZero() {
				en.ResolvedSince = a.EndsAt
			}
			en.UpdatedAt = now
			continue
		}
		if !ok {
			if a.StartsAt.IsZero() {
				a.StartsAt = now
			}
			en = &alertEntry{Alert: a}
			e.st.Alerts[fp] = en
		} else {
			starts := en.Alert.StartsAt
			en.Alert = a
			if !en.ResolvedSince.IsZero() && en.Active && now.Sub(en.ResolvedSince) < e.cc.cfg.Flap.ResolvedHold {
				// Flap: it came back within the hold, so it never
				// resolved as far as people are concerned.
				en.Alert.StartsAt = starts
			} else if !en.ResolvedSince.IsZero() {
				en.Active = false
				en.Evals = 0
			} else {
				en.Alert.StartsAt = starts
			}
			en.ResolvedSince = time.Time{}
		}
		en.Evals++
		en.UpdatedAt = now
		if en.Evals >= e.cc.cfg.Flap.FireAfter {
			en.Active = true
		}
	}
}

// firingAt reports whether an entry counts as firing at now: active, and
// not resolved for longer than the hold.
func (e *Engine) firingAt(en *alertEntry, now time.Time) bool {
	if !en.Active {
		return false
	}
	if en.ResolvedSince.IsZero() {
		return true
	}
	return now.Sub(en.ResolvedSince) < e.cc.cfg.Flap.ResolvedHold
}

// expire resolves alerts whose end passed without a refresh, and alerts
// with no end not refreshed within resolve_timeout.
func (e *Engine) expire(now time.Time) {
	for fp, en := range e.st.Alerts {
		if en.ResolvedSince.IsZero() {
			switch {
			case en.Alert.Resolved(now):
				en.ResolvedSince = en.Alert.EndsAt
			case en.Alert.EndsAt.IsZero() && now.Sub(en.UpdatedAt) >= e.cc.cfg.ResolveTimeout:
				en.ResolvedSince = en.UpdatedAt.Add(e.cc.cfg.ResolveTimeout)
			}
			if !en.ResolvedSince.IsZero() {
				en.Evals = 0
				if !en.Active {
					delete(e.st.Alerts, fp)
				}
			}
		}
	}
}

// Muting says why an alert is not notified on its own.
type Muting struct {
	// By is the fingerprint of the alert that inhibits it, Root the root
	// cause at the end of the chain.
	By, Root string
	// Rule names what muted it: "inhibit_rules[0]", "topology:host_down",
	// "silence:12".
	Rule string
}

// mutes computes every muted alert at now: inhibition (configured and
// topology-aware) first, then silences.
func (e *Engine) mutes(now time.Time) map[string]Muting {
	firing := map[string]*alertEntry{}
	for fp, en := range e.st.Alerts {
		if e.firingAt(en, now) {
			firing[fp] = en
		}
	}
	out := map[string]Muting{}
	fps := slices.Sorted(maps.Keys(firing))
	t := e.cc.cfg.Topology
	instOf := func(l map[string]string) Instance {
		in := e.topo[l["instance"]]
		if in.Host == "" {
			in.Host = l["host"]
		}
		if in.Cluster == "" {
			in.Cluster = l["cluster"]
		}
		if in.Role == "" {
			in.Role = l["role"]
		}
		return in
	}
	for _, src := range fps {
		sl := firing[src].Alert.Labels
		name := sl["alertname"]
		for _, tgt := range fps {
			if tgt == src {
				continue
			}
			if _, done := out[tgt]; done {
				continue
			}
			tl := firing[tgt].Alert.Labels
			tn := tl["alertname"]
			ti := instOf(tl)
			var rule string
			switch {
			case contains(t.HostDown, name) && sl["host"] != "" && ti.Host == sl["host"] && !contains(t.HostDown, tn):
				rule = "topology:host_down"
			case contains(t.InstanceDown, name) && sl["instance"] != "" && tl["instance"] == sl["instance"] && !contains(t.HostDown, tn):
				rule = "topology:instance_down"
			case contains(t.InstanceDown, name) && contains(t.PrimaryDownMutes, tn) && instOf(sl).Role == "primary" &&
				instOf(sl).Cluster != "" && ti.Cluster == instOf(sl).Cluster && ti.Role != "primary":
				rule = "topology:primary_down"
			case contains(t.InstanceDown, name) && contains(t.Failover, tn) && instOf(sl).Role == "primary" &&
				instOf(sl).Cluster != "" && tl["cluster"] == instOf(sl).Cluster:
				// The failover answers the dead primary: one line tells both.
				rule = "topology:primary_down"
			case contains(t.Failover, name) && contains(t.FailoverMutes, tn) && sl["cluster"] != "" && ti.Cluster == sl["cluster"]:
				rule = "topology:failover"
			default:
				for i, ir := range e.cc.inhibit {
					if matchAll(ir.target, tl) && matchAll(ir.source, sl) && equalOn(ir.equal, sl, tl) {
						rule = fmt.Sprintf("inhibit_rules[%d]", i)
						break
					}
				}
			}
			if rule != "" {
				out[tgt] = Muting{By: src, Rule: rule}
			}
		}
	}
	// Roots: follow the chain (a host down mutes the instance down that
	// would mute the replica's lag).
	for fp, m := range out {
		root := m.By
		for range 8 {
			next, ok := out[root]
			if !ok || next.By == fp {
				break
			}
			root = next.By
		}
		m.Root = root
		out[fp] = m
	}
	for fp, en := range e.st.Alerts {
		if _, ok := out[fp]; ok {
			continue
		}
		for _, s := range e.silences {
			if s.Active(now) && matchAll(e.silenceM[s.ID], en.Alert.Labels) {
				out[fp] = Muting{Rule: fmt.Sprintf("silence:%d", s.ID)}
				break
			}
		}
	}
	return out
}

func equalOn(keys []string, a, b map[string]string) bool {
	for _, k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// Tick advances the pipeline to now and returns the digests due, one per
// recipient at most.
func (e *Engine) Tick(now time.Time) []Digest {
	e.expire(now)
	muted := e.mutes(now)
	e.regroup(now)
	for _, key := range slices.Sorted(maps.Keys(e.st.Groups)) {
		g := e.st.Groups[key]
		if now.Before(g.NextFlush) {
			continue
		}
		e.flush(now, g, muted)
	}
	e.escalate(now, muted)
	out := e.flushDigests(now, muted)
	e.collect(now)
	return out
}

// regroup puts every known alert into its groups.
func (e *Engine) regroup(now time.Time) {
	for _, g := range e.st.Groups {
		g.Alerts = g.Alerts[:0]
	}
	for _, fp := range slices.Sorted(maps.Keys(e.st.Alerts)) {
		en := e.st.Alerts[fp]
		if !en.Active {
			continue
		}
		for _, r := range e.cc.root.match(en.Alert.Labels) {
			gl := r.groupLabels(en.Alert.Labels)
			key := r.groupKey(gl)
			g, ok := e.st.Groups[key]
			if !ok {
				if !e.firingAt(en, now) {
					continue // resolved before its group existed
				}
				g = &groupState{Key: key, Route: r.id, Receiver: r.receiver, Labels: gl, CreatedAt: now, NextFlush: now.Add(r.groupWait)}
				e.st.Groups[key] = g
			}
			g.Alerts = append(g.Alerts, fp)
		}
	}
}

// flush is Alertmanager's group flush with its dedup stage.
func (e *Engine) flush(now time.Time, g *groupState, muted map[string]Muting) {
	r := e.cc.routes[g.Route]
	if r == nil { // configuration changed under a saved state
		delete(e.st.Groups, g.Key)
		return
	}
	g.NextFlush = now.Add(r.groupInterval)
	if e.cc.routeMuted(r, now) {
		return
	}
	var firing, resolved []string
	for _, fp := range g.Alerts {
		if _, m := muted[fp]; m {
			continue
		}
		if e.firingAt(e.st.Alerts[fp], now) {
			firing = append(firing, fp)
		} else {
			resolved = append(resolved, fp)
		}
	}
	nk := g.Receiver + "/" + g.Key
	prev, had := e.st.NFLog[nk]
	acked := !e.acks[g.Key].IsZero() && !e.acks[g.Key].Before(prev.At)
	if !needsUpdate(prev, had, firing, resolved, now, r.repeatInterval, acked) {
		return
	}
	g.Flushed = true
	e.st.NFLog[nk] = nflogEntry{Firing: firing, Resolved: resolved, At: now}
	item := digestItem{Group: g.Key, Firing: firing, Resolved: resolved, At: now}
	for _, who := range e.cc.recipients(g.Receiver, 0, now) {
		e.addItem(who, item)
	}
	if len(firing) > 0 && e.cc.receivers[g.Receiver].Team != "" && e.maxPriority(firing) == P1 {
		if _, ok := e.st.Escalations[nk]; !ok {
			e.st.Escalations[nk] = &escalation{Group: g.Key, Receiver: g.Receiver, SentAt: now}
		}
	}
	if len(firing) == 0 {
		delete(e.st.Escalations, nk)
	}
}

// needsUpdate is Alertmanager's DedupStage decision (send_resolved on).
func needsUpdate(prev nflogEntry, had bool, firing, resolved []string, now time.Time, repeat time.Duration, acked bool) bool {
	if !had {
		return len(firing) > 0
	}
	if !subset(firing, prev.Firing) {
		return true
	}
	if len(firing) == 0 {
		return len(prev.Firing) > 0
	}
	if !subset(resolved, prev.Resolved) {
		return true
	}
	return !acked && prev.At.Before(now.Add(-repeat))
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (e *Engine) addItem(who string, it digestItem) {
	d := e.st.Digests[who]
	if d == nil {
		d = &digest{}
		e.st.Digests[who] = d
	}
	for i, old := range d.Items {
		if old.Group == it.Group {
			it.Escalated = max(it.Escalated, old.Escalated)
			d.Items[i] = it
			return
		}
	}
	d.Items = append(d.Items, it)
}

func (e *Engine) maxPriority(fps []string) Priority {
	p := P4
	for _, fp := range fps {
		if en := e.st.Alerts[fp]; en != nil {
			p = min(p, PriorityOf(en.Alert.Labels))
		}
	}
	return p
}

// escalate sends unacknowledged P1 groups to the next person on call.
func (e *Engine) escalate(now time.Time, muted map[string]Muting) {
	after := e.cc.cfg.Ack.EscalateAfter
	if after <= 0 {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(e.st.Escalations)) {
		es := e.st.Escalations[k]
		if now.Sub(es.SentAt) < after {
			continue
		}
		if a := e.acks[es.Group]; !a.IsZero() {
			delete(e.st.Escalations, k)
			continue
		}
		g := e.st.Groups[es.Group]
		if g == nil {
			delete(e.st.Escalations, k)
			continue
		}
		var firing []string
		for _, fp := range g.Alerts {
			if _, m := muted[fp]; !m && e.firingAt(e.st.Alerts[fp], now) {
				firing = append(firing, fp)
			}
		}
		if len(firing) == 0 {
			delete(e.st.Escalations, k)
			continue
		}
		es.Level++
		es.SentAt = now
		who := e.cc.recipients(es.Receiver, es.Level, now)
		if len(who) == 0 {
			delete(e.st.Escalations, k)
			continue
		}
		for _, w := range who {
			e.addItem(w, digestItem{Group: es.Group, Firing: firing, Escalated: es.Level, At: now})
		}
	}
}

// collect forgets alerts resolved long ago and groups left empty.
func (e *Engine) collect(now time.Time) {
	var keep time.Duration
	for _, r := range e.cc.routes {
		keep = max(keep, r.groupInterval)
	}
	keep += e.cc.cfg.Flap.ResolvedHold + time.Minute
	// Alerts a pending message still has to tell about stay.
	queued := map[string]bool{}
	for _, d := range e.st.Digests {
		for _, it := range d.Items {
			for _, fp := range append(slices.Clone(it.Firing), it.Resolved...) {
				queued[fp] = true
			}
		}
	}
	for fp, en := range e.st.Alerts {
		if !en.ResolvedSince.IsZero() && now.Sub(en.ResolvedSince) > keep && !queued[fp] {
			delete(e.st.Alerts, fp)
		}
	}
	for k, g := range e.st.Groups {
		live := false
		for _, fp := range g.Alerts {
			if e.st.Alerts[fp] != nil {
				live = true
				break
			}
		}
		if !live {
			delete(e.st.Groups, k)
			delete(e.st.NFLog, g.Receiver+"/"+k)
		}
	}
}

// Line is one alert (or a root cause with the symptoms it covers) in a
// digest.
type Line struct {
	Fingerprint string            `json:"fingerprint"`
	Name        string            `json:"name"`
	Subject     string            `json:"subject"`
	Priority    Priority          `json:"priority"`
	Labels      map[string]string `json:"labels"`
	Summary     string            `json:"summary,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	Resolved    bool              `json:"resolved,omitempty"`
	// Covers counts the muted symptoms this root cause explains.
	Covers int `json:"covers,omitempty"`
	// Failover: the root's cluster is failing over (that alert is
	// folded into this line).
	Failover bool `json:"failover,omitempty"`
	// Same counts further alerts of the same name folded into this line.
	Same int `json:"same,omitempty"`
}

// Digest is one message for one recipient: every group routed to them
// since their last message.
type Digest struct {
	Seq       int64     `json:"seq"`
	Recipient string    `json:"recipient"`
	At        time.Time `json:"at"`
	Priority  Priority  `json:"priority"`
	Groups    []string  `json:"groups"`
	// Lines are firing alerts, most severe first, then resolved ones.
	Lines []Line `json:"lines"`
	// Alerts counts firing alerts the message covers (lines, their
	// folded siblings and the symptoms behind root causes).
	Alerts    int `json:"alerts"`
	Instances int `json:"instances"`
	Resolved  int `json:"resolved"`
	// Held counts updates that waited for the budget or quiet hours.
	Held int `json:"held,omitempty"`
	// BudgetSpent: this is the last message the budget allows in its
	// window; later updates wait and the link shows them.
	BudgetSpent bool     `json:"budget_spent,omitempty"`
	Escalated   int      `json:"escalated,omitempty"`
	Covered     []string `json:"covered"` // every fingerprint the message accounts for
}

// flushDigests sends each recipient's pending items when their merge
// interval, budget and quiet hours allow.
func (e *Engine) flushDigests(now time.Time, muted map[string]Muting) []Digest {
	var out []Digest
	m := e.cc.cfg.Merge
	for _, who := range slices.Sorted(maps.Keys(e.st.Digests)) {
		d := e.st.Digests[who]
		// The budget window slides.
		d.Sent = slices.DeleteFunc(d.Sent, func(t time.Time) bool { return now.Sub(t) >= m.BudgetWindow })
		if len(d.Items) == 0 {
			if len(d.Sent) == 0 && d.LastSent.Before(now.Add(-m.BudgetWindow)) {
				delete(e.st.Digests, who)
			}
			continue
		}
		// News is a firing alert this person was not told about; without
		// news (resolutions, reminders) a message waits the longer
		// resolved_interval, so that it rides along with the next one. A
		// P1 the person was not told about never waits for the merge
		// interval: it goes at once and carries whatever else is pending.
		news, p1News := false, false
		for _, it := range d.Items {
			for _, fp := range it.Firing {
				if _, m := muted[fp]; m {
					continue // its root tells, if anything
				}
				if en := e.st.Alerts[fp]; en != nil && !d.Told[fp] && e.firingAt(en, now) {
					news = true
					p1News = p1News || PriorityOf(en.Alert.Labels) == P1
				}
			}
		}
		wait := m.Interval
		switch {
		case p1News:
			wait = 0
		case !news:
			wait = max(m.Interval, m.ResolvedInterval)
		}
		if !d.LastSent.IsZero() && now.Sub(d.LastSent) < wait {
			continue
		}
		items := d.Items
		if e.quiet(who, now) {
			minP, _ := ParsePriority(e.cc.people[who].QuietMinPriority)
			if minP == 0 {
				minP = P2
			}
			items = slices.DeleteFunc(slices.Clone(items), func(it digestItem) bool { return e.itemPriority(it) > minP })
			if len(items) == 0 {
				continue
			}
		}
		if m.Budget > 0 && len(d.Sent) >= m.Budget && !(p1News && m.BudgetSparesP1) {
			d.Held = len(d.Items)
			continue
		}
		dg := e.render(now, who, items, muted)
		if len(dg.Lines) > 0 {
			e.st.Seq++
			dg.Seq, dg.Held = e.st.Seq, d.Held
			dg.BudgetSpent = m.Budget > 0 && len(d.Sent)+1 >= m.Budget
			out = append(out, dg)
		}
		d.Items = slices.DeleteFunc(d.Items, func(it digestItem) bool {
			return slices.ContainsFunc(items, func(x digestItem) bool { return x.Group == it.Group })
		})
		if len(dg.Lines) > 0 {
			d.Held = 0
			d.LastSent = now
			d.Sent = append(d.Sent, now)
			if d.Told == nil {
				d.Told = map[string]bool{}
			}
			for _, l := range dg.Lines {
				if l.Resolved {
					delete(d.Told, l.Fingerprint)
				}
			}
			for _, fp := range dg.Covered {
				if en := e.st.Alerts[fp]; en != nil && e.firingAt(en, now) {
					d.Told[fp] = true
				}
			}
			for fp := range d.Told {
				if e.st.Alerts[fp] == nil {
					delete(d.Told, fp)
				}
			}
		}
	}
	return out
}

func (e *Engine) quiet(who string, now time.Time) bool {
	r, ok := e.cc.quiet[who]
	if !ok {
		return false
	}
	l := now.In(e.cc.locs[who])
	return r.contains(l.Hour()*60 + l.Minute())
}

func (e *Engine) itemPriority(it digestItem) Priority {
	if len(it.Firing) == 0 {
		return P4
	}
	return e.maxPriority(it.Firing)
}

// render builds a digest from items with the alerts' current state:
// root causes with the symptoms they cover, alerts of the same name and
// priority folded into one line.
func (e *Engine) render(now time.Time, who string, items []digestItem, muted map[string]Muting) Digest {
	d := Digest{Recipient: who, At: now, Priority: P4}
	covers := map[string][]string{}
	for fp, m := range muted {
		if m.Root != "" {
			covers[m.Root] = append(covers[m.Root], fp)
		}
	}
	firing, resolved := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		d.Groups = append(d.Groups, it.Group)
		d.Escalated = max(d.Escalated, it.Escalated)
		for _, fp := range it.Firing {
			firing[fp] = true
		}
		for _, fp := range it.Resolved {
			resolved[fp] = true
		}
	}
	covered := map[string]bool{}
	insts := map[string]bool{}
	var lines []Line
	for _, fp := range slices.Sorted(maps.Keys(firing)) {
		en := e.st.Alerts[fp]
		if en == nil {
			continue
		}
		if _, m := muted[fp]; m {
			continue // muted since its group flushed: its root tells
		}
		fire := e.firingAt(en, now)
		if !fire {
			resolved[fp] = true
			continue
		}
		l := e.line(fp, en)
		covered[fp] = true
		insts[l.Labels["instance"]] = true
		for _, s := range covers[fp] {
			if !covered[s] {
				covered[s] = true
				if se := e.st.Alerts[s]; se != nil && contains(e.cc.cfg.Topology.Failover, se.Alert.Labels["alertname"]) {
					l.Failover = true
					continue
				}
				l.Covers++
				if se := e.st.Alerts[s]; se != nil {
					insts[se.Alert.Labels["instance"]] = true
				}
			}
		}
		lines = append(lines, l)
		d.Priority = min(d.Priority, l.Priority)
	}
	// Fold alerts of the same name and priority without covered symptoms:
	// "db-12 ReplLag(+2)".
	slices.SortStableFunc(lines, func(a, b Line) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Covers, a.Covers), a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Subject, b.Subject))
	})
	var folded []Line
	for _, l := range lines {
		if l.Covers == 0 {
			if i := slices.IndexFunc(folded, func(f Line) bool { return f.Covers == 0 && f.Name == l.Name && f.Priority == l.Priority }); i >= 0 {
				folded[i].Same++
				continue
			}
		}
		folded = append(folded, l)
	}
	for _, fp := range slices.Sorted(maps.Keys(resolved)) {
		if firing[fp] && covered[fp] {
			continue
		}
		en := e.st.Alerts[fp]
		if en == nil || e.firingAt(en, now) {
			continue
		}
		l := e.line(fp, en)
		l.Resolved = true
		d.Resolved++
		covered[fp] = true
		folded = append(folded, l)
	}
	d.Lines = folded
	d.Alerts = len(covered) - d.Resolved
	delete(insts, "")
	d.Instances = len(insts)
	d.Covered = slices.Sorted(maps.Keys(covered))
	return d
}

func (e *Engine) line(fp string, en *alertEntry) Line {
	l := en.Alert.Labels
	return Line{Fingerprint: fp, Name: l["alertname"], Subject: Subject(l), Priority: PriorityOf(l), Labels: l,
		Summary: en.Alert.Annotations["summary"], StartsAt: en.Alert.StartsAt}
}

// AlertStatus is one alert as the alerts page shows it.
type AlertStatus struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	// State is pending (not yet fire_after evaluations), firing,
	// resolving (resolved, held against flapping), resolved, inhibited or
	// silenced.
	State    string   `json:"state"`
	Priority Priority `json:"priority"`
	MutedBy  string   `json:"muted_by,omitempty"` // fingerprint or silence
	Root     string   `json:"root,omitempty"`
	Rule     string   `json:"rule,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// Alerts lists every known alert with its state at now.
func (e *Engine) Alerts(now time.Time) []AlertStatus {
	muted := e.mutes(now)
	groups := map[string][]string{}
	for k, g := range e.st.Groups {
		for _, fp := range g.Alerts {
			groups[fp] = append(groups[fp], k)
		}
	}
	var out []AlertStatus
	for fp, en := range e.st.Alerts {
		s := AlertStatus{Fingerprint: fp, Labels: en.Alert.Labels, Annotations: en.Alert.Annotations, StartsAt: en.Alert.StartsAt,
			Priority: PriorityOf(en.Alert.Labels), Groups: groups[fp]}
		slices.Sort(s.Groups)
		switch {
		case !en.Active:
			s.State = "pending"
		case !e.firingAt(en, now):
			s.State = "resolved"
		default:
			s.State = "firing"
			if !en.ResolvedSince.IsZero() {
				s.State = "resolving"
			}
			if m, ok := muted[fp]; ok {
				s.State, s.MutedBy, s.Root, s.Rule = "inhibited", m.By, m.Root, m.Rule
				if m.By == "" {
					s.State = "silenced"
				}
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b AlertStatus) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}
