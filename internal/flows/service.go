package flows

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// Ticket states.
const (
	StateRunning         = "running"          // steps are running or queued
	StateWaitingApproval = "waiting_approval" // an approve step waits for approvers
	StateWaiting         = "waiting"          // a wait step waits for its window
	StateDone            = "done"
	StateFailed          = "failed" // a step failed; a DBA may retry
	StateRejected        = "rejected"
	StateCancelled       = "cancelled"
)

// Terminal reports whether a ticket in state s is finished for good
// (failed tickets can still be retried).
func Terminal(s string) bool {
	return s == StateDone || s == StateRejected || s == StateCancelled
}

// Step states.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepWaiting   = "waiting"
	StepDone      = "done"
	StepSkipped   = "skipped"
	StepFailed    = "failed"
	StepCancelled = "cancelled"
)

// Job kinds.
const (
	jobAdvance = "flows.advance" // run a ticket's steps from where it is
	jobTask    = "flows.task"    // start a scheduled task
)

// Reviewer reviews SQL (*sqlreview.Reviewer, wired by app). The review
// block asks it with the ticket's target connected, for its live-schema
// checks.
type Reviewer interface {
	Review(ctx context.Context, r sqlreview.Request) (*sqlreview.Report, error)
}

// ReviewReport is a review's outcome.
type ReviewReport struct {
	Findings   []Finding `json:"findings"`
	Statements int       `json:"statements"`
	// Kinds lists the statements' kinds in internal/sql's vocabulary
	// (ddl, dml, query, session, txn, other); left empty, the review
	// step fills it in.
	Kinds []string `json:"kinds,omitempty"`
	// Engine names what reviewed ("dbfleet sqlreview", "parse check").
	Reviewer string `json:"reviewer"`
	// Manual: some statement could not be reviewed by rules (a routine, a
	// trigger...) and needs a DBA's eyes.
	Manual bool `json:"manual,omitempty"`
	// Estimates are the rows each data change may change (EXPLAIN on the
	// target), for approvers.
	Estimates []sqlreview.RowEstimate `json:"estimates,omitempty"`
}

