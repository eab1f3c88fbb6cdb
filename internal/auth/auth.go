package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// User is an account, without its password hash.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TokenKind says how a token was made.
type TokenKind string

// Token kinds.
const (
	KindAPI     TokenKind = "api"     // created explicitly, named, for scripts and CI
	KindLogin   TokenKind = "login"   // made by `dbfleet login` / POST /api/v1/login
	KindSession TokenKind = "session" // a web UI session cookie
)

// Token describes a token; the secret itself is shown only once, at creation.
type Token struct {
	ID         int64     `json:"id"`
	User       string    `json:"user"`
	Kind       TokenKind `json:"kind"`
	Name       string    `json:"name,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Principal is an authenticated caller.
type Principal struct {
	UserID  int64
	User    string
	Role    Role
	TokenID int64
	Kind    TokenKind
}

// Can reports whether the caller has permission p.
func (p Principal) Can(perm Permission) bool { return Can(p.Role, perm) }

// Require returns a Forbidden error naming what is missing when the caller
// lacks p.
func (p Principal) Require(perm Permission) error {
	if p.Can(perm) {
		return nil
	}
	return errkind.New(errkind.Forbidden, "user %q (role %s) lacks permission %s", p.User, p.Role, perm)
}

// Service manages users and tokens.
type Service struct {
	db      *sqldb.DB
	log     *slog.Logger
	opts    Config
	limiter *limiter
	now     func() time.Time

	dummyOnce sync.Once
	dummy     []byte
}

// NewService returns a Service over db.
func NewService(db *sqldb.DB, log *slog.Logger, opts Config) *Service {
	opts = opts.withDefaults()
	return &Service{
		db: db, log: log, opts: opts, now: time.Now,
		limiter: newLimiter(opts.MaxFailures, opts.MaxAddressFailures, opts.FailureWindow),
	}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

func validName(name string) error {
	if !namePattern.MatchString(name) {
		return errkind.New(errkind.Invalid, "invalid user name %q: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	return nil
}

func validPassword(pw string) error {
	if len(pw) < 8 {
		return errkind.New(errkind.Invalid, "password too short: at least 8 characters")
	}
	if len(pw) > 72 {
		return errkind.New(errkind.Invalid, "password too long: at most 72 bytes")
	}
	return nil
}

// Bootstrap creates the user admin when there are no users at all. The
// password is the one given, or a random one that is returned so the caller
// can show it once. created is false when users already exist.
func (s *Service) Bootstrap(ctx context.Context, password string) (generated string, created bool, err error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return "", false, fmt.Errorf("bootstrap: count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	if password == "" {
		password = randomPassword()
		generated = password
	}
	if _, err := s.AddUser(ctx, "admin", Admin, password); err != nil {
		if errkind.Is(err, errkind.Conflict) { // another process bootstrapped first
			return "", false, nil
		}
		return "", false, fmt.Errorf("bootstrap admin: %w", err)
	}
	return generated, true, nil
}

func randomPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AddUser creates a user.
func (s *Service) AddUser(ctx context.Context, name string, role Role, password string) (User, error) {
	if err := validName(name); err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	if err := validPassword(password); err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	now := sqldb.Now()
	u := User{Name: name, Role: role, CreatedAt: sqldb.Time(now), UpdatedAt: sqldb.Time(now)}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO users (name, password_hash, role, disabled, created_at, updated_at) VALUES (?, ?, ?, FALSE, ?, ?) RETURNING id`,
			name, string(hash), string(role), now, now).Scan(&u.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "user %q already exists", name)
		}
		if err != nil {
			return fmt.Errorf("add user %q: %w", name, err)
		}
		return audit.Record(ctx, tx, "user.add", name, map[string]any{"role": role})
	})
	return u, err
}

const userCols = "id, name, role, disabled, created_at, updated_at"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var role string
	var c, up int64
	if err := row.Scan(&u.ID, &u.Name, &role, &u.Disabled, &c, &up); err != nil {
		return u, err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = Role(role), sqldb.Time(c), sqldb.Time(up)
	return u, nil
}

// ListUsers returns every user by name.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// GetUser returns one user.
func (s *Service) GetUser(ctx context.Context, name string) (User, error) {
	return s.getUser(ctx, s.db, name)
}

