package slowlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime"
	"sync"
	"time"
)

// Options control a digest.
type Options struct {
	// Since and Until keep events whose time (SET timestamp, else the last
	// "# Time:") is in [Since, Until); zero means unbounded. Events of
	// unknown time are dropped when either is set.
	Since, Until time.Time
	// Location interprets "# Time:" values without a zone (default Local,
	// as pt-query-digest does).
	Location *time.Location
	// Workers parse blocks in parallel; 0 means GOMAXPROCS.
	Workers int
	// BlockSize is how much input a worker parses at once (default 8 MiB).
	BlockSize   int
	Fingerprint FingerprintOptions
	// Bucket, when set, aggregates per class and time bucket of this width
	// (for storage) instead of per class; events of unknown time go to
	// bucket 0.
	Bucket time.Duration
}

// Input is one slow log to read.
type Input struct {
	Name string
	R    io.Reader
}

// OpenFile opens a slow log for reading: "-" is stdin, and gzip input
// (by its magic number, whatever the name) is decompressed.
func OpenFile(path string, stdin io.Reader) (io.ReadCloser, error) {
	var rc io.ReadCloser
	if path == "-" {
		rc = io.NopCloser(stdin)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		rc = f
	}
	return Decompress(rc)
}

// Decompress wraps r in a gzip reader when it starts with gzip's magic
// number.
func Decompress(rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, rc}, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, rc}, nil
}

// block is a piece of one input that starts at an event and ends where
// the next begins.
type block struct {
	seq       int
	file      int
	data      []byte
	buf       *[]byte
	base      int64
	final     bool
	inheritTS []byte // the last "# Time:" value before the block
}

type blockResult struct {
	seq       int
	file      int
	lines     int64 // newlines in the block
	d         *Digest
	lastDB    string
	hasLastDB bool
	err       error
}

