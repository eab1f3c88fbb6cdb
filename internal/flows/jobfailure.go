package flows

import (
	"context"
	"errors"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// FailureHandlers are what the worker tells when a flows job ends without
// succeeding (jobs.Worker.OnFailure).
func (s *Service) FailureHandlers() map[string]jobs.FailureHandler {
	return map[string]jobs.FailureHandler{jobAdvance: s.advanceFailed}
}

// advanceFailed fails the current step of a ticket whose advance job
// ended without finishing: its handler kept failing, or the server died
// while running it again and again (the job was quarantined, for example
// because the step crashes the process). The ticket then shows the reason
// and can be retried by a DBA, instead of staying "running" forever.
func (s *Service) advanceFailed(ctx context.Context, f jobs.Failure) error {
	var p advancePayload
	if err := f.Decode(&p); err != nil {
		return jobs.Permanent(err)
	}
	ctx = systemCtx(ctx)
	t, err := s.loadTicket(ctx, s.db, p.Ticket)
	if errkind.Is(err, errkind.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.State == StateWaiting {
		if err := s.transition(ctx, t, StateWaiting, StateRunning, "", nil); err != nil {
			return ignoreStale(err)
		}
		t.State = StateRunning
	}
	if t.State != StateRunning {
		return nil // the ticket moved on (cancelled, retried...)
	}
	fl, err := s.catalog.Version(ctx, t.VersionID)
	if err != nil {
		return err
	}
	if len(fl.Steps) == 0 {
		return nil
	}
	idx := min(t.Step, len(fl.Steps)-1)
	cause := "the job running this step " + string(f.State) + ": " + f.Reason
	return ignoreStale(s.failStep(ctx, t, fl, idx, errors.New(cause)))
}
