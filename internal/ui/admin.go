package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// ---- Users (auth.UserManage) ----

type usersData struct {
	Users []auth.User
}

func (u *site) users(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm()
	f.Set("role", string(auth.Viewer))
	return u.usersPage(w, r, rq, http.StatusOK, f)
}

func (u *site) usersPage(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form) error {
	list, err := u.Auth.ListUsers(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Users", "users")
	v.Form, v.Data = f, usersData{Users: list}
	u.render(w, r, status, "users.html", v)
	return nil
}

func (u *site) addUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r, "password")
	name := strings.TrimSpace(f.Get("name"))
	role, err := auth.ParseRole(f.Get("role"))
	if name == "" {
		f.Invalid("name", "A user needs a name.")
	}
	if err != nil {
		f.Invalid("role", "Choose a role.")
	}
	if r.PostFormValue("password") == "" {
		f.Invalid("password", "Set an initial password (at least 8 characters).")
	}
	if f.Failed() {
		return u.usersPage(w, r, rq, http.StatusBadRequest, f)
	}
	if _, err := u.Auth.AddUser(r.Context(), name, role, r.PostFormValue("password")); err != nil {
		return u.usersPage(w, r, rq, u.formError(r, f, err), f)
	}
	return u.redirect(w, r, "/users", "User "+name+" added with role "+string(role)+".")
}

// userChange runs a change to one user and returns to the list, with the
// service's message as an error flash when it refuses (e.g. demoting the
// last admin).
func (u *site) userChange(w http.ResponseWriter, r *http.Request, rq *request, done string, change func(name string) error) error {
	name := r.PathValue("name")
	if err := change(name); err != nil {
		f := newForm()
		f.Error = u.message(r, err)
		return u.usersPage(w, r, rq, httpx.Status(err), f)
	}
	return u.redirect(w, r, "/users", strings.ReplaceAll(done, "NAME", name))
}

func (u *site) setRole(w http.ResponseWriter, r *http.Request, rq *request) error {
	role, err := auth.ParseRole(r.PostFormValue("role"))
	if err != nil {
		return err
	}
	return u.userChange(w, r, rq, "NAME is now "+string(role)+".", func(name string) error {
		_, err := u.Auth.UpdateUser(r.Context(), rq.p, httpx.ClientAddr(r), name, auth.UserChange{Role: &role})
		return err
	})
}

func (u *site) disableUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.userChange(w, r, rq, "NAME is disabled; their sessions and tokens stop working.", func(name string) error {
		yes := true
		_, err := u.Auth.UpdateUser(r.Context(), rq.p, httpx.ClientAddr(r), name, auth.UserChange{Disabled: &yes})
		return err
	})
}

func (u *site) enableUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.userChange(w, r, rq, "NAME is enabled.", func(name string) error {
		no := false
		_, err := u.Auth.UpdateUser(r.Context(), rq.p, httpx.ClientAddr(r), name, auth.UserChange{Disabled: &no})
		return err
	})
}

func (u *site) resetPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.userChange(w, r, rq, "Password of NAME changed.", func(name string) error {
		pw := r.PostFormValue("password")
		_, err := u.Auth.UpdateUser(r.Context(), rq.p, httpx.ClientAddr(r), name, auth.UserChange{Password: &pw})
		return err
	})
}

// ---- Account: own password and tokens ----

type accountData struct {
	Permissions []auth.Permission
	Tokens      []tokenRow
	All         bool
	Hidden      int
	// NewToken is the secret of a token just created, shown this once.
	NewToken     string
	NewTokenName string
	TTLs         []ttlOption
}

type tokenRow struct {
	auth.Token
	Current bool
	State   string // active, expired, revoked
}

type ttlOption struct{ Value, Label string }

var tokenTTLs = []ttlOption{
	{"720h", "30 days"}, {"2160h", "90 days"}, {"8760h", "1 year"}, {"", "never expires"},
}

func (u *site) account(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm()
	f.Set("ttl", "2160h")
	return u.accountPage(w, r, rq, http.StatusOK, f, accountData{All: r.URL.Query().Get("all") == "1"})
}

