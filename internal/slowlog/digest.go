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
// order; then in parallel. Its methods own its lock.
type unrollState struct {
	mu   sync.Mutex
	cond *sync.Cond
	done bool
	next int // the block whose turn it is while !done
	// classes are the attributes each class had in the learned events.
	classes map[string]uint64
	// carry is what the blocks learned so far; once done, carry.global is
	// the set of attributes the totals keep.
	carry carry
}

// carry is the state a learning block continues from the block before.
type carry struct {
	count     int    // events aggregated so far
	global    uint64 // the attributes they had
	lastDB    []byte // the database inherited from the last of them
	hasLastDB bool
	lastTS    int64
}

func newUnrollState() *unrollState {
	u := &unrollState{classes: map[string]uint64{}}
	u.cond = sync.NewCond(&u.mu)
	return u
}

// begin blocks until block seq may run: the sets are known, or every
// block before it is done. It reports whether seq runs while learning.
func (u *unrollState) begin(ctx context.Context, seq int) (learning bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for !u.done && u.next != seq && ctx.Err() == nil {
		u.cond.Wait()
	}
	return !u.done
}

// carried is the state the blocks before left, for a learning block.
func (u *unrollState) carried() carry {
	u.mu.Lock()
	defer u.mu.Unlock()
	c := u.carry
	c.lastDB = bytes.Clone(c.lastDB)
	return c
}

// globalAllowed is the set of attributes the totals keep, once learned.
func (u *unrollState) globalAllowed() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.carry.global
}

// classAttrs is what the learned events of class fp had, and whether the
// class was among them.
func (u *unrollState) classAttrs(fp string) (uint64, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	m, ok := u.classes[fp]
	return m, ok
}

// freeze publishes the first unrollLimit events' attributes (seen per
// class, global overall), fixes those each class of d keeps, lets every
// waiting block run, and returns the attributes the totals keep.
func (u *unrollState) freeze(seen map[*Class]uint64, global uint64, d *Digest) uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c, m := range seen {
		u.classes[c.Fingerprint] |= m
	}
	u.carry.global |= global
	for _, c := range d.Classes {
		c.allowed = u.classes[c.Fingerprint]
	}
	u.done = true
	u.cond.Broadcast()
	return u.carry.global
}

// handOn records what a learning block that ended before the limit saw,
// and gives the turn to block next (to everyone when last is the last
// block of all).
func (u *unrollState) handOn(seen map[*Class]uint64, c carry, next int, last bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for cl, m := range seen {
		u.classes[cl.Fingerprint] |= m
	}
	c.lastDB = append(u.carry.lastDB[:0], c.lastDB...)
	u.carry = c
	u.next = next
	if last {
		u.done = true
	}
	u.cond.Broadcast()
}

// abort wakes every waiter (on cancellation).
func (u *unrollState) abort() {
	u.mu.Lock()
	u.done = true
	u.cond.Broadcast()
	u.mu.Unlock()
}

// run digests one block.
//
// A parser or fingerprinter panic is not recovered: Run is reached only
// from the offline `dbfleet slowlog digest` command (the server collects
// record by record through Digest.AddRecord), the code a hostile log
// drives is fuzzed (FuzzParser, FuzzFingerprint here, and internal/sql's
// fuzz tests), and a crash with the goroutine's stack says more about
// such a bug than the error the recover used to make of it.
func (w *worker) run(ctx context.Context, b block) blockResult {
	r := w.start(b, w.unroll.begin(ctx, b.seq))
	var ev Event
	for r.p.next(&ev) {
		r.add(&ev)
	}
	if r.learning {
		// The block ended before the limit: hand on what it saw.
		r.u.handOn(r.seen, carry{count: r.count, global: r.global, lastDB: r.lastDB, hasLastDB: r.hasDB, lastTS: r.lastTS},
			b.seq+1, b.final && b.file == w.lastFile)
	}
	res := blockResult{seq: b.seq, file: b.file, d: r.d, lines: int64(bytes.Count(b.data, []byte{'\n'}))}
	if r.hasDB {
		res.lastDB, res.hasLastDB = string(r.lastDB), true
	}
	return res
}

// blockRun is the digest of one block in progress and the state that
// carries from one event to the next.
type blockRun struct {
	w *worker
	u *unrollState
	b block
	p parser
	d *Digest

	loc          *time.Location
	since, until int64 // Options.Since/Until in µs; 0 when not set
	bucketUS     int64

	lastTS    int64 // the time of events without their own
	lastTSRaw []byte
	lastDB    []byte // the database of events without their own
	hasDB     bool

	// While learning, this block runs alone and in order: it continues
	// the state of the blocks before it (count, global, seen).
	learning      bool
	count         int
	global        uint64
	seen          map[*Class]uint64
	globalAllowed uint64 // once learned

	key   []byte
	lines lineCounter
}

// start prepares the run of block b; a learning block continues from the
// state the blocks before it left.
func (w *worker) start(b block, learning bool) *blockRun {
	r := &blockRun{w: w, u: w.unroll, b: b, d: NewDigest(), p: parser{data: b.data, final: b.final, base: b.base},
		loc: w.opts.Location, bucketUS: w.opts.Bucket.Microseconds(), learning: learning, seen: map[*Class]uint64{}}
	if !w.opts.Since.IsZero() {
		r.since = w.opts.Since.UnixMicro()
	}
	if !w.opts.Until.IsZero() {
		r.until = w.opts.Until.UnixMicro()
	}
	if len(b.inheritTS) > 0 {
		var tsEv Event
		if parseTimeLine(append([]byte("# Time: "), b.inheritTS...), &tsEv) {
			r.lastTS, _ = ParseTS(tsEv.tsFull, r.loc)
		}
	}
	if learning {
		c := r.u.carried()
		r.count, r.global = c.count, c.global
		if c.hasLastDB {
			r.lastDB, r.hasDB = c.lastDB, true
		}
		if c.lastTS != 0 && len(b.inheritTS) == 0 {
			r.lastTS = c.lastTS
		}
	} else {
		r.globalAllowed = r.u.globalAllowed()
	}
	return r
}

