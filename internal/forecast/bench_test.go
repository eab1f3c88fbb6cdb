package forecast

import (
	"testing"
	"time"
)

// Fit time of the figures in docs/forecast.md:
//
//	go test ./internal/forecast -run '^$' -bench Fit -cpu 1
func BenchmarkFitPeyton(b *testing.B) {
	s := readSeries(b, "example_wp_log_peyton_manning.csv")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(s.DS, s.Y, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.DS)), "points")
}

// Eight weeks of 5-minute data (16,128 points): daily and weekly
// seasonality, as dbfleet fits a metric.
func BenchmarkFit5Min8Weeks(b *testing.B) {
	s := synthetic(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, 56*day, 1)
	if len(s.DS) != 16128 {
		b.Fatalf("%d points", len(s.DS))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(s.DS, s.Y, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.DS)), "points")
}

// The same with multiplicative seasonality (no Gram shortcut).
func BenchmarkFit5Min8WeeksMultiplicative(b *testing.B) {
	s := synthetic(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, 56*day, 1)
	o := DefaultOptions()
	o.SeasonalityMode = Multiplicative
	for b.Loop() {
		if _, err := Fit(s.DS, s.Y, o); err != nil {
			b.Fatal(err)
		}
	}
}

// Predicting 48 hours of 5-minute points with 1000 simulated paths.
func BenchmarkPredict48h(b *testing.B) {
	s := synthetic(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, 56*day, 1)
	m, err := Fit(s.DS, s.Y, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	fut := m.MakeFuture(576, 5*time.Minute, false)
	for b.Loop() {
		m.Predict(fut)
	}
}
