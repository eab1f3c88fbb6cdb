package alerts

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// route is a compiled routing-tree node with its inherited settings.
type route struct {
	id             string // position in the tree: "0", "0.1", ...
	receiver       string
	matchers       []*labels.Matcher
	cont           bool
	groupBy        []string
	groupAll       bool // group_by: ['...']
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	mute, active   []string
	children       []*route
}

// compiled is a checked configuration ready for the engine.
type compiled struct {
	cfg       Config
	root      *route
	routes    map[string]*route
	inhibit   []inhibitRule
	intervals map[string]timeInterval
	people    map[string]Person
	teams     map[string]Team
	receivers map[string]Receiver
	locs      map[string]*time.Location
	quiet     map[string]clockRange
	// overrides are the ones added at run time (alert_oncall_overrides),
	// newest first; they win over the configuration's.
	overrides map[string][]Override
}

type inhibitRule struct {
	source, target []*labels.Matcher
	equal          []string
}

type clockRange struct{ from, to int } // minutes of the day; to < from wraps

func (r clockRange) contains(min int) bool {
	if r.from <= r.to {
		return min >= r.from && min < r.to
	}
	return min >= r.from || min < r.to
}

type timeInterval struct {
	days  [7]bool
	times []clockRange
	loc   *time.Location
}

func (t timeInterval) contains(now time.Time) bool {
	l := now.In(t.loc)
	if !t.days[l.Weekday()] {
		return false
	}
	if len(t.times) == 0 {
		return true
	}
	m := l.Hour()*60 + l.Minute()
	for _, r := range t.times {
		if r.contains(m) {
			return true
		}
	}
	return false
}

var weekdays = map[string]time.Weekday{"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad time %q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

func parseClockRange(s string) (clockRange, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return clockRange{}, fmt.Errorf("bad time range %q: want HH:MM-HH:MM", s)
	}
	from, err := parseClock(a)
	if err != nil {
		return clockRange{}, err
	}
	to, err := parseClock(b)
	if err != nil {
		return clockRange{}, err
	}
	return clockRange{from, to}, nil
}

