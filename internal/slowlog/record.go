package slowlog

import (
	"time"
)

// Record is one statement, or a batch of calls of one statement, from a
// source other than a slow-log file: a row of mysql.slow_log, the change
// of a performance_schema or pg_stat_statements digest since the last
// look, an entry of Redis's SLOWLOG.
type Record struct {
	Time time.Time
	// Query is the statement (the class's example); Fingerprint is
	// computed from it when empty.
	Query       string
	Fingerprint string
	DB          string
	User, Host  string
	// Calls is how many executions the record sums (0 means 1).
	Calls uint64
	// QueryTime is their total time in seconds; MaxQueryTime the longest
	// one when known (else QueryTime/Calls).
	QueryTime, MaxQueryTime float64
	// Num holds totals of the other numeric attributes, for those set in
	// Has (bit AttrLockTime, AttrRowsSent...).
	Num [numAttrs]float64
	Has uint32
}

// Set records total v of numeric attribute a.
func (r *Record) Set(a int, v float64) {
	r.Num[a] = v
	r.Has |= 1 << a
}

// AddBatch records n values summing to sum with extremes min and max; the
// histogram gets them at their mean (exact when n is 1).
func (m *Metric) AddBatch(n uint64, sum, min, max float64) {
	if n == 0 {
		return
	}
	if m.Cnt == 0 || min < m.Min {
		m.Min = min
	}
	if m.Cnt == 0 || max > m.Max {
		m.Max = max
	}
	m.Cnt += n
	m.Sum = addSat(m.Sum, sum)
	m.hist.add(BucketIndex(sum/float64(n)), n)
}

// AddRecord aggregates r into d, per class and time bucket of width bucket
// (per class only when bucket is 0). A record with a number out of range
// (see MaxSeconds, MaxCount) is counted in d.Skipped instead, with from
// saying where it came from, and AddRecord returns nil.
func (d *Digest) AddRecord(r Record, bucket time.Duration, from string) *Class {
	if why := checkRecord(&r); why != "" {
		d.addSkipped(SkippedEvent{File: from, Reason: why})
		return nil
	}
	fp := r.Fingerprint
	if fp == "" {
		fp = Fingerprint(r.Query)
	}
	var t int64
	if !r.Time.IsZero() {
		t = r.Time.UnixMicro()
	}
	var start int64
	key := fp
	if us := bucket.Microseconds(); us > 0 {
		if t > 0 {
			start = t / us * us
		}
		b := []byte{0, byte(start >> 56), byte(start >> 48), byte(start >> 40), byte(start >> 32), byte(start >> 24), byte(start >> 16), byte(start >> 8), byte(start)}
		key = fp + string(b)
	}
	c := d.Classes[key]
	if c == nil {
		c = &Class{Fingerprint: fp, Bucket: start}
		d.Classes[key] = c
	}
	n := max(r.Calls, 1)
	c.Events += n
	d.Events += n
	mean := r.QueryTime / float64(n)
	mx := r.MaxQueryTime
	if mx < mean {
		mx = mean
	}
	mn := mean
	if n == 1 {
		mn, mx = r.QueryTime, r.QueryTime
	}
	c.Num[AttrQueryTime].AddBatch(n, r.QueryTime, mn, mx)
	d.Totals.Num[AttrQueryTime].AddBatch(n, r.QueryTime, mn, mx)
	for a := AttrLockTime; a < numAttrs; a++ {
		if r.Has&(1<<a) == 0 {
			continue
		}
		v := r.Num[a] / float64(n)
		c.Num[a].AddBatch(n, r.Num[a], v, v)
		d.Totals.Num[a].AddBatch(n, r.Num[a], v, v)
	}
	if r.Query != "" {
		c.Num[AttrQuerySize].AddBatch(n, float64(len(r.Query))*float64(n), float64(len(r.Query)), float64(len(r.Query)))
	}
	if r.DB != "" {
		c.DBs.add([]byte(r.DB), n)
	}
	if r.User != "" {
		c.Users.add([]byte(r.User), n)
	}
	if r.Host != "" {
		c.Hosts.add([]byte(r.Host), n)
	}
	c.addTime(t)
	d.Totals.addTime(t)
	if !c.hasSample || mx >= c.sampleQT {
		c.Sample = append(c.Sample[:0], r.Query...)
		c.SampleDB, c.SampleTime, c.sampleQT, c.hasSample = r.DB, t, mx, true
	}
	return c
}
