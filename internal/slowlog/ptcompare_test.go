package slowlog

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
)

// ptClass is what the comparison needs of pt-query-digest's JSON output.
type ptClass struct {
	Checksum    string `json:"checksum"`
	Fingerprint string `json:"fingerprint"`
	QueryCount  uint64 `json:"query_count"`
	Metrics     struct {
		QueryTime struct {
			Sum string `json:"sum"`
		} `json:"Query_time"`
	} `json:"metrics"`
	Example struct {
		Query string `json:"query"`
	} `json:"example"`
}

// ptGlobal is pt-query-digest's JSON "global".
type ptGlobal struct {
	QueryCount       uint64 `json:"query_count"`
	UniqueQueryCount int    `json:"unique_query_count"`
	Metrics          struct {
		QueryTime struct {
			Sum string `json:"sum"`
		} `json:"Query_time"`
		LockTime struct {
			Sum string `json:"sum"`
		} `json:"Lock_time"`
		RowsExamined struct {
			Sum string `json:"sum"`
		} `json:"Rows_examined"`
	} `json:"metrics"`
}

// runPT runs pt-query-digest on files and returns its classes by id.
func runPT(t *testing.T, pt string, files ...string) (map[string]ptClass, ptGlobal) {
	t.Helper()
	args := append([]string{"--no-version-check", "--output", "json", "--limit", "100000000"}, files...)
	cmd := exec.Command(pt, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pt-query-digest: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Classes []ptClass `json:"classes"`
		Global  ptGlobal  `json:"global"`
	}
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:] // pt prints a blank line first
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return map[string]ptClass{}, ptGlobal{}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("pt-query-digest JSON: %v\n%.500s", err, out)
	}
	m := map[string]ptClass{}
	for _, c := range doc.Classes {
		m[c.Checksum] = c
	}
	return m, doc.Global
}

// digestFiles runs dbfleet's digest on files.
func digestFiles(t *testing.T, opts Options, files ...string) *Digest {
	t.Helper()
	var inputs []Input
	for _, f := range files {
		rc, err := OpenFile(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		inputs = append(inputs, Input{Name: f, R: rc})
	}
	d, err := Run(context.Background(), inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// comparePT checks that dbfleet and pt-query-digest find the same classes
// with the same counts and total Query_time on files.
func comparePT(t *testing.T, pt string, d *Digest, files ...string) {
	t.Helper()
	want, global := runPT(t, pt, files...)
	// The overall totals too.
	near := func(a float64, b string) bool {
		f, _ := strconv.ParseFloat(b, 64)
		return math.Abs(a-f) <= 1e-6*math.Max(1, math.Abs(f))
	}
	if global.QueryCount != d.Totals.Num[AttrQueryTime].Cnt || global.UniqueQueryCount != len(d.Classes) ||
		!near(d.Totals.Num[AttrQueryTime].Sum, global.Metrics.QueryTime.Sum) || !near(d.Totals.Num[AttrLockTime].Sum, global.Metrics.LockTime.Sum) ||
		!near(d.Totals.Num[AttrRowsExamined].Sum, global.Metrics.RowsExamined.Sum) {
		t.Errorf("totals: %d events, %d classes, Query_time %.6f, Lock_time %.6f, Rows_examined %.0f; pt-query-digest: %+v",
			d.Totals.Num[AttrQueryTime].Cnt, len(d.Classes), d.Totals.Num[AttrQueryTime].Sum, d.Totals.Num[AttrLockTime].Sum,
			d.Totals.Num[AttrRowsExamined].Sum, global)
	}
	got := map[string]*Class{}
	for _, c := range d.Classes {
		if c.Num[AttrQueryTime].Cnt > 0 { // pt reports only classes with a Query_time
			got[c.ID()] = c
		}
	}
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	bad := 0
	for _, id := range ids {
		w, inPT := want[id]
		g, inGo := got[id]
		switch {
		case !inPT:
			bad++
			t.Errorf("class %s (%q, %d events) not in pt-query-digest's report", id, g.Fingerprint, g.Count())
		case !inGo:
			bad++
			t.Errorf("pt-query-digest class %s (%q, %d events) missing", id, w.Fingerprint, w.QueryCount)
		default:
			sum, _ := strconv.ParseFloat(w.Metrics.QueryTime.Sum, 64)
			gs := g.Num[AttrQueryTime].Sum
			if g.Count() != w.QueryCount || math.Abs(gs-sum) > 1e-6*math.Max(1, float64(w.QueryCount)) {
				bad++
				t.Errorf("class %s %q: count %d, Query_time sum %.6f; pt-query-digest: %d, %s", id, g.Fingerprint, g.Count(), gs, w.QueryCount, w.Metrics.QueryTime.Sum)
			}
		}
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
	if len(want) == 0 {
		t.Errorf("pt-query-digest found no classes in %v", files)
	}
	t.Logf("%d classes, %d events: identical to pt-query-digest", len(want), d.Totals.Num[AttrQueryTime].Cnt)
}

func TestCompareRealSample(t *testing.T) {
	pt := ptQueryDigest(t)
	f := os.Getenv("SLOWLOG_SAMPLE")
	if f == "" {
		t.Skip("SLOWLOG_SAMPLE not set")
	}
	blockSize := 0
	if v, _ := strconv.Atoi(os.Getenv("SLOWLOG_BLOCK")); v > 0 {
		blockSize = v
	}
	for _, workers := range []int{1, 2} {
		d := digestFiles(t, Options{Workers: workers, BlockSize: blockSize}, f)
		comparePT(t, pt, d, f)
	}
}
