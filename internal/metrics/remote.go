package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// RemoteWriter sends copies of appended samples to a Prometheus-compatible
// remote-write endpoint (protocol 1.0: a snappy-compressed protobuf
// WriteRequest per POST). Appends never wait for it: batches go to a
// bounded queue, and when the endpoint is slower than the scrapes the
// oldest batches are dropped and counted, so that a slow or dead endpoint
// costs memory bounded by the queue and never stalls scraping.
type RemoteWriter struct {
	URL string
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// Headers are added to every request (e.g. Authorization).
	Headers map[string]string
	// MaxAttempts bounds retries of a batch that failed with a network
	// error or a 5xx/429 answer; zero means 5.
	MaxAttempts int
	Log         *slog.Logger

	queue chan []Sample

	sent, failed, dropped atomic.Int64
}

// NewRemoteWriter returns a writer to url with a queue of queueBatches
// batches (one batch is one scrape of one instance); zero means 1000.
func NewRemoteWriter(url string, queueBatches int, log *slog.Logger) *RemoteWriter {
	if queueBatches <= 0 {
		queueBatches = 1000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RemoteWriter{URL: url, Log: log, queue: make(chan []Sample, queueBatches)}
}

// RemoteStats counts samples by fate.
type RemoteStats struct {
	Sent, Failed, Dropped int64
}

// Stats reports how many samples were sent, given up on, or dropped
// because the queue was full.
func (w *RemoteWriter) Stats() RemoteStats {
	return RemoteStats{Sent: w.sent.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load()}
}

// Enqueue queues a batch; when the queue is full the oldest batch is
// dropped to make room.
func (w *RemoteWriter) Enqueue(batch []Sample) {
	for {
		select {
		case w.queue <- batch:
			return
		default:
		}
		select {
		case old := <-w.queue:
			w.dropped.Add(int64(len(old)))
		default:
		}
	}
}

// Run sends queued batches until ctx ends, merging what is queued into
// requests of up to 5000 samples. When ctx ends, what is still queued gets
// one last attempt of at most 5 seconds.
func (w *RemoteWriter) Run(ctx context.Context) error {
	for {
		var batch []Sample
		select {
		case <-ctx.Done():
			w.flush(nil)
			return nil
		case b := <-w.queue:
			batch = append(batch, b...)
		}
	more:
		for len(batch) < 5000 {
			select {
			case b := <-w.queue:
				batch = append(batch, b...)
			default:
				break more
			}
		}
		if ctx.Err() != nil {
			w.flush(batch)
			return nil
		}
		w.send(ctx, batch)
	}
}

// flush sends batch and whatever is queued, once, within 5 seconds.
func (w *RemoteWriter) flush(batch []Sample) {
	for {
		select {
		case b := <-w.queue:
			batch = append(batch, b...)
			continue
		default:
		}
		break
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body, err := encodeWriteRequest(batch)
	if err == nil {
		_, err = w.post(ctx, body)
	}
	if err != nil {
		w.failed.Add(int64(len(batch)))
		w.Log.Warn("remote write at shutdown failed; samples dropped", "samples", len(batch), "err", err)
		return
	}
	w.sent.Add(int64(len(batch)))
}

func (w *RemoteWriter) send(ctx context.Context, batch []Sample) {
	body, err := encodeWriteRequest(batch)
	if err != nil {
		w.failed.Add(int64(len(batch)))
		w.Log.Warn("remote write: encode", "err", err)
		return
	}
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff := 100 * time.Millisecond
	for i := 1; ; i++ {
		retry, err := w.post(ctx, body)
		if err == nil {
			w.sent.Add(int64(len(batch)))
			return
		}
		if !retry || i == attempts || ctx.Err() != nil {
			w.failed.Add(int64(len(batch)))
			w.Log.Warn("remote write failed; samples dropped", "samples", len(batch), "attempts", i, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// post sends one request; retry says whether a failure may succeed later.
func (w *RemoteWriter) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("remote write to %s: %w", w.URL, err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "dbfleet")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, fmt.Errorf("remote write to %s: %w", w.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("remote write to %s: %s: %s", w.URL, resp.Status, bytes.TrimSpace(msg))
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, err
}

// encodeWriteRequest groups samples by series into a snappy-compressed
// prompb.WriteRequest.
func encodeWriteRequest(batch []Sample) ([]byte, error) {
	index := map[uint64]int{}
	var req prompb.WriteRequest
	for _, s := range batch {
		h := s.Labels.Hash()
		i, ok := index[h]
		if !ok {
			i = len(req.Timeseries)
			index[h] = i
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: prompb.FromLabels(s.Labels, nil)})
		}
		req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Value: s.V, Timestamp: s.T})
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}
