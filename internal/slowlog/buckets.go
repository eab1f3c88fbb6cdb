package slowlog

import (
	"math"
)

// Percentiles come from constant-size log-scale buckets, exactly as in
// pt-query-digest's EventAggregator: 1,000 buckets, each 5% wider than the
// one before, from 1µs (bucket 0 holds everything smaller). Memory per
// metric does not grow with the number of values.
const (
	NumBuckets = 1000
	bucketBase = 1.05
	minBucket  = 0.000001
)

var (
	baseLog    = math.Log(bucketBase)
	baseOffset = math.Abs(1 - math.Log(minBucket)/baseLog) // 284.1617969
	bucketVals = func() (v [NumBuckets]float64) {
		for i := 1; i < NumBuckets; i++ {
			v[i] = math.Pow(bucketBase, float64(i-1)) * minBucket
		}
		return v
	}()
	// bucketTens maps each bucket to its power of ten (0: <10µs ... 7:
	// 10s+), for the distribution histogram.
	bucketTens = func() (t [NumBuckets]uint8) {
		start := 0
		for b10 := 0; b10 < 7; b10++ {
			next := BucketIndex(math.Pow(10, float64(b10+1)) * minBucket)
			for i := start; i < next; i++ {
				t[i] = uint8(b10)
			}
			start = next
		}
		for i := start; i < NumBuckets; i++ {
			t[i] = 7
		}
		return t
	}()
)

// smallInts caches the buckets of 0..1023, the usual row counts.
var smallInts = func() (t [1024]uint16) {
	for i := range t {
		t[i] = uint16(bucketIndex(float64(i)))
	}
	return t
}()

// BucketIndex is the bucket of value v (pt's bucket_idx).
func BucketIndex(v float64) int {
	if v >= 0 && v < 1024 {
		if i := int(v); float64(i) == v {
			return int(smallInts[i])
		}
	}
	return bucketIndex(v)
}

func bucketIndex(v float64) int {
	if v < minBucket {
		return 0
	}
	i := int(baseOffset + math.Log(v)/baseLog)
	if i > NumBuckets-1 {
		return NumBuckets - 1
	}
	return i
}

// BucketValue is the lower bound of bucket i (pt's bucket_value).
func BucketValue(i int) float64 { return bucketVals[i] }

// histogram counts values per bucket over the range of buckets used so
// far: memory grows with how widely a metric's values spread (at most
// 1,000 counters), not with how many there are.
type histogram struct {
	lo     int
	counts []uint64
}

func (h *histogram) add(idx int, n uint64) {
	if len(h.counts) == 0 {
		h.lo = idx
		h.counts = append(h.counts[:0], n)
		return
	}
	if idx >= h.lo && idx < h.lo+len(h.counts) {
		h.counts[idx-h.lo] += n
		return
	}
	if idx < h.lo {
		grow := h.lo - idx
		c := make([]uint64, len(h.counts)+grow, len(h.counts)+grow+8)
		copy(c[grow:], h.counts)
		h.counts, h.lo = c, idx
		h.counts[0] += n
		return
	}
	for h.lo+len(h.counts) <= idx {
		h.counts = append(h.counts, 0)
	}
	h.counts[idx-h.lo] += n
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		if n != 0 {
			h.add(o.lo+i, n)
		}
	}
}

// eachDesc calls fn for every non-empty bucket, highest first.
func (h *histogram) eachDesc(fn func(idx int, n uint64)) {
	for i := len(h.counts) - 1; i >= 0; i-- {
		if h.counts[i] != 0 {
			fn(h.lo+i, h.counts[i])
		}
	}
}

// Sparse returns the non-empty buckets as (index, count) pairs, ascending.
func (h *histogram) Sparse() [][2]uint64 {
	var out [][2]uint64
	for i, n := range h.counts {
		if n != 0 {
			out = append(out, [2]uint64{uint64(h.lo + i), n})
		}
	}
	return out
}

// Metric aggregates one numeric attribute: count, sum, extremes and the
// bucket histogram.
type Metric struct {
	Cnt      uint64
	Sum      float64
	Min, Max float64
	hist     histogram
}

