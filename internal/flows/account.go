package flows

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// create-database and create-account run through the Provisioner (the
// executor): it validates, quotes and sends the DDL, and records it as an
// execution, audited like any other. What stays here is the work order's
// part: the step's key, and the generated password, derived from the
// server key and a salt the ticket keeps until the requester saw it once.

// ---- create-database ----

func (s *Service) runCreateDatabase(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*createDatabaseCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	name := r.field(c.name)
	if err := checkSystemDatabase("create", name); err != nil {
		return outcome{}, err
	}
	req := executor.CreateDatabase{Instance: tgt.Instance, Name: name, RequestedBy: r.t.Requester}
	if dialect(engine.Kind(tgt.Engine)).IsMySQLFamily() {
		req.Charset, req.Collation = c.charset, c.collation
	} else {
		req.Owner = r.field(c.owner)
	}
	key := executor.TicketKey{Ticket: r.t.ID, Step: r.idx + 1}
	if err := s.registerExecution(ctx, r, key, tgt); err != nil {
		return outcome{}, err
	}
	ex, err := s.provisioner.CreateDatabase(ctx, key, req)
	if err != nil {
		return outcome{}, err
	}
	res := map[string]any{"summary": fmt.Sprintf("database %s created on %s (execution %d)", name, tgt.Instance, ex.ID), "database": name,
		"instance": tgt.Instance, "execution": ex.ID.String()}
	if len(ex.Statements) > 0 {
		res["statement"] = ex.Statements[0].SQL
	}
	return done(res)
}

// ---- create-account ----

// accountPassword derives the password of an account created by a ticket
// step from the server key and a random salt stored with the ticket. The
// password itself is never stored; once the requester has seen it, the
// salt is erased and nobody can derive it again.
func (s *Service) accountPassword(id int64, idx int, salt string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "dbfleet flows account password v1\x00%d\x00%d\x00%s", id, idx, salt)
	sum := m.Sum(nil)
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	n := new(big.Int).SetBytes(sum)
	base := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	for range 24 {
		var rem big.Int
		n.DivMod(n, base, &rem)
		b.WriteByte(alphabet[rem.Int64()])
	}
	return b.String()
}

func (s *Service) runCreateAccount(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*createAccountCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	user := r.field(c.user)
	db := tgt.Database
	if c.database != "" {
		db = fieldDatabase(r.field(c.database))
	}
	if err := checkSystemDatabase("grant", db); err != nil {
		return outcome{}, err
	}
	raw, _ := r.t.Form[c.privileges].([]string)
	key := executor.TicketKey{Ticket: r.t.ID, Step: r.idx + 1}
	if err := s.registerExecution(ctx, r, key, tgt); err != nil {
		return outcome{}, err
	}
	// The salt is recorded before the account exists, so a resumed step
	// derives the same password.
	salt, err := s.accountSalt(ctx, r.t.ID, r.idx, user)
	if err != nil {
		return outcome{}, err
	}
	host := ""
	if dialect(engine.Kind(tgt.Engine)).IsMySQLFamily() {
		host = c.host
	}
	ex, err := s.provisioner.CreateAccount(ctx, key, executor.CreateAccount{Instance: tgt.Instance, User: user, Host: host, Database: db,
		Privileges: raw, Password: s.accountPassword(r.t.ID, r.idx, salt), RequestedBy: r.t.Requester})
	if err != nil {
		return outcome{}, err
	}
	label := user
	if host != "" {
		label = fmt.Sprintf("'%s'@'%s'", user, host)
	}
	var privs []string
	for _, p := range raw {
		privs = append(privs, strings.ToUpper(strings.TrimSpace(p)))
	}
	return done(map[string]any{
		"summary":    fmt.Sprintf("account %s created on %s with %s on %s; the requester can see its password once (execution %d)", label, tgt.Instance, strings.Join(privs, ", "), db, ex.ID),
		"account":    user,
		"host":       c.host,
		"database":   db,
		"privileges": privs,
		"instance":   tgt.Instance,
		"execution":  ex.ID.String(),
	})
}

// Credential is a generated account password, shown once.
type Credential struct {
	Ticket   int64  `json:"ticket"`
	Step     int    `json:"step"`
	Account  string `json:"account"`
	Password string `json:"password"`
	Note     string `json:"note"`
}

// RevealPassword shows the requester the password of an account their
// ticket created, once: afterwards it cannot be derived again.
func (s *Service) RevealPassword(ctx context.Context, p auth.Principal, id int64, idx int) (*Credential, error) {
	var cred *Credential
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.User != t.Requester {
			return errkind.New(errkind.Forbidden, "only the requester of ticket %d (%s) may see the password it generated", id, orSchedule(t.Requester))
		}
		sec, err := secretOf(ctx, tx, id, idx)
		if err != nil {
			return err
		}
		if !sec.RevealedAt.IsZero() {
			return errkind.New(errkind.Conflict, "the password of %s was already shown to %s at %s; dbfleet does not keep it", sec.Account, sec.RevealedBy, sec.RevealedAt.Format("2006-01-02 15:04:05 UTC"))
		}
		step, err := s.loadStep(ctx, tx, id, idx)
		if err != nil {
			return err
		}
		if step.state != StepDone {
			return errkind.New(errkind.Conflict, "the account of step %d is not created yet (step %s)", idx+1, step.state)
		}
		account := sec.Account
		pw := s.accountPassword(id, idx, sec.salt)
		sum := sha256.Sum256([]byte(pw))
		if err := markRevealed(ctx, tx, id, idx, hex.EncodeToString(sum[:]), p.User); err != nil {
			return err
		}
		cred = &Credential{Ticket: id, Step: idx, Account: account, Password: pw, Note: "shown only this once; dbfleet does not keep it"}
		return s.event(audit.WithActor(ctx, audit.ActorFrom(ctx)), tx, id, intp(idx), "password.reveal", "password of "+account+" shown to the requester", nil)
	})
	return cred, err
}
