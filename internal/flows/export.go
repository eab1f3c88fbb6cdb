package flows

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/query"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// maxExportBytes bounds one CSV attachment (it is stored in the metadata
// store): the most an export block's max-bytes may say, and its default.
const maxExportBytes = 64 << 20

// An export reads data for a ticket, so it runs through the query console
// and nowhere else (Exporter): as the ticket's requester, with their
// query grants and masks, the console's checks (one plain query, no INTO,
// no locking clause, no special comments, the allow-lists of functions and
// operators), the statement re-rendered from what was checked, the
// console's read-only session and account, and its statement timeout.
// Only the bounds are the block's own: max-rows and max-bytes instead of
// the console's row limit. The review block asks the console early
// (CheckExport), so that an export it would refuse fails before anyone
// approves it.

// exportCfgOf returns the first export step of the flow that runs the SQL
// of field.
func (fl *Flow) exportCfgOf(field string) *exportCfg {
	for _, st := range fl.Steps {
		if c, ok := st.cfg.(*exportCfg); ok && c.sql == field {
			return c
		}
	}
	return nil
}

// exportPrincipal is whose rights an export of the ticket runs with: its
// requester, or for a scheduled run (no requester) the user its schedule
// names in run-as; as their account stands now: refused when it is gone
// or disabled, and never with a role above the one the ticket was
// submitted with.
func (s *Service) exportPrincipal(ctx context.Context, t *ticketRow, fl *Flow) (auth.Principal, error) {
	name, role, who := t.Requester, t.RequesterRole, "requester"
	if name == "" {
		if fl.RunAs == "" {
			return auth.Principal{}, errkind.New(errkind.Invalid, "a scheduled run has no requester whose query grants an export could use; name a user in the flow's <schedule run-as=\"USER\"/> (flow %s)", fl.Name)
		}
		name, role, who = fl.RunAs, "", "run-as user"
	}
	u, err := s.users.GetUser(ctx, name)
	if errkind.Is(err, errkind.NotFound) {
		return auth.Principal{}, errkind.New(errkind.Forbidden, "the export runs with the query grants of its %s %s, who no longer has an account", who, name)
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("the export's %s %s: %w", who, name, err)
	}
	if u.Disabled {
		return auth.Principal{}, errkind.New(errkind.Forbidden, "the export runs with the query grants of its %s %s, whose account is disabled", who, name)
	}
	if role == "" || roleRank(u.Role) < roleRank(role) {
		role = u.Role
	}
	return auth.Principal{UserID: u.ID, User: u.Name, Role: role}, nil
}

// exportRequest is what an export step asks of the console.
func exportRequest(t *ticketRow, c *exportCfg, tgt TargetVars, sql string) query.ExportRequest {
	return query.ExportRequest{Instance: tgt.Instance, Database: tgt.Database, Statement: sql,
		MaxRows: c.maxRows, MaxBytes: int64(c.maxBytes), Ticket: ticketTarget(t.ID)}
}

// consoleError says that the console refused (naming its rule) or failed
// an export run as p.
func consoleError(p auth.Principal, err error) error {
	var r *query.Refusal
	switch {
	case errors.As(err, &r):
		return fmt.Errorf("the query console refused the export as %s (rule %s): %w", p.User, r.Rule, err)
	case errkind.Of(err) == errkind.Forbidden:
		return fmt.Errorf("the query console refused the export as %s (rule permission): %w", p.User, err)
	}
	return fmt.Errorf("export as %s: %w", p.User, err)
}

// exportFinding is the console's refusal of an export's SQL as a review
// finding (nil when its checks that need no connection pass). A syntax
// error is left to the review, which reports it with its position.
func (s *Service) exportFinding(ctx context.Context, r *stepRun, c *exportCfg, script string) (*Finding, error) {
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return nil, err
	}
	p, err := s.exportPrincipal(ctx, r.t, r.flow)
	if err != nil {
		return nil, err
	}
	err = s.exporter.CheckExport(ctx, p, exportRequest(r.t, c, tgt, script))
	if err == nil {
		return nil, nil
	}
	f := &Finding{Statement: 1, Line: 1, Column: 1, Level: "error", Message: fmt.Sprintf("the query console refuses this export as %s: %v", p.User, err)}
	if st := sqlfe.Split(script, dialect(engine.Kind(tgt.Engine))); len(st) > 0 {
		f.Line, f.Column = st[0].Line, st[0].Column
	}
	var ref *query.Refusal
	switch {
	case errors.As(err, &ref) && ref.Rule == query.RuleSyntax:
		return nil, nil
	case errors.As(err, &ref):
		f.Rule = ref.Rule
	case errkind.Of(err) == errkind.Forbidden:
		f.Rule = "permission"
	default:
		return nil, fmt.Errorf("check the export with the query console: %w", err)
	}
	return f, nil
}

// runExport runs the step's query through the query console and attaches
// the rows as CSV. Running it again (after a restart) replaces the
// attachment: it changes nothing on the target.
func (s *Service) runExport(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*exportCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	p, err := s.exportPrincipal(ctx, r.t, r.flow)
	if err != nil {
		return outcome{}, err
	}
	var buf bytes.Buffer
	res, err := s.exporter.Export(ctx, p, exportRequest(r.t, c, tgt, r.field(c.sql)), &buf)
	if err != nil {
		return outcome{}, consoleError(p, err)
	}
	name := c.filename
	if name == "" {
		name = fmt.Sprintf("ticket-%d-%s.csv", r.t.ID, r.step.ID)
	}
	err = s.replaceAttachment(ctx, r.t.ID, r.idx, Attachment{Name: name, ContentType: "text/csv; charset=utf-8", Size: int64(buf.Len()), Rows: int64(res.Rows)}, buf.Bytes())
	if err != nil {
		return outcome{}, fmt.Errorf("store the export: %w", err)
	}
	columns := make([]string, len(res.Columns))
	var masked []string
	for i, col := range res.Columns {
		columns[i] = col.Name
		if col.Masked != "" {
			masked = append(masked, col.Name)
		}
	}
	summary := fmt.Sprintf("%d row(s) exported to %s (%s) as %s", res.Rows, name, sizeString(int64(buf.Len())), p.User)
	switch res.Truncated {
	case "rows":
		summary += fmt.Sprintf("; stopped at max-rows %d", c.maxRows)
	case "bytes":
		summary += fmt.Sprintf("; stopped at max-bytes %d", c.maxBytes)
	}
	if len(masked) > 0 {
		summary += "; masked: " + strings.Join(masked, ", ")
	}
	return done(map[string]any{"summary": summary, "rows": res.Rows, "attachment": name, "truncated": res.Truncated != "",
		"truncated_by": res.Truncated, "columns": columns, "masked": masked, "ran_on": res.RanOn, "notes": res.Notes,
		"preview": csvPreview(buf.Bytes(), int64(res.Rows), 20)})
}

// csvPreview is the first n rows of a CSV export (of rows rows in all) as
// an aligned text table, for messages.
func csvPreview(data []byte, rows int64, n int) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if i == n+1 {
			fmt.Fprintf(tw, "... %d more row(s)\n", rows-int64(n))
			break
		}
		for j, v := range rec {
			v = strings.ReplaceAll(v, "\n", " ")
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			rec[j] = v
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
