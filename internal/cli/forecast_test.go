package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const peytonCSV = "../forecast/testdata/example_wp_log_peyton_manning.csv"

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb, []string{"DBFLEET_CREDENTIALS=" + t.TempDir() + "/c.json"})
	return code, out.String(), errb.String()
}

// dbfleet forecast writes ds,yhat,yhat_lower,yhat_upper: Prophet's quick
// start on the Peyton Manning data ends at 2017-01-19 with yhat near its
// published values.
func TestForecastCommand(t *testing.T) {
	code, out, errs := runCLI(t, "", "forecast", peytonCSV, "--periods", "365", "--future-only")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 366 || strings.Join(recs[0], ",") != "ds,yhat,yhat_lower,yhat_upper" {
		t.Fatalf("%d rows, header %v", len(recs), recs[0])
	}
	want := map[string]float64{"2017-01-15": 8.212625, "2017-01-16": 8.537635, "2017-01-17": 8.325071}
	for _, r := range recs[1:] {
		if w, ok := want[r[0]]; ok {
			y, _ := strconv.ParseFloat(r[1], 64)
			lo, _ := strconv.ParseFloat(r[2], 64)
			hi, _ := strconv.ParseFloat(r[3], 64)
			if y < w-0.01 || y > w+0.01 || !(lo < y && y < hi) {
				t.Errorf("%s: %v, want yhat %g", r[0], r, w)
			}
			delete(want, r[0])
		}
	}
	if len(want) != 0 || recs[365][0] != "2017-01-19" {
		t.Errorf("missing dates %v; last row %v", want, recs[365])
	}

	// History included by default; hourly steps; a wider interval; JSON.
	dir := t.TempDir()
	outFile := filepath.Join(dir, "f.json")
	code, _, errs = runCLI(t, "", "forecast", peytonCSV, "--periods", "3", "--freq", "H", "--interval-width", "0.95", "-o", "json", "--out", outFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, _ := os.ReadFile(outFile)
	var pts []struct {
		DS    string  `json:"ds"`
		Yhat  float64 `json:"yhat"`
		Lower float64 `json:"yhat_lower"`
		Upper float64 `json:"yhat_upper"`
	}
	if err := json.Unmarshal(data, &pts); err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2905+3 || pts[len(pts)-1].DS != "2016-01-20T03:00:00Z" {
		t.Errorf("%d points, last %+v", len(pts), pts[len(pts)-1])
	}
}

// Bad input: the line (and column) of a malformed CSV, how much history a
// fit needs, and usage errors with exit status 2.
func TestForecastBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct {
		args  []string
		stdin string
		code  int
		msg   string
	}{
		{[]string{"forecast", write("y.csv", "ds,y\n2024-01-01,1\n2024-01-02,1.5\n2024-01-03,abc\n")}, "", 1, "y.csv:4:12: y \"abc\": want a number"},
		{[]string{"forecast", write("d.csv", "ds,y\n2024-01-01,1\n01/02/2024,2\n")}, "", 1, "d.csv:3:1: ds \"01/02/2024\": want a date"},
		{[]string{"forecast", "-"}, "ds,y\n2024-01-01,1\n\"2024-01-02,2\n", 1, "stdin:3:"},
		{[]string{"forecast", write("h.csv", "date,value\n2024-01-01,1\n")}, "", 1, "h.csv:1: header \"date,value\": want columns named ds and y"},
		{[]string{"forecast", write("f.csv", "ds,y\n2024-01-01\n")}, "", 1, "f.csv:2: 1 fields, want at least 2"},
		{[]string{"forecast", write("s.csv", "ds,y\n2024-01-01,1\n2024-01-02,\n")}, "", 1, "history too short: 1 usable row (a timestamp with a numeric value); a fit needs at least 2"},
		{[]string{"forecast", write("e.csv", "")}, "", 1, "empty file"},
		{[]string{"forecast", filepath.Join(dir, "missing.csv")}, "", 1, "no such file"},
		{[]string{"forecast"}, "", 2, "want exactly one CSV file"},
		{[]string{"forecast", peytonCSV, "--freq", "fortnight"}, "", 2, "invalid frequency \"fortnight\""},
		{[]string{"forecast", peytonCSV, "--interval-width", "1.2"}, "", 2, "interval width 1.2"},
		{[]string{"forecast", peytonCSV, "--periods", "-1"}, "", 2, "--periods -1"},
		{[]string{"forecast", peytonCSV, "--mode", "logistic"}, "", 2, "--mode \"logistic\""},
		{[]string{"forecast", peytonCSV, "-o", "yaml"}, "", 2, "invalid output format \"yaml\""},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(t, tt.stdin, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.msg) {
			t.Errorf("dbfleet %v: exit %d, stderr %q; want %d mentioning %q", tt.args, code, errs, tt.code, tt.msg)
		}
	}
}

// The output format: CSV without -o, aligned columns with -o table (not
// CSV under another name), CSV with -o csv.
func TestForecastOutputFormats(t *testing.T) {
	hist := "ds,y\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n2024-01-04,4\n"
	tests := []struct {
		args   []string
		header string
		comma  bool
	}{
		{nil, "ds,yhat,yhat_lower,yhat_upper", true},
		{[]string{"-o", "csv"}, "ds,yhat,yhat_lower,yhat_upper", true},
		{[]string{"-o", "table"}, "DS", false},
	}
	for _, tt := range tests {
		args := append([]string{"forecast", "-", "--periods", "2", "--future-only"}, tt.args...)
		code, out, errs := runCLI(t, hist, args...)
		if code != 0 {
			t.Fatalf("dbfleet %v: exit %d: %s", args, code, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(strings.TrimSpace(lines[0]), tt.header) {
			t.Errorf("dbfleet %v: got %q, want 3 lines starting with %q", args, out, tt.header)
			continue
		}
		if strings.Contains(lines[1], ",") != tt.comma || !strings.Contains(lines[2], "2024-01-06") {
			t.Errorf("dbfleet %v: row %q (CSV %v), last %q", args, lines[1], tt.comma, lines[2])
		}
	}
}
