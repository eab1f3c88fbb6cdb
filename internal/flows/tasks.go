package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// taskPayload is what a task's schedule enqueues.
type taskPayload struct {
	Flow string `json:"flow"`
}

// Schedules lists the schedules of the active task flows, for the cron
// scheduler (which runs under a lease, so one server starts each run).
func (s *Service) Schedules() []jobs.Schedule {
	var out []jobs.Schedule
	for _, fl := range s.catalog.List() {
		if fl.Kind != KindTask || fl.Schedule == "" {
			continue
		}
		out = append(out, jobs.Schedule{Name: "flow:" + fl.Name, Spec: fl.Schedule,
			Job: jobs.NewJob{Kind: jobTask, Payload: taskPayload{Flow: fl.Name}, MaxAttempts: 3}})
	}
	return out
}

// taskJob starts a scheduled task: a ticket with no requester, filled with
// the form's defaults.
func (s *Service) taskJob(ctx context.Context, j *jobs.Job) error {
	var f jobs.Fired
	if err := j.Decode(&f); err != nil {
		return jobs.Permanent(err)
	}
	var p taskPayload
	if err := decodeRaw(f.Payload, &p); err != nil {
		return jobs.Permanent(err)
	}
	fl, ok := s.catalog.Get(p.Flow)
	if !ok || fl.Kind != KindTask {
		s.log.Info("scheduled flow no longer exists; skipping", "flow", p.Flow)
		return nil
	}
	ctx = systemCtx(ctx)
	values, err := fl.Validate(nil)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("task %s: %w", fl.Name, err))
	}
	// A target that no longer exists fails the ticket's first step that
	// needs it, with the reason on the timeline.
	target, _ := s.checkPickers(ctx, fl, values)
	if target.Env == "" {
		target.Env = "prod"
	}
	title := fmt.Sprintf("%s (scheduled %s)", fl.Title, f.At.UTC().Format("2006-01-02 15:04 UTC"))
	if _, err := s.create(ctx, fl, title, "", "", values, target, true); err != nil {
		return err
	}
	return nil
}

func decodeRaw(raw []byte, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("empty payload")
	}
	return jsonUnmarshal(raw, v)
}

// NextRuns says when each task runs next.
func (s *Service) NextRuns(now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, sc := range s.Schedules() {
		if t, err := jobs.NextRun(sc.Spec, now); err == nil {
			out[sc.Name[len("flow:"):]] = t
		}
	}
	return out
}