// Run digests the inputs in order (several files are one log, as
// pt-query-digest reads them).
func Run(ctx context.Context, inputs []Input, opts Options) (*Digest, error) {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := opts.BlockSize
	if size <= 0 {
		size = 8 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	blocks := make(chan block, workers)
	results := make(chan blockResult, workers)
	free := make(chan *[]byte, workers+2) // buffers come back here

	unroll := newUnrollState()
	context.AfterFunc(ctx, unroll.abort)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{opts: opts, unroll: unroll, lastFile: len(inputs) - 1}
			for b := range blocks {
				r := w.run(ctx, b)
				*b.buf = (*b.buf)[:cap(*b.buf)]
				select {
				case free <- b.buf:
				default:
				}
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	splitErr := make(chan error, 1)
	var nbytes int64
	go func() {
		defer close(blocks)
		s := splitter{size: size, free: free, out: blocks, ctx: ctx}
		for i, in := range inputs {
			if err := s.split(i, in.R); err != nil {
				splitErr <- fmt.Errorf("read %s: %w", in.Name, err)
				return
			}
		}
		nbytes = s.bytes
		splitErr <- nil
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	d := NewDigest()
	for _, in := range inputs {
		d.Files = append(d.Files, in.Name)
	}
	pending := map[int]blockResult{}
	next := 0
	lineBase := make([]int64, len(inputs)) // lines of each input before the next block
	var lastDB string
	var hasDB bool
	var firstErr error
	for r := range results {
		if r.err != nil && firstErr == nil {
			firstErr = r.err
			cancel()
		}
		pending[r.seq] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if r.d == nil {
				continue
			}
			for i := range r.d.SkippedEvents {
				e := &r.d.SkippedEvents[i]
				e.File = inputs[r.file].Name
				e.Line += lineBase[r.file]
			}
			lineBase[r.file] += r.lines
			if hasDB {
				for _, c := range r.d.Classes {
					if c.dbOrphans > 0 {
						c.DBs.add([]byte(lastDB), c.dbOrphans)
					}
					if c.sampleDBOrphan {
						c.SampleDB = lastDB
					}
				}
			}
			if r.hasLastDB {
				lastDB, hasDB = r.lastDB, true
			}
			d.Merge(r.d)
		}
	}
	if err := <-splitErr; err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.Bytes = nbytes
	for _, c := range d.Classes {
		for a := range c.Num {
			d.Totals.Num[a].Merge(&c.Num[a])
		}
	}
	return d, nil
}

// splitter cuts inputs into blocks at event boundaries, preferably before
// a "# Time:" line so that every block knows its events' times.
type splitter struct {
	size   int
	free   chan *[]byte
	out    chan<- block
	ctx    context.Context
	seq    int
	bytes  int64
	lastTS []byte
}

func (s *splitter) get() *[]byte {
	select {
	case b := <-s.free:
		return b
	default:
		b := make([]byte, s.size)
		return &b
	}
}

func (s *splitter) send(b block) error {
	// The "# Time:" value the next block inherits.
	if i := lastTimeLine(b.data); i >= 0 {
		v := b.data[i+len("# Time: "):]
		if e := bytes.IndexByte(v, '\n'); e >= 0 {
			v = v[:e]
		}
		s.lastTS = append(s.lastTS[:0], v...)
	}
	select {
	case s.out <- b:
		s.seq++
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func lastTimeLine(b []byte) int {
	if i := bytes.LastIndex(b, []byte("\n# Time: ")); i >= 0 {
		return i + 1
	}
	if bytes.HasPrefix(b, []byte("# Time: ")) {
		return 0
	}
	return -1
}

func (s *splitter) split(file int, r io.Reader) error {
	buf := s.get()
	carry := 0
	var base int64
	for {
		if carry == len(*buf) {
			// No boundary in a whole buffer: grow it.
			nb := make([]byte, 2*len(*buf))
			copy(nb, *buf)
			buf = &nb
		}
		n, err := io.ReadFull(r, (*buf)[carry:])
		total := carry + n
		s.bytes += int64(n)
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		inherit := append([]byte(nil), s.lastTS...)
		if eof {
			if total == 0 {
				return nil
			}
			return s.send(block{seq: s.seq, file: file, data: (*buf)[:total], buf: buf, base: base, final: true, inheritTS: inherit})
		}
		cut := findBoundary((*buf)[:total])
		if cut <= 0 && total >= maxBlock(s.size) {
			// Not a slow log as MariaDB or MySQL write them (no event
			// header in all this): cut anyway rather than hold it all.
			cut = total
			if i := bytes.LastIndex((*buf)[:total], sepEvent); i > 0 {
				cut = i + 2
			}
		}
		if cut <= 0 {
			carry = total
			continue
		}
		next := s.get()
		if len(*next) < total-cut {
			nb := make([]byte, max(s.size, 2*(total-cut)))
			next = &nb
		}
		carry = copy(*next, (*buf)[cut:total])
		if err := s.send(block{seq: s.seq, file: file, data: (*buf)[:cut], buf: buf, base: base, inheritTS: inherit}); err != nil {
			return err
		}
		base += int64(cut)
		buf = next
	}
}

// maxBlock bounds how far a block grows while no boundary is found.
func maxBlock(size int) int { return max(32*size, 256<<20) }

// findBoundary returns where the last suitable event of b starts, so that
// parsing b[:p] and b[p:] apart gives exactly the events of one pass of
// pt-query-digest's parser.
//
// pt reads its records to ";\n#"; a record without a statement (a
// lower-case "use db" statement, say) makes it read on into the next
// event, which can leave the next record without metadata, and so on: a
// chain that ends at a "# Time:" line, where pt takes the line for a NULL
// query and parses the event whole. So an event that starts with "# Time:"
// is a safe place to cut (the block before then ends on the NULL query),
// provided its first ";\n" is not followed by "#" (pt would join two
// events there). Without one, an event that starts with "# User@Host:" is
// used if parsing from the last safe place up to it ends on a statement,
// outside any chain. It returns -1 when there is none.
func findBoundary(b []byte) int {
	firstSep := func(p int) bool {
		rest := b[p:]
		j := bytes.Index(rest, sepLine)
		return j >= 0 && j+2 < len(rest) && rest[j+2] != '#'
	}
	timeMarker := []byte(";\n# Time: ")
	end := len(b)
	for tries := 0; tries < 64; tries++ {
		i := bytes.LastIndex(b[:end], timeMarker)
		if i < 0 {
			break
		}
		if p := i + 2; firstSep(p) {
			return p
		}
		end = i
	}
	// No "# Time:" line: check the last "# User@Host:" lines by parsing up
	// to them from the last safe place before them.
	uhMarker := []byte(";\n# User@Host: ")
	end = len(b)
	for tries := 0; tries < 8; tries++ {
		i := bytes.LastIndex(b[:end], uhMarker)
		if i < 0 {
			break
		}
		p := i + 2
		end = i
		if !firstSep(p) {
			continue
		}
		from := 0
		if t := bytes.LastIndex(b[:i], timeMarker); t >= 0 && firstSep(t+2) {
			from = t + 2
		}
		if endsOnStatement(b[from:p], from > 0) {
			return p
		}
	}
	return -1
}

// endsOnStatement reports whether parsing data (a block's beginning, or
// from a "# Time:" line when cont) ends outside a chain of look-aheads.
func endsOnStatement(data []byte, cont bool) bool {
	p := parser{data: data}
	if cont {
		p.base = 1 // its "#" ended the record before
	}
	var ev Event
	for p.next(&ev) {
	}
	return !p.lookedPastEnd
}

// worker turns blocks into partial digests.
type worker struct {
	opts     Options
	fp       fingerprinter
	unroll   *unrollState
	lastFile int
}

var administrator = []byte("administrator")

func trimBackticks(b []byte) []byte {
	if len(b) > 0 && b[0] == '`' {
		b = b[1:]
	}
	if len(b) > 0 && b[len(b)-1] == '`' {
		b = b[:len(b)-1]
	}
	return b
}

// Attribute bits of an event or class: the numeric attributes, then the
// Yes/No ones, then the strings.
const (
	bitBool = numAttrs
	bitDB   = numAttrs + numBools + iota
	bitUser
	bitHost
	bitTS
)

// unrollLimit is pt-query-digest's EventAggregator unroll_limit: after
// this many events it compiles the attribute handlers it has seen into
// one loop. From then on an attribute no event had is ignored, and a class
// that existed at that point keeps only the attributes it had: a class
// whose first events had no Query_time, say, never gets one, and pt leaves
// it out of its report. dbfleet reproduces this for identical results.
const unrollLimit = 1000

// unrollState hands the attribute sets seen in the first unrollLimit
// events from block to block. Until they are known, blocks are parsed in
// order; then in parallel.
type unrollState struct {
	mu   sync.Mutex
	cond *sync.Cond
	done bool
	next int // the block whose turn it is while !done
	// Events aggregated so far (while !done), the attributes they had, and
	// per class; the database inherited from the last of them.
	count     int
	global    uint64
	classes   map[string]uint64
	lastDB    []byte
	hasLastDB bool
	lastTS    int64
}

func newUnrollState() *unrollState {
	u := &unrollState{classes: map[string]uint64{}}
	u.cond = sync.NewCond(&u.mu)
	return u
}

// wait blocks until block seq may run: the sets are known, or every block
// before it is done.
func (u *unrollState) wait(ctx context.Context, seq int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for !u.done && u.next != seq && ctx.Err() == nil {
		u.cond.Wait()
	}
}

// abort wakes every waiter (on cancellation).
func (u *unrollState) abort() {
	u.mu.Lock()
	u.done = true
	u.cond.Broadcast()
	u.mu.Unlock()
}

func (w *worker) run(ctx context.Context, b block) (res blockResult) {
	res.seq, res.file = b.seq, b.file
	u := w.unroll
	u.wait(ctx, b.seq)
	u.mu.Lock()
	learning := !u.done
	u.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			res.err = fmt.Errorf("slow log parser failed at byte %d of input %d: %v", b.base, b.file+1, r)
			if learning {
				u.abort()
			}
		}
	}()
	d := NewDigest()
	p := parser{data: b.data, final: b.final, base: b.base}
	loc := w.opts.Location
	since, until := int64(0), int64(0)
	if !w.opts.Since.IsZero() {
		since = w.opts.Since.UnixMicro()
	}
	if !w.opts.Until.IsZero() {
		until = w.opts.Until.UnixMicro()
	}
	filter := since != 0 || until != 0

	var lastTS int64
	var lastTSRaw []byte
	if len(b.inheritTS) > 0 {
		var tsEv Event
		if parseTimeLine(append([]byte("# Time: "), b.inheritTS...), &tsEv) {
			lastTS, _ = ParseTS(tsEv.tsFull, loc)
		}
	}
	var lastDB []byte
	hasDB := false

	// While learning, this block runs alone and in order: it continues the
	// state of the blocks before it.
	count := 0
	var global uint64
	seen := map[*Class]uint64{}
	if learning {
		u.mu.Lock()
		count, global = u.count, u.global
		if u.hasLastDB {
			lastDB, hasDB = append(lastDB, u.lastDB...), true
		}
		if u.lastTS != 0 && len(b.inheritTS) == 0 {
			lastTS = u.lastTS
		}
		u.mu.Unlock()
	}
	freeze := func() {
		// The first unrollLimit events are in: publish what they had.
		u.mu.Lock()
		for c, m := range seen {
			u.classes[c.Fingerprint] |= m
		}
		u.global |= global
		for _, c := range d.Classes {
			c.allowed = u.classes[c.Fingerprint]
		}
		u.done = true
		u.cond.Broadcast()
		u.mu.Unlock()
		learning = false
	}
	var globalAllowed uint64
	if !learning {
		u.mu.Lock()
		globalAllowed = u.global
		u.mu.Unlock()
	}

	bucketUS := w.opts.Bucket.Microseconds()
	var key []byte
	var lines lineCounter

	var ev Event
	for p.next(&ev) {
		arg := ev.Arg
		if len(arg) == 0 || (len(arg) == 1 && arg[0] == '0') {
			continue // pt drops events without a (true) statement
		}
		if ev.TS != nil {
			if !bytes.Equal(ev.tsFull, lastTSRaw) {
				lastTSRaw = append(lastTSRaw[:0], ev.tsFull...)
				lastTS, _ = ParseTS(ev.tsFull, loc)
			}
		}
		var t int64
		switch {
		case ev.HasTimestamp:
			t = ev.Timestamp * 1e6
		default:
			t = lastTS
		}
		if a, why := checkEvent(&ev); why != "" {
			// Before t is used: a timestamp out of range would overflow.
			d.addSkipped(skippedAt(b, &ev, a, why, &lines))
			continue
		}
		if filter && (t == 0 || (since != 0 && t < since) || (until != 0 && t >= until)) {
			continue
		}
		fp := w.fp.fingerprint(arg)
		if bytes.HasPrefix(arg, administrator) {
			ev.Num[AttrRowsSent], ev.Num[AttrRowsExamined], ev.Num[AttrRowsRead], ev.Num[AttrRowsAffected] = 0, 0, 0, 0
		}

		var db []byte
		dbKnown, orphan := false, false
		switch {
		case ev.hasUse:
			db, dbKnown = trimBackticks(ev.useDB), true
		case ev.hasSchema:
			db, dbKnown = trimBackticks(ev.schema), true
		}
		if dbKnown {
			lastDB, hasDB = append(lastDB[:0], db...), true
		} else if hasDB {
			db, dbKnown = lastDB, true
		} else {
			orphan = true
		}

		present := uint64(ev.HasNum) | uint64(ev.HasBool)<<bitBool
		if dbKnown || (orphan && !learning) {
			// An orphan inherits the database of the block before; while
			// learning there is none (blocks run in order).
			present |= 1 << bitDB
		}
		if ev.User != nil {
			present |= 1 << bitUser
		}
		if ev.Host != nil {
			present |= 1 << bitHost
		}
		if t != 0 {
			present |= 1 << bitTS
		}

		key = fp
		var bucket int64
		if bucketUS > 0 {
			if t > 0 {
				bucket = t / bucketUS * bucketUS
			}
			key = append(append(key[:0:0], fp...), 0, byte(bucket>>56), byte(bucket>>48), byte(bucket>>40), byte(bucket>>32),
				byte(bucket>>24), byte(bucket>>16), byte(bucket>>8), byte(bucket))
		}
		c := d.Classes[string(key)]
		if c == nil {
			c = &Class{Fingerprint: string(fp), Bucket: bucket}
			d.Classes[string(key)] = c
			if learning {
				u.mu.Lock()
				seen[c] = u.classes[c.Fingerprint]
				u.mu.Unlock()
			} else {
				u.mu.Lock()
				m, ok := u.classes[c.Fingerprint]
				u.mu.Unlock()
				if !ok {
					m = globalAllowed
				}
				c.allowed = m
			}
		}
		classMask, globalMask := present, present
		if learning {
			count++
			global |= present
			seen[c] |= present
		} else {
			classMask &= c.allowed
			globalMask &= globalAllowed
		}
		d.Events++
		c.Events++
		// The totals are the sum of the classes (Run adds them up at the
		// end), plus what a class does not keep (see unrollLimit).
		for m := globalMask & (1<<numAttrs - 1); m != 0; m &= m - 1 {
			a := bits.TrailingZeros64(m)
			v := ev.Num[a]
			idx := BucketIndex(v)
			if classMask&(1<<a) != 0 {
				c.Num[a].Add(v, idx)
			} else {
				d.Totals.Num[a].Add(v, idx)
			}
		}
		for m := (globalMask >> bitBool) & (1<<numBools - 1); m != 0; m &= m - 1 {
			a := bits.TrailingZeros64(m)
			d.Totals.Bools[a].Cnt++
			if ev.Bool[a] {
				d.Totals.Bools[a].Yes++
			}
			if classMask&(1<<(bitBool+a)) != 0 {
				c.Bools[a].Cnt++
				if ev.Bool[a] {
					c.Bools[a].Yes++
				}
			}
		}
		if classMask&(1<<bitDB) != 0 {
			if dbKnown {
				c.DBs.add(db, 1)
			} else {
				c.dbOrphans++
			}
		}
		if classMask&(1<<bitUser) != 0 {
			c.Users.add(ev.User, 1)
		}
		if classMask&(1<<bitHost) != 0 {
			c.Hosts.add(ev.Host, 1)
		}
		if classMask&(1<<bitTS) != 0 {
			c.addTime(t)
		}
		if t != 0 {
			if d.Totals.TimeMin == 0 || t < d.Totals.TimeMin {
				d.Totals.TimeMin = t
			}
			if t > d.Totals.TimeMax {
				d.Totals.TimeMax = t
			}
		}
		hasQT := classMask&(1<<AttrQueryTime) != 0
		qt := ev.Num[AttrQueryTime]
		if !c.hasSample || (hasQT && qt >= c.Num[AttrQueryTime].Max) {
			c.Sample = append(c.Sample[:0], arg...)
			c.SampleDB = string(db)
			c.sampleDBOrphan = orphan
			c.SampleTime, c.SampleOffset, c.SampleFile = t, ev.Offset, b.file
			c.sampleQT, c.hasSample = qt, true
		}
		if ev.Offset > c.PosMax {
			c.PosMax = ev.Offset
		}
		if learning && count == unrollLimit {
			freeze()
			u.mu.Lock()
			globalAllowed = u.global
			u.mu.Unlock()
		}
	}
	if learning {
		// The block ended before the limit: hand on what it saw.
		u.mu.Lock()
		for c, m := range seen {
			u.classes[c.Fingerprint] |= m
		}
		u.count, u.global = count, global
		u.lastDB, u.hasLastDB = append(u.lastDB[:0], lastDB...), hasDB
		u.lastTS = lastTS
		u.next = b.seq + 1
		if b.final && b.file == w.lastFile {
			u.done = true
		}
		u.cond.Broadcast()
		u.mu.Unlock()
	}
	res.d = d
	res.lines = int64(bytes.Count(b.data, []byte{'\n'}))
	if hasDB {
		res.lastDB, res.hasLastDB = string(lastDB), true
	}
	return res
}

// lineCounter counts the lines of a block up to an offset, on from the
// last one asked.
type lineCounter struct {
	off   int
	lines int64
}

func (c *lineCounter) at(data []byte, off int) int64 {
	off = min(max(off, 0), len(data))
	if off < c.off {
		c.off, c.lines = 0, 0
	}
	c.lines += int64(bytes.Count(data[c.off:off], []byte{'\n'}))
	c.off = off
	return c.lines + 1
}

// skippedAt describes a skipped event: the line (in the block; Run adds
// the lines before it) of its bad value, and the value as written.
func skippedAt(b block, ev *Event, a int, why string, lines *lineCounter) SkippedEvent {
	start := int(ev.Offset - b.base)
	key := "timestamp="
	if a >= 0 {
		key = numAttrNames[a] + ":"
	}
	lineOff := start
	if off, raw, ok := rawValue(b.data, start, key); ok {
		lineOff = off
		if a >= 0 {
			why = checkValue(numAttrNames[a], a, ev.Num[a], raw)
		} else {
			why = fmt.Sprintf("SET timestamp=%s is out of range (0 to %d)", raw, maxUnixSeconds)
		}
	}
	return SkippedEvent{Line: lines.at(b.data, lineOff), Reason: why}
}