// Finding is one review remark.
type Finding struct {
	Statement int    `json:"statement"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Rule      string `json:"rule"`
	Level     string `json:"level"` // error, warning, notice, manual
	Message   string `json:"message"`
	Fix       string `json:"fix,omitempty"`
	// Explanation says why the rule exists (shown with the finding).
	Explanation string `json:"explanation,omitempty"`
}

// Executor runs a ticket's SQL durably (*executor.Service, wired by app):
// it records each statement's outcome itself and survives restarts. A
// step's execution is keyed by the step (executor.TicketKey): the step
// records that it starts its execution before StartTicketStep is called,
// and the executor returns an existing execution under that key only when
// it was asked for the same thing (else a conflict), so a resumed step
// gets back its own execution and never adopts another.
type Executor interface {
	// StartTicketStep stores the execution of a ticket step, held, or
	// returns the one already stored under the step's key.
	StartTicketStep(ctx context.Context, key executor.TicketKey, req executor.Request) (executor.ID, error)
	// Release lets a held execution run (once the step recorded it).
	Release(ctx context.Context, id executor.ID) error
	// Wait blocks until the execution ends (or ctx does).
	Wait(ctx context.Context, id executor.ID) (executor.Execution, error)
	// Resume runs a failed, cancelled or in-doubt execution on; for a
	// statement in doubt, decision says whether it committed.
	Resume(ctx context.Context, id executor.ID, decision executor.InDoubt) error
	// Cancel stops it at the next statement boundary.
	Cancel(ctx context.Context, id executor.ID) error
	// StepRollbackScript is the SQL that undoes a step's execution's
	// committed changes (the ticket decides who may see it).
	StepRollbackScript(ctx context.Context, id executor.ID) (executor.RollbackScript, error)
}

// Provisioner creates databases and accounts (*executor.Service, wired by
// app), each as a recorded, audited execution keyed by the step: a resumed
// step completes its own execution.
type Provisioner interface {
	CreateDatabase(ctx context.Context, key executor.TicketKey, req executor.CreateDatabase) (executor.Execution, error)
	CreateAccount(ctx context.Context, key executor.TicketKey, req executor.CreateAccount) (executor.Execution, error)
}

// Exporter runs a work order's export through the query console
// (*query.Service, wired by app): with the principal's grants, masks,
// checks and allow-lists, the console's read-only session and account,
// and its statement timeout; refused and run exports are audited there
// with the ticket. It is required: there is no other way to read data
// for a ticket.
type Exporter interface {
	// Export runs the query and writes it to w as CSV.
	Export(ctx context.Context, p auth.Principal, req query.ExportRequest, w io.Writer) (*query.ExportResult, error)
	// CheckExport is the refusal Export would give that needs no
	// connection (the review block's early check).
	CheckExport(ctx context.Context, p auth.Principal, req query.ExportRequest) error
}

// Users is what work orders read of the accounts (*auth.Service): whose
// grants an export runs with, as their account stands now.
type Users interface {
	GetUser(ctx context.Context, name string) (auth.User, error)
}

// Notifier sends messages to configured channels (*notify.Sender).
type Notifier interface {
	SendTo(ctx context.Context, channel string, msg Message) error
}

// Options configure a Service.
type Options struct {
	DB        *sqldb.DB
	Log       *slog.Logger
	Catalog   *Catalog
	Queue     *jobs.Queue
	Inventory *inventory.Service
	// Key (32 bytes, derived from the server's secret) signs approval links
	// and derives generated account passwords.
	Key []byte
	// PublicURL is how people reach the server, for links in messages.
	PublicURL   string
	Reviewer    Reviewer
	Executor    Executor
	Provisioner Provisioner
	// Exporter and Users run the export block (both are needed).
	Exporter Exporter
	Users    Users
	Notifier Notifier
}

// Service runs tickets.
type Service struct {
	db          *sqldb.DB
	log         *slog.Logger
	catalog     *Catalog
	queue       *jobs.Queue
	inv         *inventory.Service
	reviewer    Reviewer
	executor    Executor
	provisioner Provisioner
	exporter    Exporter
	users       Users
	notifier    Notifier
	key         []byte
	publicURL   string
	now         func() time.Time
}

// NewService returns a Service. Every block calls one interface and none
// has a built-in fallback: a Service without its Reviewer, Executor,
// Provisioner, Exporter or Users is refused.
func NewService(o Options) (*Service, error) {
	var missing []string
	for _, c := range []struct {
		name string
		nil  bool
	}{
		{"a database (DB)", o.DB == nil},
		{"a flow catalog (Catalog)", o.Catalog == nil},
		{"a job queue (Queue)", o.Queue == nil},
		{"the inventory (Inventory)", o.Inventory == nil},
		{"the SQL review engine (Reviewer: review blocks)", o.Reviewer == nil},
		{"the executor (Executor: execute blocks)", o.Executor == nil},
		{"the executor (Provisioner: create-database and create-account blocks)", o.Provisioner == nil},
		{"the query console (Exporter: export blocks)", o.Exporter == nil},
		{"the accounts (Users: export blocks)", o.Users == nil},
	} {
		if c.nil {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("work orders need %s", strings.Join(missing, ", "))
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: o.DB, log: log, catalog: o.Catalog, queue: o.Queue, inv: o.Inventory,
		reviewer: o.Reviewer, executor: o.Executor, provisioner: o.Provisioner, exporter: o.Exporter, users: o.Users, notifier: o.Notifier, key: o.Key,
		publicURL: strings.TrimRight(o.PublicURL, "/"), now: time.Now}, nil
}

// Catalog is the service's flow catalog.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Handlers are the job handlers the worker must run for flows.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{
		jobAdvance: s.advanceJob,
		jobTask:    s.taskJob,
	}
}

// ---- tickets ----

// Ticket is a ticket as the API shows it to one caller.
type Ticket struct {
	ID          int64          `json:"id"`
	Flow        string         `json:"flow"`
	FlowTitle   string         `json:"flow_title"`
	FlowVersion int            `json:"flow_version"`
	Title       string         `json:"title"`
	Requester   string         `json:"requester,omitempty"`
	Scheduled   bool           `json:"scheduled,omitempty"`
	State       string         `json:"state"`
	Step        int            `json:"step"`
	Target      TargetVars     `json:"target"`
	Error       string         `json:"error,omitempty"`
	ManualSteps int            `json:"manual_steps"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	DoneAt      time.Time      `json:"done_at,omitzero"`
	Form        map[string]any `json:"form,omitempty"`
	// Hidden is true when the caller may not see the SQL, the form values
	// of sql fields and the results.
	Hidden      bool         `json:"hidden,omitempty"`
	Fields      []FieldValue `json:"fields,omitempty"`
	Steps       []StepState  `json:"steps,omitempty"`
	Approvals   []Approval   `json:"approvals,omitempty"`
	Timeline    []Event      `json:"timeline,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Secrets     []SecretInfo `json:"secrets,omitempty"`
	// WaitingFor says who may act now (approvals), for this caller's eyes.
	WaitingFor string `json:"waiting_for,omitempty"`
	// CanApprove: the caller may approve or reject the current step.
	CanApprove bool `json:"can_approve,omitempty"`
	CanCancel  bool `json:"can_cancel,omitempty"`
	CanRetry   bool `json:"can_retry,omitempty"`
	// CanRollback: an execute step ran through the executor and the caller
	// may see its rollback SQL (GET /api/v1/tickets/{id}/rollback).
	CanRollback bool `json:"can_rollback,omitempty"`
}

// FieldValue is a form value with its label, for display.
type FieldValue struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// StepState is one step of a ticket.
type StepState struct {
	Index      int              `json:"index"`
	ID         string           `json:"id"`
	Block      string           `json:"block"`
	Title      string           `json:"title"`
	When       string           `json:"when,omitempty"`
	State      string           `json:"state"`
	Attempts   int              `json:"attempts"`
	StartedAt  time.Time        `json:"started_at,omitzero"`
	FinishedAt time.Time        `json:"finished_at,omitzero"`
	Error      string           `json:"error,omitempty"`
	Summary    string           `json:"summary,omitempty"`
	Result     map[string]any   `json:"result,omitempty"`
	Statements []StatementState `json:"statements,omitempty"`
}

// StatementState is one statement of an execute step.
type StatementState struct {
	Index        int       `json:"index"`
	Line         int       `json:"line"`
	SQL          string    `json:"sql"`
	State        string    `json:"state"`
	RowsAffected int64     `json:"rows_affected"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Error        string    `json:"error,omitempty"`
}

