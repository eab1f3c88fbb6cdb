package slowlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/slowlog/slowloggen"
)

// repeatReader reads data n times over without holding the copies.
type repeatReader struct {
	data []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.data[r.off:])
	r.off += k
	if r.off == len(r.data) {
		r.off = 0
		r.n--
	}
	return k, nil
}

// peakHeap runs fn and returns the largest heap in use while it ran.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	mu.Lock()
	defer mu.Unlock()
	return peak
}

// TestMemoryDoesNotGrowWithEvents digests 20,000 and 60,000 copies of a
// log of 17 classes: three times the events must not need more memory.
func TestMemoryDoesNotGrowWithEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("digests 560 MB")
	}
	run := func(copies int) (uint64, *Digest) {
		var d *Digest
		peak := peakHeap(func() {
			var err error
			d, err = Run(context.Background(), []Input{{Name: "repeat", R: &repeatReader{data: []byte(mariadbSample), n: copies}}},
				Options{Workers: 2, BlockSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
		})
		return peak, d
	}
	// Past the first blocks the heap settles where the garbage collector
	// keeps it: three times the events must fit in the same memory.
	small, ds := run(20000)
	large, dl := run(60000)
	// (Each copy's header line joins the copy before's last statement, as
	// it would in pt-query-digest: not exactly three times the events.)
	if dl.Events < 2*ds.Events || len(dl.Classes) != len(ds.Classes) {
		t.Fatalf("%d events in %d classes, then %d in %d", ds.Events, len(ds.Classes), dl.Events, len(dl.Classes))
	}
	t.Logf("%d events: peak heap %d KiB; %d events: %d KiB", ds.Events, small>>10, dl.Events, large>>10)
	if large > small+small/2+(8<<20) {
		t.Errorf("peak heap grew from %d KiB to %d KiB for three times the events", small>>10, large>>10)
	}
}

// TestCompareGenerated digests a generated MariaDB log, with its restarts,
// lower-case USE statements and long tail of classes, and compares with
// pt-query-digest, in blocks small enough to cut it in many places.
func TestCompareGenerated(t *testing.T) {
	pt := ptQueryDigest(t)
	path := filepath.Join(t.TempDir(), "slow.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := slowloggen.Write(f, 3<<20, slowloggen.Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, bs := range []int{0, 40 << 10} {
		comparePT(t, pt, digestFiles(t, Options{Workers: 2, BlockSize: bs}, path), path)
	}
}

// TestBlocksDoNotChangeTheResult digests logs cut into blocks of many
// sizes, in parallel: every class must have the same events, total time and
// databases as in one pass.
func TestBlocksDoNotChangeTheResult(t *testing.T) {
	var gen bytes.Buffer
	if _, _, err := slowloggen.Write(&gen, 1<<20, slowloggen.Options{Seed: 3, QPS: 20}); err != nil {
		t.Fatal(err)
	}
	logs := map[string][]byte{"generated": gen.Bytes()}
	for _, tc := range parserCases {
		// Past pt's first 1,000 events blocks run in parallel: make sure
		// every log has many more.
		logs[tc.name] = []byte(strings.Repeat(tc.log, 1+(300<<10)/len(tc.log)))
	}
	type key struct {
		events uint64
		sum    float64
		dbs    string
	}
	summary := func(d *Digest) map[string]key {
		m := map[string]key{}
		for k, c := range d.Classes {
			var dbs []string
			for _, v := range c.DBs.Top() {
				dbs = append(dbs, fmt.Sprintf("%s=%d", v.Value, v.Count))
			}
			m[k] = key{c.Events, math.Round(c.Num[AttrQueryTime].Sum * 1e6), strings.Join(dbs, ",")}
		}
		return m
	}
	for name, data := range logs {
		want := summary(digestBytes(t, data, Options{Workers: 1, BlockSize: len(data) + 1}))
		for _, bs := range []int{512, 1000, 4096, 10000, 33333} {
			got := summary(digestBytes(t, data, Options{Workers: 2, BlockSize: bs}))
			if !maps.Equal(got, want) {
				for k, w := range want {
					if got[k] != w {
						t.Errorf("%s, blocks of %d: class %q: %+v, in one pass %+v", name, bs, k, got[k], w)
					}
				}
				for k, g := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s, blocks of %d: extra class %q: %+v", name, bs, k, g)
					}
				}
				t.FailNow()
			}
		}
	}
}