// Compile checks a configuration and builds what the engine runs on.
func Compile(c Config) (*compiled, error) {
	cc := &compiled{cfg: c, routes: map[string]*route{}, intervals: map[string]timeInterval{}, people: map[string]Person{},
		teams: map[string]Team{}, receivers: map[string]Receiver{}, locs: map[string]*time.Location{}, quiet: map[string]clockRange{}}
	for i, ti := range c.TimeIntervals {
		where := fmt.Sprintf("alerts.time_intervals[%d]", i)
		if ti.Name == "" {
			return nil, fmt.Errorf("%s: a name is required", where)
		}
		t := timeInterval{loc: time.UTC}
		if ti.Location != "" {
			loc, err := time.LoadLocation(ti.Location)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): location: %w", where, ti.Name, err)
			}
			t.loc = loc
		}
		if len(ti.Weekdays) == 0 {
			t.days = [7]bool{true, true, true, true, true, true, true}
		}
		for _, wd := range ti.Weekdays {
			a, b, rng := strings.Cut(strings.ToLower(wd), ":")
			from, ok1 := weekdays[a]
			to := from
			ok2 := true
			if rng {
				to, ok2 = weekdays[b]
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s (%s): weekday %q: want monday..sunday or a range monday:friday", where, ti.Name, wd)
			}
			for d := from; ; d = (d + 1) % 7 {
				t.days[d] = true
				if d == to {
					break
				}
			}
		}
		for _, tr := range ti.Times {
			r, err := parseClockRange(tr)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, ti.Name, err)
			}
			t.times = append(t.times, r)
		}
		cc.intervals[ti.Name] = t
	}
	for i, p := range c.People {
		where := fmt.Sprintf("alerts.people[%d]", i)
		if p.Name == "" || cc.people[p.Name].Name != "" {
			return nil, fmt.Errorf("%s: a unique name is required", where)
		}
		cc.locs[p.Name] = time.UTC
		if p.Timezone != "" {
			loc, err := time.LoadLocation(p.Timezone)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): timezone: %w", where, p.Name, err)
			}
			cc.locs[p.Name] = loc
		}
		if p.QuietHours != "" {
			r, err := parseClockRange(p.QuietHours)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): quiet_hours: %w", where, p.Name, err)
			}
			cc.quiet[p.Name] = r
		}
		if p.QuietMinPriority != "" {
			if _, ok := ParsePriority(p.QuietMinPriority); !ok {
				return nil, fmt.Errorf("%s (%s): quiet_min_priority %q: want P1..P4", where, p.Name, p.QuietMinPriority)
			}
		}
		cc.people[p.Name] = p
	}
	for i, t := range c.Teams {
		where := fmt.Sprintf("alerts.teams[%d]", i)
		if t.Name == "" || cc.teams[t.Name].Name != "" {
			return nil, fmt.Errorf("%s: a unique name is required", where)
		}
		if len(t.Rotation) == 0 {
			return nil, fmt.Errorf("%s (%s): rotation needs at least one person", where, t.Name)
		}
		for _, p := range t.Rotation {
			if _, ok := cc.people[p]; !ok {
				return nil, fmt.Errorf("%s (%s): rotation names %q, who is not in alerts.people", where, t.Name, p)
			}
		}
		for _, o := range t.Overrides {
			if _, ok := cc.people[o.Person]; !ok {
				return nil, fmt.Errorf("%s (%s): override names %q, who is not in alerts.people", where, t.Name, o.Person)
			}
			if !o.End.After(o.Start) {
				return nil, fmt.Errorf("%s (%s): override of %s ends before it starts", where, t.Name, o.Person)
			}
		}
		cc.teams[t.Name] = t
	}
	for i, r := range c.Receivers {
		where := fmt.Sprintf("alerts.receivers[%d]", i)
		if r.Name == "" || cc.receivers[r.Name].Name != "" {
			return nil, fmt.Errorf("%s: a unique name is required", where)
		}
		if r.Team != "" {
			if _, ok := cc.teams[r.Team]; !ok {
				return nil, fmt.Errorf("%s (%s): team %q is not in alerts.teams", where, r.Name, r.Team)
			}
		}
		for _, p := range r.People {
			if _, ok := cc.people[p]; !ok {
				return nil, fmt.Errorf("%s (%s): person %q is not in alerts.people", where, r.Name, p)
			}
		}
		cc.receivers[r.Name] = r
	}
	for i, ir := range c.InhibitRules {
		where := fmt.Sprintf("alerts.inhibit_rules[%d]", i)
		src, err := ParseMatchers(ir.SourceMatchers)
		if err != nil {
			return nil, fmt.Errorf("%s.source_matchers: %w", where, err)
		}
		tgt, err := ParseMatchers(ir.TargetMatchers)
		if err != nil {
			return nil, fmt.Errorf("%s.target_matchers: %w", where, err)
		}
		if len(src) == 0 || len(tgt) == 0 {
			return nil, fmt.Errorf("%s: source_matchers and target_matchers are required", where)
		}
		cc.inhibit = append(cc.inhibit, inhibitRule{source: src, target: tgt, equal: ir.Equal})
	}
	root, err := cc.compileRoute(c.Route, nil, "0", "alerts.route")
	if err != nil {
		return nil, err
	}
	cc.root = root
	return cc, nil
}

