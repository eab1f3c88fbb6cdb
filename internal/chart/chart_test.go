package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func series(name string, n int, step time.Duration, fn func(i int) float64) Series {
	s := Series{Name: name}
	for i := range n {
		s.Points = append(s.Points, Point{T: t0.Add(time.Duration(i) * step), V: fn(i)})
	}
	return s
}

func TestGolden(t *testing.T) {
	ten := 100.0
	tests := []struct {
		name  string
		chart Chart
	}{
		{"qps", Chart{Title: "Queries per second", Series: []Series{
			series("db-1", 240, 15*time.Second, func(i int) float64 { return 1200 + 400*math.Sin(float64(i)/20) }),
			series("db-2", 240, 15*time.Second, func(i int) float64 { return 300 + float64(i) }),
		}}},
		{"bytes-gap", Chart{Title: "Buffer pool <data>", Unit: UnitBytes, Width: 480, Height: 200, Series: []Series{
			series("data", 48, 30*time.Minute, func(i int) float64 {
				if i >= 20 && i < 26 {
					return math.NaN() // a gap: the instance was down
				}
				return float64(i * 64 << 20)
			}),
		}}},
		{"lag-seconds", Chart{Title: "Replication lag", Unit: UnitSeconds, Start: t0, End: t0.Add(7 * 24 * time.Hour), Series: []Series{
			series("replica-1", 7*24, time.Hour, func(i int) float64 { return float64(i%24) * 0.25 }),
			series("replica-2", 7*24, time.Hour, func(i int) float64 { return float64(i%12) * 30 }),
			series("replica-3 with a very long name that is cut", 7*24, time.Hour, func(i int) float64 { return 5 }),
			series("replica-4", 7*24, time.Hour, func(i int) float64 { return 1 }),
			series("replica-5", 7*24, time.Hour, func(i int) float64 { return 2 }),
		}}},
		{"percent-fixed", Chart{Title: "Connections used", Unit: UnitPercent, MaxY: &ten, Series: []Series{
			series("db-1", 60, time.Minute, func(i int) float64 { return float64(i) }),
		}}},
		{"negative", Chart{Title: "Delta", Series: []Series{
			series("d", 30, time.Minute, func(i int) float64 { return float64(i - 15) }),
		}}},
		{"single-point", Chart{Title: "One scrape", Series: []Series{series("db-1", 1, time.Minute, func(int) float64 { return 3 })}}},
		{"empty", Chart{Title: "No data yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.chart.SVG()
			// Well-formed XML.
			dec := xml.NewDecoder(bytes.NewReader(got))
			for {
				if _, err := dec.Token(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("not well-formed: %v", err)
				}
			}
			if !bytes.Equal(got, tt.chart.SVG()) {
				t.Error("output is not deterministic")
			}
			path := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/chart -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; inspect and run with -update if intended", path)
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 1, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 1600, []float64{0, 500, 1000, 1500, 2000}},
		{-15, 14, []float64{-20, -10, 0, 10, 20}},
		{0, 0, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
	}
	for _, tt := range tests {
		got := niceTicks(tt.lo, tt.hi, 5)
		if len(got) != len(tt.want) {
			t.Errorf("niceTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-9 {
				t.Errorf("niceTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
				break
			}
		}
	}
}

func TestTimeTicks(t *testing.T) {
	tests := []struct {
		span   time.Duration
		first  string
		layout string
		n      int
	}{
		{time.Hour, "10:10", "15:04", 6},
		{6 * time.Hour, "11:00", "15:04", 6},
		{24 * time.Hour, "Mar 1 12:00", "Jan 2 15:04", 4},
		{7 * 24 * time.Hour, "Mar 3", "Jan 2", 3},
	}
	start := t0.Add(7 * time.Minute)
	for _, tt := range tests {
		ticks, layout := timeTicks(start, start.Add(tt.span), time.UTC, 6)
		if layout != tt.layout || len(ticks) != tt.n || ticks[0].Format(layout) != tt.first {
			var s []string
			for _, x := range ticks {
				s = append(s, x.Format(layout))
			}
			t.Errorf("span %s: %v (%s), want %d ticks from %s", tt.span, s, layout, tt.n, tt.first)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit Unit
		want string
	}{
		{0, UnitNone, "0"}, {1500, UnitNone, "1.5k"}, {2e6, UnitNone, "2M"}, {0.25, UnitNone, "0.25"},
		{1536, UnitBytes, "1.5 KiB"}, {3 << 30, UnitBytes, "3 GiB"}, {512, UnitBytes, "512 B"},
		{0.0005, UnitSeconds, "500µs"}, {0.25, UnitSeconds, "250ms"}, {90, UnitSeconds, "90s"}, {600, UnitSeconds, "10m"},
		{7200, UnitSeconds, "2h"}, {3 * 86400, UnitSeconds, "3d"}, {42.5, UnitPercent, "42.5%"}, {-3, UnitNone, "-3"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}
