package sqlreview

import (
	"sync"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// explainer runs EXPLAIN for the data changes of a live review. The review
// walks the script in order and decides at each statement whether it can
// be explained (its tables exist on the instance, unchanged by the script
// so far); the EXPLAIN itself then runs in the background, a few at a
// time, and the rules that use the estimates report in their Finish. A
// long migration thus waits for the instance's round trips in parallel
// rather than one after the other.
type explainer struct {
	live *liveCatalog
	sem  chan struct{}
	wg   sync.WaitGroup
	jobs map[int]*explainJob
}

type explainJob struct {
	done chan struct{}
	res  explained
}

// explained is the outcome of EXPLAIN for one statement: ok is false when
// it did not run; err is the instance's complaint about the statement.
type explained struct {
	rows int64
	ok   bool
	err  error
}

// explainConcurrency bounds the EXPLAINs in flight (the engine adapters'
// pools hold four connections).
const explainConcurrency = 4

func newExplainer(live *liveCatalog) *explainer {
	return &explainer{live: live, sem: make(chan struct{}, explainConcurrency), jobs: map[int]*explainJob{}}
}

func (x *explainer) wait() { x.wg.Wait() }

// explainStart queues EXPLAIN for a DML statement, once, when the statement
// can be explained against the instance as it is.
func (rv *review) explainStart(s *Stmt) {
	x := rv.explainer
	if x == nil || x.jobs[s.N] != nil {
		return
	}
	job := &explainJob{done: make(chan struct{})}
	x.jobs[s.N] = job
	if !rv.explainable(s) {
		close(job.done)
		return
	}
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer close(job.done)
		select {
		case x.sem <- struct{}{}:
		case <-rv.ctx.Done():
			return
		}
		defer func() { <-x.sem }()
		rows, err := x.live.explainRows(rv.ctx, s.Text)
		job.res = explained{rows: rows, ok: true, err: err}
	}()
}

// explainable: a data change whose tables all exist on the instance,
// unchanged by the script so far, while the default database is still the
// connection's (no USE switched it).
func (rv *review) explainable(s *Stmt) bool {
	st := rv.schema
	if st.live == nil || st.currentDB != st.liveDB || (s.Op != OpUpdate && s.Op != OpDelete && s.Op != OpInsert) {
		return false
	}
	refs := s.Tables
	if len(refs) == 0 && s.Table.Name != "" {
		refs = []TableRef{s.Table}
	}
	for _, ref := range refs {
		if st.touched[st.key(ref)] {
			return false
		}
		if ex, info := st.lookup(rv.ctx, ref); ex != yes || info == nil || !info.Live {
			return false
		}
	}
	return len(refs) > 0
}

// explainResult waits for a statement's EXPLAIN. An instance that became
// unreachable stops the live checks.
func (rv *review) explainResult(s *Stmt) explained {
	x := rv.explainer
	if x == nil {
		return explained{}
	}
	job := x.jobs[s.N]
	if job == nil {
		return explained{}
	}
	<-job.done
	if job.res.err != nil && (errkind.Is(job.res.err, errkind.Unavailable) || rv.ctx.Err() != nil) {
		if rv.schema.live != nil {
			rv.schema.fail(job.res.err)
		}
		return explained{}
	}
	return job.res
}
