package slowlog

import (
	"cmp"
	"slices"
)

// maxDistinct bounds the distinct databases, users and hosts counted per
// class; the rest are counted under Other.
const maxDistinct = 1000

// Counts counts distinct string values (databases, users, hosts).
type Counts struct {
	m     map[string]*uint64
	Other uint64
	// last is the value counted last (the usual next one).
	last  string
	lastP *uint64
}

func (c *Counts) add(v []byte, n uint64) {
	if c.lastP != nil && string(v) == c.last {
		*c.lastP += n
		return
	}
	if p := c.m[string(v)]; p != nil {
		*p += n
		c.last, c.lastP = string(v), p
		return
	}
	if c.m == nil {
		c.m = map[string]*uint64{}
	}
	if len(c.m) >= maxDistinct {
		c.Other += n
		return
	}
	x := n
	c.m[string(v)] = &x
}

func (c *Counts) merge(o *Counts) {
	for k, v := range o.m {
		c.add([]byte(k), *v)
	}
	c.Other += o.Other
}

// Len is the number of distinct values.
func (c *Counts) Len() int { return len(c.m) }

// Value is one distinct value and its count.
type Value struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// Top returns the values by count, then name.
func (c *Counts) Top() []Value {
	out := make([]Value, 0, len(c.m))
	for k, v := range c.m {
		out = append(out, Value{k, *v})
	}
	slices.SortFunc(out, func(a, b Value) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return out
}

// BoolCount counts a Yes/No attribute.
type BoolCount struct {
	Cnt, Yes uint64
}

// Class aggregates the events of one fingerprint.
type Class struct {
	Fingerprint string
	// Events counts every event of the class (pt's JSON query_count);
	// Num[AttrQueryTime].Cnt only those with a Query_time (pt's Calls).
	Events uint64
	// Bucket is the start of the class's time bucket (Unix µs) in a
	// digest made with Options.Bucket.
	Bucket int64
	Num    [numAttrs]Metric
	Bools  [numBools]BoolCount
	DBs    Counts
	Users  Counts
	Hosts  Counts
	// TimeMin/TimeMax bound the events' times (Unix µs), when known.
	TimeMin, TimeMax int64
	// Sample is the worst event: the last with the class's largest
	// Query_time (pt's sample).
	Sample       []byte
	SampleDB     string
	SampleTime   int64 // Unix µs, 0 when unknown
	SampleOffset int64
	SampleFile   int
	sampleQT     float64
	hasSample    bool
	// PosMax is the largest pos_in_log (pt's tie-breaker).
	PosMax int64

	// Unresolved inheritance at the start of a block: events that had no
	// database of their own before the block's first one.
	dbOrphans      uint64
	sampleDBOrphan bool
	// allowed are the attributes this class records after pt's first
	// unrollLimit events (see unrollLimit).
	allowed uint64
}

// Count is the number of events.
func (c *Class) Count() uint64 { return c.Events }

// ID is the query id (upper-case MD5 hex of the fingerprint).
func (c *Class) ID() string { return QueryID(c.Fingerprint) }

func (c *Class) addTime(t int64) { widen(&c.TimeMin, &c.TimeMax, t) }

// widen stretches [*lo, *hi] to take in t (Unix µs; 0 is unknown and
// ignored).
func widen(lo, hi *int64, t int64) {
	if t == 0 {
		return
	}
	if *lo == 0 || t < *lo {
		*lo = t
	}
	if t > *hi {
		*hi = t
	}
}

// merge adds o, whose events come after c's in the log.
func (c *Class) merge(o *Class) {
	c.Events += o.Events
	for i := range c.Num {
		c.Num[i].Merge(&o.Num[i])
	}
	for i := range c.Bools {
		c.Bools[i].Cnt += o.Bools[i].Cnt
		c.Bools[i].Yes += o.Bools[i].Yes
	}
	c.DBs.merge(&o.DBs)
	c.Users.merge(&o.Users)
	c.Hosts.merge(&o.Hosts)
	c.addTime(o.TimeMin)
	c.addTime(o.TimeMax)
	if o.hasSample && (!c.hasSample || o.sampleQT >= c.sampleQT) {
		c.Sample = append(c.Sample[:0], o.Sample...)
		c.SampleDB, c.SampleTime, c.SampleOffset, c.SampleFile, c.sampleQT = o.SampleDB, o.SampleTime, o.SampleOffset, o.SampleFile, o.sampleQT
		c.hasSample = true
	}
	if o.PosMax > c.PosMax {
		c.PosMax = o.PosMax
	}
}

// Totals aggregates all events.
type Totals struct {
	Num              [numAttrs]Metric
	Bools            [numBools]BoolCount
	TimeMin, TimeMax int64
}

func (t *Totals) addTime(ts int64) { widen(&t.TimeMin, &t.TimeMax, ts) }

func (t *Totals) merge(o *Totals) {
	for i := range t.Num {
		t.Num[i].Merge(&o.Num[i])
	}
	for i := range t.Bools {
		t.Bools[i].Cnt += o.Bools[i].Cnt
		t.Bools[i].Yes += o.Bools[i].Yes
	}
	if o.TimeMin != 0 && (t.TimeMin == 0 || o.TimeMin < t.TimeMin) {
		t.TimeMin = o.TimeMin
	}
	if o.TimeMax > t.TimeMax {
		t.TimeMax = o.TimeMax
	}
}

// Digest is the aggregate of a slow log: totals and classes. Its size
// depends on the number of classes, not of events.
type Digest struct {
	Totals  Totals
	Classes map[string]*Class
	// Events is the number of events aggregated; Bytes the input size.
	Events uint64
	Bytes  int64
	Files  []string
	// Skipped counts the events left out because a number in them is
	// out of range (see MaxSeconds, MaxCount); SkippedEvents lists the
	// first 100 with where and why.
	Skipped       uint64
	SkippedEvents []SkippedEvent
}

// NewDigest returns an empty digest.
func NewDigest() *Digest { return &Digest{Classes: map[string]*Class{}} }

// Merge adds o, whose events come after d's.
func (d *Digest) Merge(o *Digest) {
	d.Totals.merge(&o.Totals)
	for fp, oc := range o.Classes {
		c := d.Classes[fp]
		if c == nil {
			d.Classes[fp] = oc
			continue
		}
		c.merge(oc)
	}
	d.Events += o.Events
	d.Bytes += o.Bytes
	d.Skipped += o.Skipped
	for _, e := range o.SkippedEvents {
		if len(d.SkippedEvents) == maxSkippedListed {
			break
		}
		d.SkippedEvents = append(d.SkippedEvents, e)
	}
}

// OrderBy names how classes are ranked.
type OrderBy string

// Orders.
const (
	OrderSum   OrderBy = "sum"   // total Query_time (pt's default, Query_time:sum)
	OrderCount OrderBy = "count" // number of events
	OrderMax   OrderBy = "max"   // worst Query_time
	OrderP95   OrderBy = "p95"   // 95th percentile of Query_time
)

// ParseOrderBy validates an --order-by value.
func ParseOrderBy(s string) (OrderBy, bool) {
	switch OrderBy(s) {
	case OrderSum, OrderCount, OrderMax, OrderP95:
		return OrderBy(s), true
	case "":
		return OrderSum, true
	}
	return "", false
}

func (o OrderBy) key(c *Class) float64 {
	q := &c.Num[AttrQueryTime]
	switch o {
	case OrderCount:
		return float64(q.Cnt)
	case OrderMax:
		return q.Max
	case OrderP95:
		return q.Stats().Pct95
	}
	return q.Sum
}

// Ranked returns the classes, worst first; ties go to the class seen
// last in the log, then by fingerprint. Like pt-query-digest, it leaves
// out classes whose events have no Query_time at all.
func (d *Digest) Ranked(o OrderBy) []*Class {
	out := make([]*Class, 0, len(d.Classes))
	keys := make(map[*Class]float64, len(d.Classes))
	for _, c := range d.Classes {
		if c.Num[AttrQueryTime].Cnt == 0 {
			continue
		}
		out = append(out, c)
		keys[c] = o.key(c)
	}
	slices.SortFunc(out, func(a, b *Class) int {
		if ka, kb := keys[a], keys[b]; ka != kb {
			return cmp.Compare(kb, ka)
		}
		if a.PosMax != b.PosMax {
			return cmp.Compare(b.PosMax, a.PosMax)
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out
}