// Add records value v in bucket idx (BucketIndex(v)).
func (m *Metric) Add(v float64, idx int) {
	if m.Cnt == 0 || v < m.Min {
		m.Min = v
	}
	if m.Cnt == 0 || v > m.Max {
		m.Max = v
	}
	m.Cnt++
	m.Sum += v
	m.hist.add(idx, 1)
}

// AddBuckets records pre-bucketed counts (from stored aggregates).
func (m *Metric) AddBuckets(cnt uint64, sum, min, max float64, buckets [][2]uint64) {
	if cnt == 0 {
		return
	}
	if m.Cnt == 0 || min < m.Min {
		m.Min = min
	}
	if m.Cnt == 0 || max > m.Max {
		m.Max = max
	}
	m.Cnt += cnt
	m.Sum = addSat(m.Sum, sum)
	for _, b := range buckets {
		if b[0] < NumBuckets {
			m.hist.add(int(b[0]), b[1])
		}
	}
}

// Merge adds o's values to m.
func (m *Metric) Merge(o *Metric) {
	if o.Cnt == 0 {
		return
	}
	if m.Cnt == 0 || o.Min < m.Min {
		m.Min = o.Min
	}
	if m.Cnt == 0 || o.Max > m.Max {
		m.Max = o.Max
	}
	m.Cnt += o.Cnt
	m.Sum = addSat(m.Sum, o.Sum)
	m.hist.merge(&o.hist)
}

// Buckets returns the non-empty buckets, ascending.
func (m *Metric) Buckets() [][2]uint64 { return m.hist.Sparse() }

// Avg is the mean.
func (m *Metric) Avg() float64 {
	if m.Cnt == 0 {
		return 0
	}
	return m.Sum / float64(m.Cnt)
}

// Stats are the approximate statistics pt-query-digest derives from the
// buckets.
type Stats struct {
	Pct95  float64 `json:"pct_95"`
	Stddev float64 `json:"stddev"`
	Median float64 `json:"median"`
}

// Stats computes the 95th percentile, standard deviation and median from
// the buckets the way pt's _calc_metrics does.
func (m *Metric) Stats() Stats {
	if m.Cnt == 0 {
		return Stats{}
	}
	n := m.Cnt
	if n == 1 || m.Max == m.Min {
		return Stats{Pct95: m.Max, Median: m.Max}
	}
	if n == 2 {
		mean := (m.Min + m.Max) / 2
		return Stats{Pct95: m.Max, Stddev: math.Sqrt(math.Pow(m.Max-mean, 2) * 2), Median: mean}
	}
	cutoff := n
	if n >= 10 {
		cutoff = uint64(float64(n) * 0.95)
	}
	totalLeft := int64(n)
	topVals := int64(n - cutoff)
	var sumExcl int64
	var sum, sumsq, median float64
	mid := int64(n / 2)
	prev := NumBuckets - 1
	bucket95 := 0
	medianSet := false
	m.hist.eachDesc(func(b int, cnt uint64) {
		c := int64(cnt)
		totalLeft -= c
		sumExcl += c
		if bucket95 == 0 && sumExcl > topVals {
			bucket95 = b
		}
		if !medianSet && totalLeft <= mid {
			if cutoff%2 == 1 || c > 1 {
				median = bucketVals[b]
			} else {
				median = (bucketVals[b] + bucketVals[prev]) / 2
			}
			// pt tests `!$median`: a zero median (bucket 0) is recomputed.
			medianSet = median != 0
		}
		sum += float64(c) * bucketVals[b]
		sumsq += float64(c) * bucketVals[b] * bucketVals[b]
		prev = b
	})
	variance := sumsq/float64(n) - math.Pow(sum/float64(n), 2)
	stddev := 0.0
	if variance > 0 {
		stddev = math.Sqrt(variance)
	}
	if maxStd := (m.Max - m.Min) / 2; stddev > maxStd {
		stddev = maxStd
	}
	return Stats{Pct95: bucketVals[bucket95], Stddev: stddev, Median: median}
}

// Distribution counts values per power of ten: <10µs, <100µs ... 10s+
// (pt's Query_time distribution chart).
func (m *Metric) Distribution() [8]uint64 {
	var d [8]uint64
	m.hist.eachDesc(func(b int, n uint64) {
		if b >= 1 {
			d[bucketTens[b]] += n
		}
	})
	return d
}
