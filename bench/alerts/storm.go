package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
)

// spec is one alert of a scripted incident: its labels and when it fires
// (seconds from the incident's start; end exclusive).
type spec struct {
	labels     map[string]string
	start, end int
}

// incident is a scripted stream of alerts over a fleet.
type incident struct {
	name     string
	duration int // seconds
	specs    []spec
	// root names the root cause's alert (alertname and subject) whose
	// first page is timed; empty when there is no page to time.
	rootName, rootSubject string
}

// fleet: 10 racks x 6 hosts, 100 MariaDB clusters of a primary and two
// replicas (300 instances) spread so that a cluster's members sit in
// different racks.
type fleet struct {
	hosts []string
	rack  map[string]string
	insts []inst
	topo  alerts.TopologyView
}

type inst struct {
	name, host, cluster, role string
}

func newFleet() *fleet {
	f := &fleet{rack: map[string]string{}, topo: alerts.TopologyView{}}
	for i := range 60 {
		h := fmt.Sprintf("h%02d", i)
		f.hosts = append(f.hosts, h)
		f.rack[h] = fmt.Sprintf("r%d", i/6)
	}
	for c := range 100 {
		cl := fmt.Sprintf("c%03d", c)
		for j, off := range []int{0, 7, 23} {
			role := "replica"
			if j == 0 {
				role = "primary"
			}
			in := inst{name: fmt.Sprintf("db-%03d-%d", c, j), host: f.hosts[(c+off)%60], cluster: cl, role: role}
			f.insts = append(f.insts, in)
			f.topo[in.name] = alerts.Instance{Host: in.host, Cluster: cl, Rack: f.rack[in.host], Role: role}
		}
	}
	return f
}

func (f *fleet) labels(in inst, name, sev string) map[string]string {
	return map[string]string{"alertname": name, "severity": sev, "instance": in.name, "host": in.host, "cluster": in.cluster,
		"rack": f.rack[in.host], "role": in.role, "engine": "mariadb"}
}

func (f *fleet) members(cluster string) []inst {
	var out []inst
	for _, in := range f.insts {
		if in.cluster == cluster {
			out = append(out, in)
		}
	}
	return out
}

// rackLoss: rack r2's top-of-rack switch dies for 30 minutes: 6 hosts and
// their 30 instances go dark, the clusters whose primary was there fail
// over (their other replicas' IO threads stop, then lag behind the new
// primary, whose connections pile up).
func (f *fleet) rackLoss() incident {
	inc := incident{name: "rack loss", duration: 40 * 60}
	const down, back = 60, 1860
	failed := map[string]bool{}
	for _, h := range f.hosts {
		if f.rack[h] != "r2" {
			continue
		}
		inc.specs = append(inc.specs, spec{labels: map[string]string{"alertname": "HostDown", "severity": "critical", "host": h, "rack": "r2"}, start: down + 30, end: back})
		if inc.rootName == "" {
			inc.rootName, inc.rootSubject = "HostDown", h
		}
	}
	for _, in := range f.insts {
		if f.rack[in.host] != "r2" {
			continue
		}
		inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLDown", "critical"), start: down + 30, end: back})
		if in.role == "primary" {
			failed[in.cluster] = true
		}
	}
	for _, c := range sortedKeys(failed) {
		inc.specs = append(inc.specs, spec{labels: map[string]string{"alertname": "FailoverInProgress", "severity": "critical", "cluster": c}, start: down + 40, end: down + 160})
		ms := f.members(c)
		for i, in := range ms {
			if in.role == "primary" {
				continue
			}
			inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLReplicationIOStopped", "critical"), start: down + 60, end: down + 180})
			if i == 1 { // promoted: connections pile up
				inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLTooManyConnections", "warning"), start: down + 190, end: down + 440})
			} else {
				inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLReplicationLag", "warning"), start: down + 180, end: down + 540})
			}
		}
	}
	return inc
}

// flappingLink: host h40's uplink flaps (45 s down, 45 s up) for 12
// minutes; its instances' down alerts and their replicas' IO threads flap
// with it.
func (f *fleet) flappingLink() incident {
	inc := incident{name: "flapping link", duration: 20 * 60}
	for t := 60; t < 60+12*60; t += 90 {
		for _, in := range f.insts {
			if in.host != "h40" {
				continue
			}
			inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLDown", "critical"), start: t + 15, end: t + 45})
			if inc.rootName == "" {
				inc.rootName, inc.rootSubject = "MySQLDown", in.name
			}
			if in.role == "primary" {
				for _, r := range f.members(in.cluster) {
					if r.role == "replica" {
						inc.specs = append(inc.specs, spec{labels: f.labels(r, "MySQLReplicationIOStopped", "critical"), start: t + 30, end: t + 60})
					}
				}
			}
		}
	}
	return inc
}

