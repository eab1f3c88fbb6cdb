// Command alerts replays scripted alert storms over a fleet of 300
// MariaDB instances (100 clusters on 60 hosts in 10 racks) through
// dbfleet's alert pipeline and through Prometheus Alertmanager (Debian's
// prometheus-alertmanager 0.25, started here on a free port with the
// equivalent routing and inhibition), both into local receivers, and
// reports per incident: raw alerts, messages and SMS segments per
// recipient, alerts that reached nobody, and the delay of the first page
// naming the root cause.
//
// dbfleet's engine (internal/alerts.Engine, the same code the server runs)
// is replayed in simulated time with a 1-second tick. Alertmanager runs
// in real time with every duration divided by -scale (its timers and the
// alert stream alike), and its delays are multiplied back.
//
// Run from the repository root:
//
//	go run ./bench/alerts [-alertmanager /usr/bin/prometheus-alertmanager] [-only "rack loss"]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
)

const evalStep = 15 // seconds between two rule evaluations

func main() {
	amBin := flag.String("alertmanager", "/usr/bin/prometheus-alertmanager", "Alertmanager binary (empty: skip it)")
	only := flag.String("only", "", "run only the incident with this name")
	flag.Parse()
	f := newFleet()
	incs := []incident{f.rackLoss(), f.flappingLink(), f.diskFilling(), f.threeFailovers(), f.quietDay()}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "incident\tsystem\traw alerts\tmessages per recipient\tSMS segments\tlost\tfirst page of root cause")
	for _, inc := range incs {
		if *only != "" && inc.name != *only {
			continue
		}
		d := replayDbfleet(f, inc)
		d.print(w, inc, "dbfleet")
		if *amBin != "" {
			a, err := replayAlertmanager(*amBin, inc)
			if err != nil {
				log.Fatalf("%s: alertmanager: %v", inc.name, err)
			}
			a.print(w, inc, "alertmanager")
			if a.total() > 0 {
				fmt.Fprintf(w, "\t\t\tAlertmanager/dbfleet: %.1fx messages\t\t\t\n", float64(a.total())/float64(max(d.total(), 1)))
			}
		}
	}
	w.Flush()
}

// result is one system's outcome on one incident.
type result struct {
	messages map[string]int // recipient -> messages
	segments map[string]int
	lost     int
	firstP1  time.Duration // -1: never paged
	scale    float64
}

func (r result) total() int {
	n := 0
	for _, v := range r.messages {
		n += v
	}
	return n
}