// Approval is one approver's decision.
type Approval struct {
	Step     int       `json:"step"`
	Approver string    `json:"approver"`
	Decision string    `json:"decision"`
	Comment  string    `json:"comment,omitempty"`
	Via      string    `json:"via,omitempty"`
	At       time.Time `json:"at"`
}

// Event is one line of a ticket's timeline.
type Event struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Kind    string    `json:"kind"`
	Step    *int      `json:"step,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Attachment is a file a ticket produced.
type Attachment struct {
	ID          int64     `json:"id"`
	Step        int       `json:"step"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Rows        int64     `json:"rows"`
	CreatedAt   time.Time `json:"created_at"`
}

// SecretInfo says a generated password exists and whether it can still be
// shown.
type SecretInfo struct {
	Step       int       `json:"step"`
	Account    string    `json:"account"`
	Available  bool      `json:"available"`
	RevealedAt time.Time `json:"revealed_at,omitzero"`
	RevealedBy string    `json:"revealed_by,omitempty"`
}

// ticketRow is a ticket as stored.
type ticketRow struct {
	ID            int64
	Flow          string
	VersionID     int64
	Title         string
	Requester     string
	RequesterRole auth.Role
	State         string
	Step          int
	Form          map[string]any
	Target        TargetVars
	Env           string
	Error         string
	ManualSteps   int
	Scheduled     bool
	CreatedAt     int64
	UpdatedAt     int64
	DoneAt        sql.NullInt64
}

func ticketTarget(id int64) string { return "ticket/" + strconv.FormatInt(id, 10) }

func intp(i int) *int { return &i }

// ---- submit ----

// SubmitRequest is a new ticket.
type SubmitRequest struct {
	Flow  string `json:"flow"`
	Title string `json:"title,omitempty"`
	// Fields holds the form's values: strings, numbers, booleans, or lists
	// of strings for multiple choices.
	Fields map[string]any `json:"fields"`
}