// diskFilling: one data disk fills slowly over three hours: the forecast
// warns, later it is critical.
func (f *fleet) diskFilling() incident {
	inc := incident{name: "slow disk filling", duration: 3 * 3600}
	in := f.insts[66]
	inc.specs = append(inc.specs,
		spec{labels: f.labels(in, "DiskFullIn4Days", "warning"), start: 600, end: 3 * 3600},
		spec{labels: f.labels(in, "DiskFullIn1Day", "critical"), start: 2 * 3600, end: 3 * 3600})
	inc.rootName, inc.rootSubject = "DiskFullIn1Day", in.name
	return inc
}

// threeFailovers: three primaries die within ten minutes, each cluster
// fails over.
func (f *fleet) threeFailovers() incident {
	inc := incident{name: "three failovers in 10 min", duration: 30 * 60}
	for i, c := range []string{"c010", "c045", "c077"} {
		t := []int{60, 240, 540}[i]
		for j, in := range f.members(c) {
			switch {
			case in.role == "primary":
				inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLDown", "critical"), start: t, end: t + 600})
				if inc.rootName == "" {
					inc.rootName, inc.rootSubject = "MySQLDown", in.name
				}
			case j == 1:
				inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLReplicationIOStopped", "critical"), start: t + 15, end: t + 100},
					spec{labels: f.labels(in, "MySQLTooManyConnections", "warning"), start: t + 110, end: t + 300})
			default:
				inc.specs = append(inc.specs, spec{labels: f.labels(in, "MySQLReplicationIOStopped", "critical"), start: t + 15, end: t + 100},
					spec{labels: f.labels(in, "MySQLReplicationLag", "warning"), start: t + 100, end: t + 400})
			}
		}
		inc.specs = append(inc.specs, spec{labels: map[string]string{"alertname": "FailoverInProgress", "severity": "critical", "cluster": c}, start: t + 20, end: t + 110})
	}
	return inc
}

// quietDay: a normal day: a dozen warnings (long transactions, slow
// queries rising, a replica lagging) at random times, 10 to 40 minutes
// each.
func (f *fleet) quietDay() incident {
	inc := incident{name: "quiet day", duration: 24 * 3600}
	r := rand.New(rand.NewPCG(7, 7))
	names := []string{"MySQLLongTransaction", "MySQLSlowQueriesRising", "MySQLReplicationLag"}
	for range 12 {
		in := f.insts[r.IntN(len(f.insts))]
		st := r.IntN(22 * 3600)
		inc.specs = append(inc.specs, spec{labels: f.labels(in, names[r.IntN(len(names))], "warning"), start: st, end: st + 600 + r.IntN(1800)})
	}
	return inc
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// at is what a Prometheus-like sender posts at evaluation time t:
// firing alerts valid for four evaluations, and alerts resolved within
// the last 15 minutes with their end.
// One state per label set, as Prometheus sends: firing when one of its
// windows holds t, else its latest resolution.
func (inc incident) at(t int, base time.Time) []alerts.Alert {
	state := map[string]alerts.Alert{}
	firing := map[string]bool{}
	var order []string
	for _, s := range inc.specs {
		fp := alerts.Alert{Labels: s.labels}.Fingerprint()
		prev, seen := state[fp]
		if !seen {
			order = append(order, fp)
		}
		switch {
		case s.start <= t && t < s.end:
			state[fp] = alerts.Alert{Labels: s.labels, StartsAt: base.Add(sec(s.start)), EndsAt: base.Add(sec(t + 60))}
			firing[fp] = true
		case t >= s.end && t-s.end < 15*60 && s.end > s.start && !firing[fp] && (!seen || prev.EndsAt.Before(base.Add(sec(s.end)))):
			state[fp] = alerts.Alert{Labels: s.labels, StartsAt: base.Add(sec(s.start)), EndsAt: base.Add(sec(s.end))}
		}
	}
	var out []alerts.Alert
	for _, fp := range order {
		if a, ok := state[fp]; ok {
			out = append(out, a)
		}
	}
	return out
}

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

// firedAt reports whether a spec was ever firing at an evaluation (a
// 30-second blip between evaluations still is).
func (s spec) firedAt(step int) bool {
	for t := 0; t < s.end; t += step {
		if s.start <= t && t < s.end {
			return true
		}
	}
	return false
}
