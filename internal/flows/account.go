package flows

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
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

// accountSalt returns the step's salt, creating it on first use.
func (s *Service) accountSalt(ctx context.Context, id int64, idx int, user string) (string, error) {
	var salt string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var revealed sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT salt, revealed_at FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).Scan(&salt, &revealed)
		if err == nil {
			if revealed.Valid || salt == "" {
				return errkind.New(errkind.Conflict, "the password of this account was already shown; it cannot be set again by this ticket")
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b := make([]byte, 16)
		rand.Read(b)
		salt = hex.EncodeToString(b)
		_, err = tx.ExecContext(ctx, "INSERT INTO ticket_secrets (ticket_id, step_idx, account, salt, created_at) VALUES (?, ?, ?, ?, ?)",
			id, idx, user, salt, sqldb.Now())
		return err
	})
	return salt, err
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
		var account, salt, by string
		var revealed sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT account, salt, revealed_at, revealed_by FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).
			Scan(&account, &salt, &revealed, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.NotFound, "step %d of ticket %d generated no password", idx+1, id)
		}
		if err != nil {
			return err
		}
		if revealed.Valid {
			return errkind.New(errkind.Conflict, "the password of %s was already shown to %s at %s; dbfleet does not keep it", account, by, sqldb.Time(revealed.Int64).Format("2006-01-02 15:04:05 UTC"))
		}
		var state string
		if err := tx.QueryRowContext(ctx, "SELECT state FROM ticket_steps WHERE ticket_id = ? AND idx = ?", id, idx).Scan(&state); err != nil {
			return err
		}
		if state != StepDone {
			return errkind.New(errkind.Conflict, "the account of step %d is not created yet (step %s)", idx+1, state)
		}
		pw := s.accountPassword(id, idx, salt)
		sum := sha256.Sum256([]byte(pw))
		if _, err := tx.ExecContext(ctx, "UPDATE ticket_secrets SET salt = '', hash = ?, revealed_at = ?, revealed_by = ? WHERE ticket_id = ? AND step_idx = ?",
			hex.EncodeToString(sum[:]), sqldb.Now(), p.User, id, idx); err != nil {
			return err
		}
		cred = &Credential{Ticket: id, Step: idx, Account: account, Password: pw, Note: "shown only this once; dbfleet does not keep it"}
		return s.event(audit.WithActor(ctx, audit.ActorFrom(ctx)), tx, id, intp(idx), "password.reveal", "password of "+account+" shown to the requester", nil)
	})
	return cred, err
}
