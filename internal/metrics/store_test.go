package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// counterSeries appends a counter growing by 10 every 15 s for 10 minutes
// ending at end, for two instances.
func counterSeries(t *testing.T, s *metrics.Store, end time.Time) {
	t.Helper()
	var batch []metrics.Sample
	for i := range 41 {
		ts := end.Add(-time.Duration(40-i) * 15 * time.Second).UnixMilli()
		for j, inst := range []string{"db1", "db2"} {
			batch = append(batch, metrics.Sample{
				Labels: labels.FromStrings("__name__", "mysql_global_status_queries", "instance", inst, "cluster", "c1", "engine", "mariadb"),
				T:      ts, V: float64(i * 10 * (j + 1)),
			})
		}
	}
	if err := s.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func TestStoreQueries(t *testing.T) {
	s := openStore(t, metrics.StoreOptions{})
	ctx := context.Background()
	end := time.Now().Truncate(time.Second)
	counterSeries(t, s, end)

	// Instant: rate over a counter.
	v, err := s.Instant(ctx, `rate(mysql_global_status_queries{instance="db1"}[5m])`, end)
	if err != nil || len(v) != 1 || !approx(v[0].F, 10.0/15) {
		t.Fatalf("rate: %v %v, want 0.667", v, err)
	}
	// Scalars come back as one unlabelled sample.
	v, err = s.Instant(ctx, `scalar(sum(mysql_global_status_queries))`, end)
	if err != nil || len(v) != 1 || v[0].F != 400+800 {
		t.Fatalf("scalar: %v %v", v, err)
	}
	// Range.
	m, err := s.Range(ctx, `sum by (cluster) (rate(mysql_global_status_queries[1m]))`, end.Add(-5*time.Minute), end, time.Minute)
	if err != nil || len(m) != 1 || len(m[0].Floats) != 6 {
		t.Fatalf("range: %v %v", m, err)
	}
	for _, p := range m[0].Floats {
		if !approx(p.F, 30.0/15) {
			t.Errorf("range point %v, want 2", p)
		}
	}
	// A bad query is Invalid with the engine's message.
	for _, q := range []string{`rate(mysql_global_status_queries[5m]`, `foo{`, `sum(rate(x))`} {
		_, err := s.Instant(ctx, q, end)
		if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "bad PromQL") {
			t.Errorf("%s: err %v (%v), want Invalid bad PromQL", q, err, errkind.Of(err))
		}
	}
	if _, err := s.Range(ctx, `up`, end, end.Add(-time.Hour), time.Minute); errkind.Of(err) != errkind.Invalid {
		t.Errorf("end before start: %v", err)
	}
	if _, err := s.Range(ctx, `up`, end.Add(-30*24*time.Hour), end, time.Second); errkind.Of(err) != errkind.Invalid {
		t.Errorf("too many points: %v", err)
	}

	// Series and labels.
	sel, err := s.ParseSelectors([]string{`{instance="db2"}`})
	if err != nil {
		t.Fatal(err)
	}
	series, err := s.Series(ctx, sel, end.Add(-time.Hour), end)
	if err != nil || len(series) != 1 || series[0].Get("instance") != "db2" {
		t.Fatalf("series: %v %v", series, err)
	}
	names, err := s.LabelNames(ctx, nil, time.Time{}, time.Time{})
	if err != nil || strings.Join(names, ",") != "__name__,cluster,engine,instance" {
		t.Fatalf("label names: %v %v", names, err)
	}
	vals, err := s.LabelValues(ctx, "instance", nil, time.Time{}, time.Time{})
	if err != nil || strings.Join(vals, ",") != "db1,db2" {
		t.Fatalf("label values: %v %v", vals, err)
	}
	if _, err := s.ParseSelectors([]string{`{instance=}`}); errkind.Of(err) != errkind.Invalid {
		t.Errorf("bad selector: %v", err)
	}
}

// TestStoreReopen checks samples survive a close and reopen (WAL replay).
func TestStoreReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := metrics.Open(dir, metrics.StoreOptions{Retention: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Truncate(time.Second)
	counterSeries(t, s, end)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = metrics.Open(dir, metrics.StoreOptions{Retention: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := value(t, s, `max(mysql_global_status_queries)`); v != 800 {
		t.Errorf("after reopen: %v, want 800", v)
	}
}

// TestRemoteWrite sends appended samples to a local receiver that decodes
// the remote-write protocol.
func TestRemoteWrite(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]prompb.Sample{}
	var headers http.Header
	fail := 2 // the first two requests fail with 503: the writer retries
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		headers = r.Header.Clone()
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, ts := range req.Timeseries {
			var b labels.ScratchBuilder
			l := ts.ToLabels(&b, nil)
			got[l.String()] = append(got[l.String()], ts.Samples...)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	rw := metrics.NewRemoteWriter(recv.URL, 0, nil)
	rw.Headers = map[string]string{"Authorization": "Bearer xyz"}
	s := openStore(t, metrics.StoreOptions{Remote: rw})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { rw.Run(ctx); close(done) }()

	end := time.Now().Truncate(time.Second)
	counterSeries(t, s, end)
	deadline := time.Now().Add(10 * time.Second)
	for rw.Stats().Sent < 82 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if st := rw.Stats(); st.Sent != 82 || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want 82 sent", st)
	}
	mu.Lock()
	defer mu.Unlock()
	key := `{__name__="mysql_global_status_queries", cluster="c1", engine="mariadb", instance="db2"}`
	if smp := got[key]; len(smp) != 41 || smp[40].Value != 800 || smp[40].Timestamp != end.UnixMilli() {
		t.Errorf("received %d samples for %s (keys %v)", len(smp), key, len(got))
	}
	if headers.Get("Content-Encoding") != "snappy" || headers.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || headers.Get("Authorization") != "Bearer xyz" {
		t.Errorf("headers %v", headers)
	}
}

// TestRemoteWriteQueueBounded: with no receiver running, the queue keeps
// only the newest batches and counts the rest as dropped.
func TestRemoteWriteQueueBounded(t *testing.T) {
	rw := metrics.NewRemoteWriter("http://127.0.0.1:1/", 2, nil)
	one := []metrics.Sample{{Labels: labels.FromStrings("__name__", "x"), T: 1, V: 1}}
	for range 5 {
		rw.Enqueue(one)
	}
	if st := rw.Stats(); st.Dropped != 3 {
		t.Errorf("dropped %d, want 3", st.Dropped)
	}
}

// TestRemoteWriteFlushAtShutdown: samples still queued when the server
// stops get one last attempt.
func TestRemoteWriteFlushAtShutdown(t *testing.T) {
	var got int
	var mu sync.Mutex
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, _ := snappy.Decode(nil, body)
		var req prompb.WriteRequest
		req.Unmarshal(raw)
		mu.Lock()
		for _, ts := range req.Timeseries {
			got += len(ts.Samples)
		}
		mu.Unlock()
	}))
	defer recv.Close()
	rw := metrics.NewRemoteWriter(recv.URL, 0, nil)
	for i := range 3 {
		rw.Enqueue([]metrics.Sample{{Labels: labels.FromStrings("__name__", "x"), T: int64(i), V: 1}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rw.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if got != 3 || rw.Stats().Sent != 3 {
		t.Errorf("received %d, stats %+v; want 3 sent", got, rw.Stats())
	}
}