func (s *Service) getUser(ctx context.Context, q sqldb.Querier, name string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, errkind.New(errkind.NotFound, "user %q not found", name)
	}
	if err != nil {
		return u, fmt.Errorf("get user %q: %w", name, err)
	}
	return u, nil
}

// UserChange is a change to one user; nil fields stay as they are.
type UserChange struct {
	Role     *Role   `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
	// CurrentPassword is required to change your own password, so that a
	// stolen session cannot lock its owner out.
	CurrentPassword *string `json:"current_password,omitempty"`
}

// UpdateUser applies a change to user name on behalf of by (calling from
// address ip). Everything is checked first, then written in one
// transaction, so a change is applied whole or not at all:
//   - role and disabled changes, and any change to another user, need
//     user.manage;
//   - changing your own password needs your current password;
//   - the last enabled admin cannot be demoted or disabled;
//   - a new password or a disabled account ends the user's sessions and
//     login tokens (except the one making the change); API tokens of a
//     disabled user stop working too, as every token of a disabled user does.
func (s *Service) UpdateUser(ctx context.Context, by Principal, ip, name string, c UserChange) (User, error) {
	if c.Role == nil && c.Disabled == nil && c.Password == nil {
		return User{}, errkind.New(errkind.Invalid, "nothing to change: give role, disabled or password")
	}
	self := name == by.User
	if c.Role != nil || c.Disabled != nil || !self {
		if err := by.Require(UserManage); err != nil {
			return User{}, err
		}
	}
	if c.Role != nil {
		if _, err := ParseRole(string(*c.Role)); err != nil {
			return User{}, err
		}
	}
	var hash []byte
	if c.Password != nil {
		if err := validPassword(*c.Password); err != nil {
			return User{}, err
		}
		if self {
			if c.CurrentPassword == nil {
				return User{}, errkind.New(errkind.Invalid, "changing your own password needs current_password")
			}
			if err := s.CheckPassword(ctx, name, *c.CurrentPassword, ip); err != nil {
				if errkind.Is(err, errkind.Unauthorized) {
					return User{}, errkind.New(errkind.Forbidden, "current password is wrong")
				}
				return User{}, err
			}
		}
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(*c.Password), s.opts.BcryptCost); err != nil {
			return User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// Serialise changes that could remove the last admin.
		if err := tx.Lock(ctx, "auth.admins"); err != nil {
			return err
		}
		u, err := s.getUser(ctx, tx, name)
		if err != nil {
			return err
		}
		role, disabled := u.Role, u.Disabled
		if c.Role != nil {
			role = *c.Role
		}
		if c.Disabled != nil {
			disabled = *c.Disabled
		}
		if u.Role == Admin && !u.Disabled && (role != Admin || disabled) {
			var others int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = ? AND disabled = FALSE AND name <> ?", string(Admin), name).Scan(&others); err != nil {
				return fmt.Errorf("update user %q: %w", name, err)
			}
			if others == 0 {
				return errkind.New(errkind.Conflict, "%q is the last enabled admin; make another admin first", name)
			}
		}
		now := sqldb.Now()
		if _, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, disabled = ?, updated_at = ? WHERE id = ?", string(role), disabled, now, u.ID); err != nil {
			return fmt.Errorf("update user %q: %w", name, err)
		}
		if hash != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", string(hash), u.ID); err != nil {
				return fmt.Errorf("update user %q: %w", name, err)
			}
		}
		if hash != nil || (disabled && !u.Disabled) {
			keep := int64(0)
			if self {
				keep = by.TokenID
			}
			if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND kind <> ? AND revoked_at IS NULL AND id <> ?",
				now, u.ID, string(KindAPI), keep); err != nil {
				return fmt.Errorf("end sessions of %q: %w", name, err)
			}
		}
		if role != u.Role {
			if err := audit.Record(ctx, tx, "user.set-role", name, map[string]any{"from": u.Role, "to": role}); err != nil {
				return err
			}
		}
		if disabled != u.Disabled {
			action := "user.enable"
			if disabled {
				action = "user.disable"
			}
			if err := audit.Record(ctx, tx, action, name, nil); err != nil {
				return err
			}
		}
		if hash != nil {
			return audit.Record(ctx, tx, "user.set-password", name, nil)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return s.GetUser(ctx, name)
}

// errBadLogin is the one message for every login failure, so it does not
// reveal which user names exist.
var errBadLogin = errkind.New(errkind.Unauthorized, "wrong user name or password")

// dummyHash is compared against when a user name does not exist, so that
// the answer takes as long as for a wrong password (same cost) and does
// not reveal which names exist. It is made on first use.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("dbfleet-dummy-password"), s.opts.BcryptCost)
	})
	return s.dummy
}

// Login checks a user name and password and issues a token of the given
// kind (KindLogin or KindSession). ip is the client address, used for rate
// limiting and the audit log.
func (s *Service) Login(ctx context.Context, name, password, ip string, kind TokenKind) (string, Token, error) {
	if err := s.limit(name, ip, "logins"); err != nil {
		return "", Token{}, err
	}
	var id int64
	var hash string
	var disabled bool
	err := s.db.QueryRowContext(ctx, "SELECT id, password_hash, disabled FROM users WHERE name = ?", name).Scan(&id, &hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return "", Token{}, s.loginFailed(ctx, name, ip)
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled {
		return "", Token{}, s.loginFailed(ctx, name, ip)
	}
	s.limiter.succeeded(s.now(), name, ip)
	ttl := s.opts.LoginTTL
	if kind == KindSession {
		ttl = s.opts.SessionTTL
	}
	actx := audit.WithActor(ctx, audit.Actor{User: name, Addr: ip})
	return s.issue(actx, id, name, kind, "", ttl)
}

// CheckPassword verifies a user's current password without issuing a token
// (for changing one's own password). It is rate-limited like Login and
// fails with the same message.
func (s *Service) CheckPassword(ctx context.Context, name, password, ip string) error {
	if err := s.limit(name, ip, "attempts"); err != nil {
		return err
	}
	var hash string
	err := s.db.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE name = ?", name).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return s.loginFailed(ctx, name, ip)
	}
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return s.loginFailed(ctx, name, ip)
	}
	s.limiter.succeeded(s.now(), name, ip)
	return nil
}

// limit refuses an attempt of name from ip while the pair or the address
// is locked out (see limiter).
func (s *Service) limit(name, ip, what string) error {
	l := s.limiter.begin(s.now(), name, ip)
	if l.wait <= 0 {
		return nil
	}
	wait := max(l.wait.Round(time.Second), time.Second)
	if l.address {
		s.log.Warn("login refused: too many failed logins from this address", "user", name, "addr", ip)
		return errkind.New(errkind.TooMany, "too many failed %s from this address; try again in %s", what, wait)
	}
	return errkind.New(errkind.TooMany, "too many failed %s for this user from this address; try again in %s", what, wait)
}

// loginFailed logs a failed attempt; the limiter counted it when it began.
func (s *Service) loginFailed(ctx context.Context, name, ip string) error {
	s.log.Warn("failed login", "user", name, "addr", ip)
	return errBadLogin
}

// CreateToken issues a named API token for user; ttl 0 means no expiry.
func (s *Service) CreateToken(ctx context.Context, user, name string, ttl time.Duration) (string, Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errkind.New(errkind.Invalid, "a token needs a name (what it is for)")
	}
	u, err := s.GetUser(ctx, user)
	if err != nil {
		return "", Token{}, err
	}
	return s.issue(ctx, u.ID, u.Name, KindAPI, name, ttl)
}

const tokenPrefix = "dbf_"

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func (s *Service) issue(ctx context.Context, userID int64, user string, kind TokenKind, name string, ttl time.Duration) (string, Token, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, fmt.Errorf("issue token: %w", err)
	}
	raw := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	t := Token{User: user, Kind: kind, Name: name, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	var exp sql.NullInt64
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl).UTC().Truncate(time.Millisecond)
		exp = sql.NullInt64{Int64: t.ExpiresAt.UnixMilli(), Valid: true}
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO tokens (user_id, kind, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			userID, string(kind), name, hashToken(raw), now.UnixMilli(), exp).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("issue token: %w", err)
		}
		action := "token.create"
		if kind != KindAPI {
			action = "auth.login"
		}
		return audit.Record(ctx, tx, action, user, map[string]any{"token_id": t.ID, "kind": kind, "name": name})
	})
	if err != nil {
		return "", Token{}, err
	}
	return raw, t, nil
}

// Authenticate resolves a raw token to its caller. Revoked and expired
// tokens, and tokens of disabled users, are refused.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, tokenPrefix) {
		return Principal{}, errkind.New(errkind.Unauthorized, "invalid token")
	}
	h := hashToken(raw)
	var p Principal
	var role, kind, storedHash string
	var disabled bool
	var exp, revoked, lastUsed sql.NullInt64
	err := s.db.QueryRowContext(ctx, `
		SELECT t.id, t.kind, t.hash, t.expires_at, t.revoked_at, t.last_used_at, u.id, u.name, u.role, u.disabled
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = ?`, h).Scan(&p.TokenID, &kind, &storedHash, &exp, &revoked, &lastUsed, &p.UserID, &p.User, &role, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errkind.New(errkind.Unauthorized, "invalid token")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(storedHash), []byte(h)) != 1 {
		return Principal{}, errkind.New(errkind.Unauthorized, "invalid token")
	}
	now := s.now()
	switch {
	case revoked.Valid:
		return Principal{}, errkind.New(errkind.Unauthorized, "token has been revoked")
	case exp.Valid && now.UnixMilli() >= exp.Int64:
		return Principal{}, errkind.New(errkind.Unauthorized, "token has expired; log in again")
	case disabled:
		return Principal{}, errkind.New(errkind.Unauthorized, "user %q is disabled", p.User)
	}
	p.Role, p.Kind = Role(role), TokenKind(kind)
	// Record use at most once a minute per token: reads stay reads.
	if !lastUsed.Valid || now.UnixMilli()-lastUsed.Int64 > 60_000 {
		if _, err := s.db.ExecContext(ctx, "UPDATE tokens SET last_used_at = ? WHERE id = ?", now.UnixMilli(), p.TokenID); err != nil {
			s.log.Warn("record token use", "token_id", p.TokenID, "err", err)
		}
	}
	return p, nil
}

// ListTokens lists a user's tokens (every user's when user is empty), newest
// first, without secrets. Expired and revoked tokens are included.
func (s *Service) ListTokens(ctx context.Context, user string) ([]Token, error) {
	q := `SELECT t.id, u.name, t.kind, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id`
	var args []any
	if user != "" {
		q += " WHERE u.name = ?"
		args = append(args, user)
	}
	q += " ORDER BY t.id DESC"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var kind string
		var created int64
		var exp, used, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.User, &kind, &t.Name, &created, &exp, &used, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Kind, t.CreatedAt = TokenKind(kind), sqldb.Time(created)
		t.ExpiresAt, t.LastUsedAt, t.RevokedAt = sqldb.NullTime(exp), sqldb.NullTime(used), sqldb.NullTime(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes token id. A caller may revoke their own tokens; one
// with UserManage may revoke anyone's.
func (s *Service) RevokeToken(ctx context.Context, by Principal, id int64) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var owner string
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT u.name, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?", id).Scan(&owner, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.NotFound, "token %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		if owner != by.User && !by.Can(UserManage) {
			// Same answer as a missing token: do not reveal others' token ids.
			return errkind.New(errkind.NotFound, "token %d not found", id)
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ?", sqldb.Now(), id); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		return audit.Record(ctx, tx, "token.revoke", owner, map[string]any{"token_id": id})
	})
}

// Logout revokes the token the caller authenticated with.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	return s.RevokeToken(ctx, p, p.TokenID)
}

// PruneTokens deletes tokens that expired or were revoked more than keep
// ago (every login and web session leaves one), and returns how many. The
// audit log keeps their creation and revocation.
func (s *Service) PruneTokens(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := s.now().Add(-keep).UnixMilli()
	res, err := s.db.ExecContext(ctx, "DELETE FROM tokens WHERE revoked_at < ? OR expires_at < ?", cutoff, cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	return res.RowsAffected()
}

// RunPruner prunes tokens every interval until ctx ends.
func (s *Service) RunPruner(ctx context.Context, every, keep time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.PruneTokens(ctx, keep); err != nil && ctx.Err() == nil {
			s.log.Warn("prune tokens", "err", err)
		} else if n > 0 {
			s.log.Info("pruned old tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
