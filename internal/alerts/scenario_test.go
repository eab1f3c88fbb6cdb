package alerts

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/scenarios")

// TestScenarios runs every testdata/scenarios/*.txtar: a configuration
// (over testConfig), a topology, a scripted stream of alerts in, the
// messages out (time, recipient, SMS text with the link "L"). Alerts are
// put every 15 s (an evaluation), the engine ticks every second.
//
//	-- config.yaml --     optional, alerts.Config keys
//	-- topology --        instance host=.. cluster=.. role=..
//	-- alerts --          FROM TO alertname label=value...   (Go durations)
//	-- want --            AT RECIPIENT SMS-TEXT
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scenarios/*.txtar")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string][]byte{}
			for _, f := range ar.Files {
				sec[f.Name] = f.Data
			}
			c := testConfig()
			if y, ok := sec["config.yaml"]; ok {
				if err := yaml.Unmarshal(y, &c); err != nil {
					t.Fatalf("%s: config.yaml: %v", file, err)
				}
			}
			e, err := NewEngine(c, nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			topo := TopologyView{}
			for i, line := range lines(sec["topology"]) {
				f := strings.Fields(line)
				in := Instance{}
				for _, kv := range f[1:] {
					k, v, _ := strings.Cut(kv, "=")
					switch k {
					case "host":
						in.Host = v
					case "cluster":
						in.Cluster = v
					case "role":
						in.Role = v
					case "rack":
						in.Rack = v
					default:
						t.Fatalf("%s: topology line %d: unknown key %q", file, i+1, k)
					}
				}
				topo[f[0]] = in
			}
			e.SetTopology(topo)
			type spec struct {
				from, to time.Duration
				labels   map[string]string
			}
			var specs []spec
			var end time.Duration
			for i, line := range lines(sec["alerts"]) {
				f := strings.Fields(line)
				if len(f) < 3 {
					t.Fatalf("%s: alerts line %d: want FROM TO ALERTNAME label=value...", file, i+1)
				}
				from, err1 := time.ParseDuration(f[0])
				to, err2 := time.ParseDuration(f[1])
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: alerts line %d: bad durations", file, i+1)
				}
				l := map[string]string{"alertname": f[2]}
				for _, kv := range f[3:] {
					k, v, _ := strings.Cut(kv, "=")
					l[k] = v
				}
				specs = append(specs, spec{from, to, l})
				end = max(end, to)
			}
			var got bytes.Buffer
			for d := time.Duration(0); d <= end+30*time.Minute; d += time.Second {
				now := t0.Add(d)
				if d%(15*time.Second) == 0 {
					// One state per label set, as Prometheus sends: firing
					// if a window holds now, else the latest resolution.
					state := map[string]Alert{}
					var order []string
					for _, s := range specs {
						fp := fingerprint(s.labels)
						prev, seen := state[fp]
						if !seen {
							order = append(order, fp)
						}
						switch {
						case s.from <= d && d < s.to:
							state[fp] = Alert{Labels: s.labels, StartsAt: t0.Add(s.from), EndsAt: now.Add(time.Minute)}
						case d >= s.to && d-s.to < 15*time.Minute && (!seen || (!prev.EndsAt.After(now) && prev.EndsAt.Before(t0.Add(s.to)))):
							state[fp] = Alert{Labels: s.labels, StartsAt: t0.Add(s.from), EndsAt: t0.Add(s.to)}
						}
					}
					var as []Alert
					for _, fp := range order {
						if a, ok := state[fp]; ok {
							as = append(as, a)
						}
					}
					e.Put(now, as...)
				}
				for _, dg := range e.Tick(now) {
					fmt.Fprintf(&got, "%s %s %s\n", d, dg.Recipient, SMSText(dg, "L", c.Merge.SMSSegments))
				}
			}
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = got.Bytes()
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(sec["want"]); got.String() != want {
				t.Errorf("%s: messages differ (go test -run TestScenarios -update rewrites)\ngot:\n%swant:\n%s", file, got.String(), want)
			}
		})
	}
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