func perRecipient(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(mapsKeys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (r result) print(w io.Writer, inc incident, system string) {
	page := "-"
	switch {
	case inc.rootName == "":
	case r.firstP1 < 0:
		page = "never"
	default:
		page = r.firstP1.Round(100 * time.Millisecond).String()
		if r.scale > 1 {
			page += fmt.Sprintf(" (±%s: x%.0f time scale)", (time.Duration(r.scale) * 10 * time.Millisecond).Round(100*time.Millisecond), r.scale)
		}
	}
	fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", inc.name, system, len(inc.specs), perRecipient(r.messages), perRecipient(r.segments), r.lost, page)
}

func benchConfig(base time.Time) alerts.Config {
	c := alerts.DefaultConfig()
	c.People = []alerts.Person{{Name: "alice"}, {Name: "bob"}}
	c.Teams = []alerts.Team{{Name: "dba", Rotation: []string{"alice", "bob"}, Handoff: base.Add(-24 * time.Hour)}}
	c.Receivers = []alerts.Receiver{{Name: "dba", Team: "dba"}}
	c.Route = alerts.Route{Receiver: "dba", GroupBy: []string{"alertname", "cluster"}, GroupWait: dptr(30 * time.Second), GroupInterval: dptr(5 * time.Minute), RepeatInterval: dptr(4 * time.Hour)}
	return c
}

func dptr(d time.Duration) *time.Duration { return &d }

const smsLink = "https://dbfleet.example.com/a/MTIzLmFsaWNlLjE3OTk5OTk5OTk.abcdefghijklmnopqrstuv"

// replayDbfleet runs the engine over the incident in simulated time and
// 30 minutes beyond, so that held and resolved updates go out.
func replayDbfleet(f *fleet, inc incident) result {
	base := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	e, err := alerts.NewEngine(benchConfig(base), nil)
	if err != nil {
		log.Fatal(err)
	}
	e.SetTopology(f.topo)
	r := result{messages: map[string]int{}, segments: map[string]int{}, firstP1: -1, scale: 1}
	covered := map[string]bool{}
	roots := map[string]map[string]bool{} // inhibited fp -> roots seen
	root := rootFP(inc)
	for t := 0; t <= inc.duration+1800; t++ {
		now := base.Add(sec(t))
		if t%evalStep == 0 {
			e.Put(now, inc.at(t, base)...)
			for _, a := range e.Alerts(now) {
				if a.State == "inhibited" {
					if roots[a.Fingerprint] == nil {
						roots[a.Fingerprint] = map[string]bool{}
					}
					roots[a.Fingerprint][a.Root] = true
				}
			}
		}
		for _, d := range e.Tick(now) {
			r.messages[d.Recipient]++
			text := alerts.SMSText(d, smsLink, 2)
			r.segments[d.Recipient] += alerts.SMSSegments(text)
			if os.Getenv("BENCH_DEBUG") != "" {
				log.Printf("%s: dbfleet t=%ds to %s: %s", inc.name, t, d.Recipient, text)
			}
			for _, fp := range d.Covered {
				covered[fp] = true
				if fp == root && r.firstP1 < 0 {
					r.firstP1 = now.Sub(base.Add(sec(rootStart(inc))))
				}
			}
		}
	}
	r.lost = lost(inc, covered, roots)
	return r
}

// lost counts alerts that fired but reached nobody: in no message, and
// not inhibited by a root cause that reached someone (its page lists
// what it inhibits).
func lost(inc incident, covered map[string]bool, roots map[string]map[string]bool) int {
	// Reaching is transitive: an alert inhibited by one that reached
	// someone (directly or in turn) is on that one's page.
	reached := map[string]bool{}
	for fp := range covered {
		reached[fp] = true
	}
	for changed := true; changed; {
		changed = false
		for fp, rs := range roots {
			if reached[fp] {
				continue
			}
			for r := range rs {
				if reached[r] {
					reached[fp], changed = true, true
					break
				}
			}
		}
	}
	covered = reached
	n := 0
	seen := map[string]bool{}
	for _, s := range inc.specs {
		fp := alerts.Alert{Labels: s.labels}.Fingerprint()
		if seen[fp] || !s.firedAt(evalStep) {
			continue
		}
		seen[fp] = true
		if covered[fp] {
			continue
		}
		ok := false
		for r := range roots[fp] {
			if covered[r] {
				ok = true
			}
		}
		if !ok {
			n++
			if os.Getenv("BENCH_DEBUG") != "" {
				log.Printf("%s: lost %v (fired %d-%d)", inc.name, s.labels, s.start, s.end)
			}
		}
	}
	return n
}

func rootFP(inc incident) string {
	for _, s := range inc.specs {
		if s.labels["alertname"] == inc.rootName && subjectOf(s.labels) == inc.rootSubject {
			return alerts.Alert{Labels: s.labels}.Fingerprint()
		}
	}
	return ""
}

func rootStart(inc incident) int {
	for _, s := range inc.specs {
		if s.labels["alertname"] == inc.rootName && subjectOf(s.labels) == inc.rootSubject {
			// The first evaluation that sees it.
			return (s.start + evalStep - 1) / evalStep * evalStep
		}
	}
	return 0
}

func subjectOf(l map[string]string) string {
	for _, k := range []string{"instance", "host", "cluster"} {
		if v := l[k]; v != "" {
			return v
		}
	}
	return ""
}

// ---- Alertmanager ----

type amPayload struct {
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

type amReceiver struct {
	mu    sync.Mutex
	start time.Time
	got   []amGot
}

type amGot struct {
	at time.Duration
	to string
	p  amPayload
}

func (rc *amReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p amPayload
	json.NewDecoder(r.Body).Decode(&p)
	rc.mu.Lock()
	rc.got = append(rc.got, amGot{at: time.Since(rc.start), to: strings.TrimPrefix(r.URL.Path, "/to/"), p: p})
	rc.mu.Unlock()
}

// amSMS renders a notification as a usual Alertmanager SMS template does:
// [FIRING:N] group labels, then each alert's subject.
func amSMS(p amPayload) string {
	firing, resolved := 0, 0
	var subj []string
	for _, a := range p.Alerts {
		if a.Status == "firing" {
			firing++
			subj = append(subj, subjectOf(a.Labels))
		} else {
			resolved++
		}
	}
	var gl []string
	for _, k := range slices.Sorted(mapKeysS(p.GroupLabels)) {
		gl = append(gl, p.GroupLabels[k])
	}
	s := fmt.Sprintf("[%s:%d] %s %s", strings.ToUpper(p.Status), firing, strings.Join(gl, " "), strings.Join(subj, " "))
	if resolved > 0 {
		s += fmt.Sprintf(" (%d resolved)", resolved)
	}
	return s
}

func mapKeysS(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// scaleOverride, when set, replaces every incident's time scale (tests).
var scaleOverride float64

func scaleFor(inc incident) float64 {
	if scaleOverride > 0 {
		return scaleOverride
	}
	if inc.duration > 2*3600 {
		return 240
	}
	return 30
}

func dur(d time.Duration, scale float64) string {
	return fmt.Sprintf("%dms", int64(float64(d.Milliseconds())/scale))
}

const amInhibit = `
inhibit_rules:
  - source_matchers: ['alertname="HostDown"']
    target_matchers: ['alertname!="HostDown"']
    equal: [host]
  - source_matchers: ['alertname="FailoverInProgress"']
    target_matchers: ['alertname=~"MySQLReplicationLag|MySQLReplicationIOStopped|MySQLReplicationSQLStopped|MySQLTooManyConnections"']
    equal: [cluster]
  - source_matchers: ['alertname="MySQLDown"', 'role="primary"']
    target_matchers: ['alertname=~"MySQLReplicationIOStopped|MySQLReplicationLag"']
    equal: [cluster]
  - source_matchers: ['alertname="MySQLDown"']
    target_matchers: ['alertname!="MySQLDown"']
    equal: [instance]
`

// replayAlertmanager starts Alertmanager with the equivalent routing
// (same receiver, group_by, timers, and the inhibition its labels can
// express), posts the incident's stream in scaled real time, and reads
// what its webhook delivered.
func replayAlertmanager(bin string, inc incident) (result, error) {
	scale := scaleFor(inc)
	dir, err := os.MkdirTemp("", "alerts-bench-am-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	rc := &amReceiver{}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	hs := &http.Server{Handler: rc}
	go hs.Serve(hl)
	defer hs.Close()
	cfg := fmt.Sprintf(`route:
  receiver: dba
  group_by: [alertname, cluster]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
receivers:
  - name: dba
    webhook_configs:
      - url: http://%s/to/alice
        send_resolved: true
`, dur(30*time.Second, scale), dur(5*time.Minute, scale), dur(4*time.Hour, scale), hl.Addr()) + amInhibit
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	port := freePort()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=", "--log.level=warn")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	ready := false
	for range 100 {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = true
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ready {
		return result{}, fmt.Errorf("not ready: %s", stderr.String())
	}

	start := time.Now()
	rc.mu.Lock()
	rc.start = start
	rc.mu.Unlock()
	wall := func(t int) time.Time { return start.Add(time.Duration(float64(sec(t)) / scale)) }
	type amAlert struct {
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		EndsAt   time.Time         `json:"endsAt"`
	}
	end := inc.duration + 1800
	for t := 0; t <= end; t += evalStep {
		time.Sleep(time.Until(wall(t)))
		var body []amAlert
		for _, a := range inc.at(t, time.Time{}) {
			st := int(a.StartsAt.Sub(time.Time{}) / time.Second)
			en := int(a.EndsAt.Sub(time.Time{}) / time.Second)
			body = append(body, amAlert{Labels: a.Labels, StartsAt: wall(st), EndsAt: wall(en)})
		}
		if len(body) == 0 {
			continue
		}
		raw, _ := json.Marshal(body)
		resp, err := http.Post(url+"/api/v2/alerts", "application/json", strings.NewReader(string(raw)))
		if err != nil {
			return result{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return result{}, fmt.Errorf("post alerts: HTTP %d", resp.StatusCode)
		}
	}
	time.Sleep(time.Duration(float64(10*time.Second) / scale * 30))

	// Which alerts did Alertmanager hold inhibited, and by whom? Its API
	// does not say who inhibits; the rules above do: HostDown by host,
	// failover by cluster, a dead primary by cluster, a dead instance by
	// instance.
	r := result{messages: map[string]int{}, segments: map[string]int{}, firstP1: -1, scale: scale}
	covered := map[string]bool{}
	root := rootFP(inc)
	rc.mu.Lock()
	got := rc.got
	rc.mu.Unlock()
	sort.Slice(got, func(i, j int) bool { return got[i].at < got[j].at })
	for _, g := range got {
		r.messages[g.to]++
		r.segments[g.to] += alerts.SMSSegments(amSMS(g.p))
		if os.Getenv("BENCH_DEBUG") != "" {
			log.Printf("%s: alertmanager t=%.0fs to %s: %s", inc.name, g.at.Seconds()*scale, g.to, amSMS(g.p))
		}
		for _, a := range g.p.Alerts {
			fp := alerts.Alert{Labels: a.Labels}.Fingerprint()
			if a.Status == "firing" {
				covered[fp] = true
			}
			if fp == root && r.firstP1 < 0 {
				r.firstP1 = time.Duration(float64(g.at)*scale) - sec(rootStart(inc))
			}
		}
	}
	r.lost = lost(inc, covered, amInhibitedBy(inc))
	return r, nil
}

// amInhibitedBy applies the inhibit rules given to Alertmanager to the
// stream: for each alert, the alerts that inhibit it at some evaluation.
func amInhibitedBy(inc incident) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for t := 0; t <= inc.duration; t += evalStep {
		var firing []spec
		for _, s := range inc.specs {
			if s.start <= t && t < s.end {
				firing = append(firing, s)
			}
		}
		for _, tgt := range firing {
			tl := tgt.labels
			for _, src := range firing {
				sl := src.labels
				hit := false
				switch {
				case sl["alertname"] == "HostDown" && tl["alertname"] != "HostDown" && sl["host"] == tl["host"]:
					hit = true
				case sl["alertname"] == "FailoverInProgress" && strings.Contains("MySQLReplicationLag|MySQLReplicationIOStopped|MySQLReplicationSQLStopped|MySQLTooManyConnections", tl["alertname"]) && sl["cluster"] == tl["cluster"]:
					hit = true
				case sl["alertname"] == "MySQLDown" && sl["role"] == "primary" && (tl["alertname"] == "MySQLReplicationIOStopped" || tl["alertname"] == "MySQLReplicationLag") && sl["cluster"] == tl["cluster"]:
					hit = true
				case sl["alertname"] == "MySQLDown" && tl["alertname"] != "MySQLDown" && sl["instance"] == tl["instance"]:
					hit = true
				}
				if hit {
					fp := alerts.Alert{Labels: tl}.Fingerprint()
					if out[fp] == nil {
						out[fp] = map[string]bool{}
					}
					out[fp][alerts.Alert{Labels: sl}.Fingerprint()] = true
				}
			}
		}
	}
	return out
}