func (u *site) accountPage(w http.ResponseWriter, r *http.Request, rq *request, status int, f *form, d accountData) error {
	toks, err := u.Auth.ListTokens(r.Context(), rq.p.User)
	if err != nil {
		return err
	}
	now := u.now()
	for _, t := range toks {
		row := tokenRow{Token: t, Current: t.ID == rq.p.TokenID, State: "active"}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
			row.State = "expired"
		}
		if row.State != "active" && !d.All {
			d.Hidden++
			continue
		}
		d.Tokens = append(d.Tokens, row)
	}
	d.Permissions, d.TTLs = auth.PermissionsOf(rq.p.Role), tokenTTLs
	v := u.view(rq, "Your account", "account")
	v.Form, v.Data = f, d
	u.render(w, r, status, "account.html", v)
	return nil
}

func (u *site) changePassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm()
	current, pw, again := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("password2")
	if current == "" {
		f.Invalid("current", "Enter your current password.")
	}
	if pw == "" {
		f.Invalid("password", "Enter a new password.")
	} else if pw != again {
		f.Invalid("password2", "The two passwords differ.")
	}
	if f.Failed() {
		return u.accountPage(w, r, rq, http.StatusBadRequest, f, accountData{})
	}
	_, err := u.Auth.UpdateUser(r.Context(), rq.p, httpx.ClientAddr(r), rq.p.User, auth.UserChange{Password: &pw, CurrentPassword: &current})
	switch {
	case errkind.Is(err, errkind.Forbidden):
		f.Invalid("current", "That is not your current password.")
	case errkind.Is(err, errkind.TooMany):
		f.Invalid("current", u.message(r, err))
	case err != nil:
		f.Invalid("password", u.message(r, err))
	}
	if err != nil {
		return u.accountPage(w, r, rq, httpx.Status(err), f, accountData{})
	}
	return u.redirect(w, r, "/account", "Your password is changed.")
}

// createToken issues an API token and shows its secret on this response
// only (never through a redirect or a cookie).
func (u *site) createToken(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	name := strings.TrimSpace(f.Get("name"))
	var ttl time.Duration
	if s := f.Get("ttl"); s != "" {
		var err error
		if ttl, err = time.ParseDuration(s); err != nil || ttl < 0 {
			f.Invalid("ttl", "Choose how long the token lives.")
		}
	}
	if name == "" {
		f.Invalid("name", "Name the token after what will use it (e.g. ci-deploy).")
	}
	if f.Failed() {
		return u.accountPage(w, r, rq, http.StatusBadRequest, f, accountData{})
	}
	raw, _, err := u.Auth.CreateToken(r.Context(), rq.p.User, name, ttl)
	if err != nil {
		f.Invalid("name", u.message(r, err))
		return u.accountPage(w, r, rq, httpx.Status(err), f, accountData{})
	}
	f = newForm()
	f.Set("ttl", "2160h")
	return u.accountPage(w, r, rq, http.StatusCreated, f, accountData{NewToken: raw, NewTokenName: name})
}

func (u *site) revokeToken(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errkind.New(errkind.NotFound, "token %q not found", r.PathValue("id"))
	}
	if err := u.Auth.RevokeToken(r.Context(), rq.p, id); err != nil {
		return err
	}
	if id == rq.p.TokenID {
		u.clearSession(w)
		u.setFlash(w, "ok", "You revoked this session's token and are logged out.")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return u.redirect(w, r, "/account#tokens", "Token "+strconv.FormatInt(id, 10)+" revoked.")
}

// ---- Audit log (auth.AuditRead) ----

type auditData struct {
	Entries []audit.Entry
	Limit   int
	Limits  []int
	More    bool
	Actions []string
}

// auditActions are the action prefixes offered as filter suggestions.
var auditActions = []string{"auth.", "user.", "token.", "host.", "cluster.", "instance.", "group.", "shardmap."}

func (u *site) auditLog(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	f := newForm()
	for _, k := range []string{"user", "action", "target", "limit"} {
		f.Set(k, strings.TrimSpace(q.Get(k)))
	}
	limit := 100
	if n, err := strconv.Atoi(f.Get("limit")); err == nil && n > 0 {
		limit = min(n, 10000)
	}
	f.Set("limit", strconv.Itoa(limit))
	entries, err := u.Audit.List(r.Context(), audit.Filter{User: f.Get("user"), Action: f.Get("action"), Target: f.Get("target"), Limit: limit + 1})
	if err != nil {
		return err
	}
	d := auditData{Limit: limit, Limits: []int{100, 500, 1000, 5000}, Actions: auditActions}
	if len(entries) > limit {
		entries, d.More = entries[:limit], true
	}
	d.Entries = entries
	v := u.view(rq, "Audit log", "audit")
	v.Form, v.Data = f, d
	u.render(w, r, http.StatusOK, "audit.html", v)
	return nil
}