// RawFields turns JSON field values into the strings a form is validated
// from.
func RawFields(in map[string]any) map[string][]string {
	out := map[string][]string{}
	for k, v := range in {
		switch x := v.(type) {
		case nil:
		case string:
			out[k] = []string{x}
		case bool:
			out[k] = []string{strconv.FormatBool(x)}
		case float64:
			out[k] = []string{formatNumber(x)}
		case json.Number:
			out[k] = []string{x.String()}
		case []string:
			out[k] = x
		case []any:
			for _, e := range x {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		default:
			out[k] = []string{fmt.Sprint(x)}
		}
	}
	return out
}

// MayView reports whether p may see a ticket's SQL and results.
func (s *Service) mayView(p auth.Principal, t *ticketRow, fl *Flow) bool {
	if p.User != "" && p.User == t.Requester {
		return true
	}
	if p.Can(auth.TicketManage) || fl.View.Includes(p.User, p.Role) {
		return true
	}
	for _, st := range fl.Steps {
		if c, ok := st.cfg.(*approveCfg); ok {
			set, _ := c.forEnv(t.Env)
			if !set.auto && set.Includes(p.User, p.Role) {
				return true
			}
		}
	}
	return false
}

// Submit validates a form and starts a ticket.
func (s *Service) Submit(ctx context.Context, p auth.Principal, req SubmitRequest) (*Ticket, error) {
	fl, ok := s.catalog.Get(req.Flow)
	if !ok {
		return nil, errkind.New(errkind.NotFound, "no flow %q%s", req.Flow, suggest(req.Flow, s.catalog.Names()))
	}
	if !fl.Submit.Includes(p.User, p.Role) && !p.Can(auth.FlowManage) {
		return nil, errkind.New(errkind.Forbidden, "flow %s may be submitted by %s; user %q (role %s) is not one of them", fl.Name, fl.Submit, p.User, p.Role)
	}
	values, err := fl.Validate(RawFields(req.Fields))
	if err != nil {
		return nil, err
	}
	target, err := s.checkPickers(ctx, fl, values)
	if err != nil {
		return nil, err
	}
	if fe := fl.refusals(values); fe != nil {
		return nil, s.refuse(ctx, fl, target, fe)
	}
	if err := s.checkDatabases(ctx, fl, values); err != nil {
		return nil, err
	}
	title := strings.TrimSpace(req.Title)
	if len(title) > 200 {
		return nil, errkind.New(errkind.Invalid, "title: at most 200 characters")
	}
	id, err := s.create(ctx, fl, title, p.User, p.Role, values, target, false)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, p, id)
}

// checkPickers makes sure every cluster, instance and database field names
// something in the inventory (of an allowed engine), and resolves the
// ticket's target.
func (s *Service) checkPickers(ctx context.Context, fl *Flow, values map[string]any) (TargetVars, error) {
	fe := &FormError{Flow: fl.Name}
	var target TargetVars
	for _, f := range fl.Fields {
		v, ok := values[f.Name].(string)
		if !f.IsPicker() || !ok || v == "" {
			continue
		}
		tv, err := s.resolve(ctx, f, v)
		if err != nil {
			if errkind.Is(err, errkind.NotFound) || errkind.Is(err, errkind.Invalid) {
				fe.Fields = append(fe.Fields, FieldError{Field: f.Name, Message: err.Error()})
				continue
			}
			return target, err
		}
		if f.Name == fl.Target {
			target = tv
		}
	}
	if len(fe.Fields) > 0 {
		return target, errkind.Wrap(errkind.Invalid, fe)
	}
	return target, nil
}

// resolve looks a picker's value up in the inventory. A cluster resolves
// to its primary instance.
func (s *Service) resolve(ctx context.Context, f *Field, v string) (TargetVars, error) {
	var tv TargetVars
	var in inventory.Instance
	switch f.Type {
	case TypeCluster:
		c, err := s.inv.GetCluster(ctx, v)
		if err != nil {
			return tv, err
		}
		tv.Cluster, tv.Env, tv.Engine = c.Name, c.Env, string(c.Engine)
		for _, i := range c.Instances {
			if i.Role == inventory.RolePrimary {
				tv.Instance = i.Name
			}
		}
		if tv.Instance == "" {
			if len(c.Instances) == 1 {
				tv.Instance = c.Instances[0].Name
			} else {
				return tv, errkind.New(errkind.Invalid, "cluster %q has no instance with role primary", v)
			}
		}
	case TypeInstance, TypeDatabase:
		name, db, _ := strings.Cut(v, "/")
		var err error
		if in, err = s.inv.GetInstance(ctx, name); err != nil {
			return tv, err
		}
		tv.Instance, tv.Cluster, tv.Env, tv.Engine, tv.Database = in.Name, in.Cluster, in.Env, string(in.Engine), db
	}
	if tv.Env == "" {
		tv.Env = inventory.DefaultEnv
	}
	if len(f.Engines) > 0 && !slices.Contains(f.Engines, engine.Kind(tv.Engine)) {
		return tv, errkind.New(errkind.Invalid, "%s %q runs %s; this field takes %s", f.Type, v, tv.Engine, joinKinds(f.Engines))
	}
	switch engine.Kind(tv.Engine) {
	case engine.MariaDB, engine.MySQL, engine.TiDB, engine.Postgres:
	default:
		return tv, errkind.New(errkind.Invalid, "%s %q runs %s; work orders support MariaDB, MySQL, TiDB and PostgreSQL", f.Type, v, tv.Engine)
	}
	return tv, nil
}