func (cc *compiled) compileRoute(r Route, parent *route, id, where string) (*route, error) {
	out := &route{id: id, receiver: r.Receiver, cont: r.Continue, mute: r.MuteTimeIntervals, active: r.ActiveTimeIntervals}
	if parent != nil {
		if out.receiver == "" {
			out.receiver = parent.receiver
		}
		out.groupBy, out.groupAll = parent.groupBy, parent.groupAll
		out.groupWait, out.groupInterval, out.repeatInterval = parent.groupWait, parent.groupInterval, parent.repeatInterval
	} else {
		if len(r.Matchers) > 0 {
			return nil, fmt.Errorf("%s: the root route must not have matchers", where)
		}
		out.groupWait, out.groupInterval, out.repeatInterval = 30*time.Second, 5*time.Minute, 4*time.Hour
	}
	if r.GroupBy != nil {
		out.groupBy, out.groupAll = nil, false
		for _, g := range r.GroupBy {
			if g == "..." {
				out.groupAll = true
				continue
			}
			out.groupBy = append(out.groupBy, g)
		}
		slices.Sort(out.groupBy)
	}
	for _, d := range []struct {
		v   *time.Duration
		dst *time.Duration
		key string
	}{{r.GroupWait, &out.groupWait, "group_wait"}, {r.GroupInterval, &out.groupInterval, "group_interval"}, {r.RepeatInterval, &out.repeatInterval, "repeat_interval"}} {
		if d.v != nil {
			if *d.v < 0 || (d.key != "group_wait" && *d.v == 0) {
				return nil, fmt.Errorf("%s.%s: must be positive", where, d.key)
			}
			*d.dst = *d.v
		}
	}
	if out.receiver == "" {
		return nil, fmt.Errorf("%s: receiver is required", where)
	}
	if _, ok := cc.receivers[out.receiver]; !ok {
		return nil, fmt.Errorf("%s: receiver %q is not in alerts.receivers", where, out.receiver)
	}
	for _, n := range append(slices.Clone(out.mute), out.active...) {
		if _, ok := cc.intervals[n]; !ok {
			return nil, fmt.Errorf("%s: time interval %q is not in alerts.time_intervals", where, n)
		}
	}
	ms, err := ParseMatchers(r.Matchers)
	if err != nil {
		return nil, fmt.Errorf("%s.matchers: %w", where, err)
	}
	out.matchers = ms
	cc.routes[id] = out
	for i, ch := range r.Routes {
		c, err := cc.compileRoute(ch, out, fmt.Sprintf("%s.%d", id, i), fmt.Sprintf("%s.routes[%d]", where, i))
		if err != nil {
			return nil, err
		}
		out.children = append(out.children, c)
	}
	return out, nil
}

// match returns the routes an alert goes to (Alertmanager's tree walk).
func (r *route) match(l map[string]string) []*route {
	if !matchAll(r.matchers, l) {
		return nil
	}
	var all []*route
	for _, c := range r.children {
		m := c.match(l)
		all = append(all, m...)
		if len(m) > 0 && !c.cont {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// groupLabels are the labels of l that name its group on this route.
func (r *route) groupLabels(l map[string]string) map[string]string {
	if r.groupAll {
		return maps.Clone(l)
	}
	out := map[string]string{}
	for _, k := range r.groupBy {
		if v, ok := l[k]; ok {
			out[k] = v
		}
	}
	return out
}

// groupKey names a group: route and group labels.
func (r *route) groupKey(gl map[string]string) string {
	var b strings.Builder
	b.WriteString(r.id)
	b.WriteString(":{")
	for i, k := range slices.Sorted(maps.Keys(gl)) {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", k, gl[k])
	}
	b.WriteString("}")
	return b.String()
}

// muted reports whether the route's time intervals mute it at now.
func (cc *compiled) routeMuted(r *route, now time.Time) bool {
	for _, n := range r.mute {
		if cc.intervals[n].contains(now) {
			return true
		}
	}
	if len(r.active) == 0 {
		return false
	}
	for _, n := range r.active {
		if cc.intervals[n].contains(now) {
			return false
		}
	}
	return true
}

// onCall returns who of team is on call at now, and the rotation order
// from them on (for escalation).
func (cc *compiled) onCall(team string, now time.Time) []string {
	t, ok := cc.teams[team]
	if !ok {
		return nil
	}
	n := len(t.Rotation)
	idx := 0
	if !t.Handoff.IsZero() {
		weeks := int(now.Sub(t.Handoff).Hours() / (24 * 7))
		if now.Before(t.Handoff) {
			weeks--
		}
		idx = ((weeks % n) + n) % n
	}
	var order []string
	for _, o := range append(slices.Clone(cc.overrides[team]), t.Overrides...) {
		if !now.Before(o.Start) && now.Before(o.End) {
			order = append(order, o.Person)
			break
		}
	}
	for i := range n {
		p := t.Rotation[(idx+i)%n]
		if !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	return order
}

// recipients of a receiver at now: its people, then the team's on-call
// person (level 0) or the escalation level's person.
func (cc *compiled) recipients(receiver string, level int, now time.Time) []string {
	r := cc.receivers[receiver]
	var out []string
	if level == 0 {
		out = append(out, r.People...)
	}
	if r.Team != "" {
		order := cc.onCall(r.Team, now)
		if level < len(order) && !slices.Contains(out, order[level]) {
			out = append(out, order[level])
		}
	}
	if level == 0 && len(r.Channels) > 0 {
		out = append(out, "#"+r.Name)
	}
	return out
}
