package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Handler does one job. It must honour ctx: ctx ends when the process
// stops or the lease is lost, and then the job may already be running
// elsewhere. A job can run more than once (after a crash), so a handler
// records each effect before starting the next and skips recorded ones.
type Handler func(ctx context.Context, j *Job) error

// FailureHandler is told that a job ended without succeeding (Failure
// says whether it failed or was quarantined, and why), so that whoever
// waits for the job learns it. It runs as a job itself: at least once,
// retried on error.
type FailureHandler func(ctx context.Context, f Failure) error

// Worker runs the handlers of some job kinds. Every process runs one; they
// share the work through claims.
type Worker struct {
	Queue *Queue
	// Handlers maps job kinds to their handlers: the explicit list of what
	// this worker does.
	Handlers map[string]Handler
	// OnFailure maps job kinds to what is told when a job of the kind
	// ends failed or quarantined.
	OnFailure map[string]FailureHandler
	// Concurrency is how many jobs run at once; zero means 4.
	Concurrency int
	// Poll is how often the queue is looked at when nothing woke the
	// worker; zero means 1 s.
	Poll time.Duration
}

// Run claims and runs jobs until ctx ends. Jobs in progress when ctx ends
// are handed back for another worker (or the next start) to run.
func (w *Worker) Run(ctx context.Context) error {
	conc := w.Concurrency
	if conc <= 0 {
		conc = 4
	}
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	kinds := make([]string, 0, len(w.Handlers)+len(w.OnFailure))
	for k := range w.Handlers {
		kinds = append(kinds, k)
	}
	watched := make([]string, 0, len(w.OnFailure))
	for k := range w.OnFailure {
		watched = append(watched, k)
		kinds = append(kinds, noticeKind(k))
	}
	w.Queue.watchFailures(watched)
	wake := w.Queue.subscribe()
	defer w.Queue.unsubscribe(wake)
	slots := make(chan struct{}, conc)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		// Claim while there are free slots and due jobs.
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			j, err := w.Queue.claims.Claim(ctx, kinds)
			if err != nil || j == nil {
				<-slots
				if err != nil && ctx.Err() == nil {
					w.Queue.log.Warn("claim job", "err", err)
				}
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				w.run(ctx, j)
				w.Queue.Wake() // a job finishing may free a lock key
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
	}
}

// run runs one claimed job with heartbeats.
func (w *Worker) run(ctx context.Context, j *Job) {
	log := w.Queue.log.With("job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	h := w.Handlers[j.Kind]
	if kind, ok := strings.CutPrefix(j.Kind, noticeKind("")); ok && w.OnFailure[kind] != nil {
		fh := w.OnFailure[kind]
		h = func(ctx context.Context, j *Job) error {
			var f Failure
			if err := j.Decode(&f); err != nil {
				return Permanent(err)
			}
			return fh(ctx, f)
		}
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan struct{})
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(w.Queue.ttl() / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				hctx, hcancel := context.WithTimeout(jctx, w.Queue.ttl()/3)
				err := w.Queue.claims.Heartbeat(hctx, j.ID)
				hcancel()
				if err != nil && jctx.Err() == nil {
					// Stop before the lease can expire and another worker
					// start the same job.
					log.Warn("job lease lost; stopping the job", "err", err)
					close(lost)
					cancel()
					return
				}
			}
		}
	}()
	herr := safeCall(jctx, h, j)
	cancel()
	<-hbDone
	select {
	case <-lost:
		return
	default:
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ccancel()
	if ctx.Err() != nil {
		// Stopping: hand the job back so the next start runs it at once.
		if err := w.Queue.claims.Release(cctx, j); err != nil {
			log.Warn("release job", "err", err)
		}
		return
	}
	if herr != nil {
		log.Warn("job failed", "err", herr)
	}
	if err := w.Queue.claims.Complete(cctx, j, herr); err != nil && !errors.Is(err, ErrLost) {
		log.Error("complete job", "err", err)
	}
}

// safeCall runs h, turning a panic into a permanent error.
func safeCall(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("job handler panicked: %v", p))
		}
	}()
	if h == nil {
		return Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	}
	return h(ctx, j)
}