// checkDatabases makes sure every database field names a database its
// instance has. An instance that cannot be asked now is not the
// requester's mistake: the form passes, and the review step fails later
// with the reason.
func (s *Service) checkDatabases(ctx context.Context, fl *Flow, values map[string]any) error {
	fe := &FormError{Flow: fl.Name}
	for _, f := range fl.Fields {
		v, ok := values[f.Name].(string)
		if f.Type != TypeDatabase || !ok || v == "" {
			continue
		}
		tv, err := s.resolve(ctx, f, v)
		if err != nil || tv.Database == "" {
			continue // reported by checkPickers
		}
		if exists, err := s.databaseExists(ctx, tv); err == nil && !exists {
			fe.Fields = append(fe.Fields, FieldError{Field: f.Name, Message: fmt.Sprintf("instance %q has no database %q", tv.Instance, tv.Database)})
		}
	}
	if len(fe.Fields) > 0 {
		return errkind.Wrap(errkind.Invalid, fe)
	}
	return nil
}

// databaseExists asks the target's instance whether its database exists.
func (s *Service) databaseExists(ctx context.Context, tv TargetVars) (bool, error) {
	conn, err := s.inv.Connect(ctx, tv.Instance, "")
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ok, err := engine.DatabaseExists(ctx, conn, tv.Database)
	if err != nil {
		return false, fmt.Errorf("on %s: %w", tv.Instance, err)
	}
	return ok, nil
}

func joinKinds(ks []engine.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// create stores a new ticket and queues its first step.
func (s *Service) create(ctx context.Context, fl *Flow, title, requester string, role auth.Role, values map[string]any, target TargetVars, scheduled bool) (int64, error) {
	form, err := json.Marshal(values)
	if err != nil {
		return 0, err
	}
	tgt, _ := json.Marshal(target)
	var id int64
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Now()
		if title == "" {
			title = fl.Title
		}
		var err error
		if id, err = insertTicket(ctx, tx, fl, title, requester, role, string(form), string(tgt), target.Env, scheduled, now); err != nil {
			return fmt.Errorf("create ticket: %w", err)
		}
		msg := fmt.Sprintf("submitted %s (flow version %d)", fl.Name, fl.Version)
		if scheduled {
			msg = fmt.Sprintf("started by the schedule of %s (flow version %d)", fl.Name, fl.Version)
		}
		if err := s.event(ctx, tx, id, nil, "submit", msg, map[string]any{"flow": fl.Name, "version": fl.Version, "target": target.Instance}); err != nil {
			return err
		}
		return s.enqueueAdvance(ctx, tx, id, time.Time{})
	})
	if err != nil {
		return 0, err
	}
	s.queue.Wake()
	return id, nil
}

func (s *Service) enqueueAdvance(ctx context.Context, q sqldb.Querier, id int64, at time.Time) error {
	key := "ticket:" + strconv.FormatInt(id, 10)
	_, err := jobs.Enqueue(ctx, q, jobs.NewJob{Kind: jobAdvance, Payload: advancePayload{Ticket: id}, RunAt: at,
		DedupeKey: key, LockKey: key, MaxAttempts: 1000})
	return err
}

type advancePayload struct {
	Ticket int64 `json:"ticket"`
}

// ---- reading ----

// Filter narrows List.
type Filter struct {
	Requester string
	State     string // a state, or "open" for every unfinished one
	Flow      string
	Limit     int
}

// Summary is a ticket in a list.
type Summary struct {
	ID        int64      `json:"id"`
	Flow      string     `json:"flow"`
	Title     string     `json:"title"`
	Requester string     `json:"requester,omitempty"`
	Scheduled bool       `json:"scheduled,omitempty"`
	State     string     `json:"state"`
	Step      string     `json:"step,omitempty"`
	Target    TargetVars `json:"target"`
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DoneAt    time.Time  `json:"done_at,omitzero"`
}

