package flows

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// A ticket whose step keeps killing the server (its job's worker died
// three times while running it) fails that step with the reason instead of
// crashing the server again or staying "running" forever.
func TestQuarantinedStepFailsTicket(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	f.stopWorker()
	tk := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "SELECT 1"})
	// Three servers claim the step's job and die while running it.
	dead := jobs.NewQueue(f.db, slog.New(slog.DiscardHandler))
	for i := range 3 {
		j, err := dead.Claim(f.ctx, []string{jobAdvance})
		if err != nil || j == nil {
			t.Fatalf("claim %d: %+v %v", i, j, err)
		}
		if _, err := f.db.ExecContext(f.ctx, "UPDATE jobs SET locked_until = 1 WHERE id = ?", j.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.startWorker()
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "step 1 (SQL review): the job running this step quarantined: worker died 3 times while running it; last claimed by "+dead.Holder()) {
		t.Fatalf("ticket error: %s", tk.Error)
	}
	if len(tk.Steps) == 0 || tk.Steps[0].State != StepFailed {
		t.Fatalf("steps: %+v", tk.Steps)
	}
	if msgs := f.notes.messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Msg.Title, "worker died 3 times") {
		t.Fatalf("failure notification: %+v", msgs)
	}
}