// add aggregates one event.
func (r *blockRun) add(ev *Event) {
	arg := ev.Arg
	if len(arg) == 0 || (len(arg) == 1 && arg[0] == '0') {
		return // pt drops events without a (true) statement
	}
	t := r.eventTime(ev)
	if a, why := checkEvent(ev); why != "" {
		// Before t is used: a timestamp out of range would overflow.
		r.d.addSkipped(skippedAt(r.b, ev, a, why, &r.lines))
		return
	}
	if (r.since != 0 || r.until != 0) && (t == 0 || (r.since != 0 && t < r.since) || (r.until != 0 && t >= r.until)) {
		return
	}
	fp := r.w.fp.fingerprint(arg)
	if bytes.HasPrefix(arg, administrator) {
		ev.Num[AttrRowsSent], ev.Num[AttrRowsExamined], ev.Num[AttrRowsRead], ev.Num[AttrRowsAffected] = 0, 0, 0, 0
	}
	db, dbKnown, orphan := r.eventDB(ev)
	present := r.present(ev, t, dbKnown, orphan)
	c := r.class(fp, t)
	classMask, globalMask := present, present
	if r.learning {
		r.count++
		r.global |= present
		r.seen[c] |= present
	} else {
		classMask &= c.allowed
		globalMask &= r.globalAllowed
	}
	r.d.Events++
	c.Events++
	r.aggregate(c, ev, t, db, dbKnown, classMask, globalMask)
	r.sample(c, ev, t, db, orphan, classMask)
	if r.learning && r.count == unrollLimit {
		r.globalAllowed = r.u.freeze(r.seen, r.global, r.d)
		r.learning = false
	}
}

// eventTime is the event's time in µs: its SET timestamp, else the last
// "# Time:" line; 0 when neither is known.
func (r *blockRun) eventTime(ev *Event) int64 {
	if ev.TS != nil && !bytes.Equal(ev.tsFull, r.lastTSRaw) {
		r.lastTSRaw = append(r.lastTSRaw[:0], ev.tsFull...)
		r.lastTS, _ = ParseTS(ev.tsFull, r.loc)
	}
	if ev.HasTimestamp {
		return ev.Timestamp * 1e6
	}
	return r.lastTS
}

// eventDB is the event's database: its own (use, Schema:), else the last
// one seen; orphan when the block has seen none yet (Run gives it the
// previous block's).
func (r *blockRun) eventDB(ev *Event) (db []byte, known, orphan bool) {
	switch {
	case ev.hasUse:
		db, known = trimBackticks(ev.useDB), true
	case ev.hasSchema:
		db, known = trimBackticks(ev.schema), true
	}
	switch {
	case known:
		r.lastDB, r.hasDB = append(r.lastDB[:0], db...), true
		return db, true, false
	case r.hasDB:
		return r.lastDB, true, false
	}
	return nil, false, true
}

// present is the set of attributes the event has.
func (r *blockRun) present(ev *Event, t int64, dbKnown, orphan bool) uint64 {
	present := uint64(ev.HasNum) | uint64(ev.HasBool)<<bitBool
	if dbKnown || (orphan && !r.learning) {
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
	return present
}

// class finds or makes the class of fingerprint fp (and time bucket).
func (r *blockRun) class(fp []byte, t int64) *Class {
	r.key = fp
	var bucket int64
	if r.bucketUS > 0 {
		if t > 0 {
			bucket = t / r.bucketUS * r.bucketUS
		}
		r.key = append(append(r.key[:0:0], fp...), 0, byte(bucket>>56), byte(bucket>>48), byte(bucket>>40), byte(bucket>>32),
			byte(bucket>>24), byte(bucket>>16), byte(bucket>>8), byte(bucket))
	}
	if c := r.d.Classes[string(r.key)]; c != nil {
		return c
	}
	c := &Class{Fingerprint: string(fp), Bucket: bucket}
	r.d.Classes[string(r.key)] = c
	m, known := r.u.classAttrs(c.Fingerprint)
	if r.learning {
		r.seen[c] = m
		return c
	}
	if !known {
		m = r.globalAllowed
	}
	c.allowed = m
	return c
}

// aggregate adds the event's attributes to class c (those in classMask)
// and to the totals (those in globalMask).
func (r *blockRun) aggregate(c *Class, ev *Event, t int64, db []byte, dbKnown bool, classMask, globalMask uint64) {
	d := r.d
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
	d.Totals.addTime(t)
}

// sample keeps the event as class c's example when it is the first or
// the slowest so far, and its offset as the class's last.
func (r *blockRun) sample(c *Class, ev *Event, t int64, db []byte, orphan bool, classMask uint64) {
	hasQT := classMask&(1<<AttrQueryTime) != 0
	qt := ev.Num[AttrQueryTime]
	if !c.hasSample || (hasQT && qt >= c.Num[AttrQueryTime].Max) {
		c.Sample = append(c.Sample[:0], ev.Arg...)
		c.SampleDB = string(db)
		c.sampleDBOrphan = orphan
		c.SampleTime, c.SampleOffset, c.SampleFile = t, ev.Offset, r.b.file
		c.sampleQT, c.hasSample = qt, true
	}
	if ev.Offset > c.PosMax {
		c.PosMax = ev.Offset
	}
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