// Get returns a ticket as p may see it.
func (s *Service) Get(ctx context.Context, p auth.Principal, id int64) (*Ticket, error) {
	t, err := s.loadTicket(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	fl, err := s.catalog.Version(ctx, t.VersionID)
	if err != nil {
		return nil, err
	}
	view := s.mayView(p, t, fl)
	out := &Ticket{ID: t.ID, Flow: t.Flow, FlowTitle: fl.Title, FlowVersion: fl.Version, Title: t.Title, Requester: t.Requester,
		Scheduled: t.Scheduled, State: t.State, Step: t.Step, Target: t.Target, Error: t.Error, ManualSteps: t.ManualSteps,
		CreatedAt: sqldb.Time(t.CreatedAt), UpdatedAt: sqldb.Time(t.UpdatedAt), DoneAt: sqldb.NullTime(t.DoneAt), Hidden: !view}
	if view {
		out.Form = t.Form
	}
	for _, f := range fl.Fields {
		v, ok := t.Form[f.Name]
		if !ok {
			continue
		}
		fv := FieldValue{Name: f.Name, Label: f.Label, Type: f.Type, Value: FormatValue(v)}
		if !view && (f.Type == TypeSQL || f.Type == TypeTextarea) {
			fv.Value = "(hidden)"
		}
		out.Fields = append(out.Fields, fv)
	}
	if out.Steps, err = s.steps(ctx, t, fl, view); err != nil {
		return nil, err
	}
	if out.Approvals, err = s.approvals(ctx, id); err != nil {
		return nil, err
	}
	if out.Timeline, err = s.timeline(ctx, id); err != nil {
		return nil, err
	}
	if view {
		if out.Attachments, err = s.attachments(ctx, id); err != nil {
			return nil, err
		}
		if p.User == t.Requester || p.Can(auth.TicketManage) {
			if out.Secrets, err = s.secrets(ctx, id); err != nil {
				return nil, err
			}
		}
	}
	if t.State == StateWaitingApproval && t.Step < len(fl.Steps) {
		if c, ok := fl.Steps[t.Step].cfg.(*approveCfg); ok {
			set, _ := c.forEnv(t.Env)
			done := map[string]bool{}
			for _, a := range out.Approvals {
				if a.Step == t.Step && a.Decision == "approve" {
					done[a.Approver] = true
				}
			}
			decided := false
			for _, a := range out.Approvals {
				if a.Step == t.Step && a.Approver == p.User {
					decided = true
				}
			}
			out.WaitingFor = waitingFor(set, done)
			out.CanApprove = !decided && s.eligible(p, t, set, done) == nil
		}
	}
	out.CanCancel = !Terminal(t.State) && (p.User == t.Requester || p.Can(auth.TicketManage))
	out.CanRetry = t.State == StateFailed && p.Can(auth.TicketManage)
	if view {
		for _, st := range out.Steps {
			if ex, _ := st.Result["execution"].(string); ex != "" && st.Block == "execute" && (st.State == StepDone || st.State == StepFailed) {
				out.CanRollback = true
			}
		}
	}
	return out, nil
}

// Download returns an attachment's content, if p may see the ticket's
// results.
func (s *Service) Download(ctx context.Context, p auth.Principal, ticketID, attID int64) (Attachment, []byte, error) {
	t, err := s.loadTicket(ctx, s.db, ticketID)
	if err != nil {
		return Attachment{}, nil, err
	}
	fl, err := s.catalog.Version(ctx, t.VersionID)
	if err != nil {
		return Attachment{}, nil, err
	}
	if !s.mayView(p, t, fl) {
		return Attachment{}, nil, errkind.New(errkind.Forbidden, "user %q may not see the results of ticket %d (the requester, its approvers and %s may)", p.User, t.ID, fl.View)
	}
	a, content, err := attachment(ctx, s.db, ticketID, attID)
	if err != nil {
		return a, nil, err
	}
	if err := audit.Record(ctx, s.db, "ticket.download", ticketTarget(ticketID), map[string]any{"attachment": a.Name, "rows": a.Rows}); err != nil {
		return a, nil, err
	}
	return a, content, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SetPublicURL sets how people reach the server, for links, when the
// configuration does not say (call it before the loops start).
func (s *Service) SetPublicURL(u string) { s.publicURL = strings.TrimRight(u, "/") }
