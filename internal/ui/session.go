package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

const (
	// sessionCookie holds the raw session token (auth.KindSession).
	sessionCookie = "dbfleet_session"
	// loginCSRFCookie is the double-submit cookie of the login form, which
	// has no session to derive a token from.
	loginCSRFCookie = "dbfleet_login_csrf"
	// csrfField is the hidden form field every POST form carries.
	csrfField = "csrf"
)

// csrfToken derives a session's CSRF token: base64url(HMAC-SHA256(key =
// session token, "csrf")). It is stable for the session and useless
// without the cookie, which scripts of other sites cannot read.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF compares in constant time; an empty token never matches.
func validCSRF(want, got string) bool {
	return want != "" && got != "" && hmac.Equal([]byte(want), []byte(got))
}

// session authenticates the session cookie. When there is no valid session
// it answers the request itself (a redirect to the login page, or 401 for
// script fetches) and returns false.
func (u *site) session(w http.ResponseWriter, r *http.Request) (*request, bool) {
	c, err := r.Cookie(sessionCookie)
	if err == nil && c.Value != "" {
		p, err := u.Auth.Authenticate(r.Context(), c.Value)
		switch {
		case err == nil && p.Kind == auth.KindSession:
			return &request{p: p, csrf: csrfToken(c.Value)}, true
		case err == nil || errkind.Is(err, errkind.Unauthorized):
			u.clearSession(w) // expired, revoked, disabled user, or not a session token
		default:
			u.fail(w, r, nil, err)
			return nil, false
		}
	}
	if r.URL.Query().Has("fragment") || r.Header.Get("X-Requested-With") != "" {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return nil, false
	}
	to := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		to += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil, false
}

func (u *site) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.SecureCookies})
}

// safeNext returns where to go after login: next when it is a path on this
// site, else "/". It refuses absolute and scheme-relative URLs ("//evil",
// "/\evil") so the login page cannot be used as an open redirect.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t\x00") {
		return "/"
	}
	p, err := url.Parse(next)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || !strings.HasPrefix(p.Path, "/") {
		return "/"
	}
	if p.Path == "/login" || p.Path == "/logout" {
		return "/"
	}
	return next
}

type loginData struct {
	Next string
}

// loginPage shows the login form, or sends a logged-in user on.
func (u *site) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if p, err := u.Auth.Authenticate(r.Context(), c.Value); err == nil && p.Kind == auth.KindSession {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	f := newForm()
	u.renderLogin(w, r, http.StatusOK, f, next)
}

// renderLogin shows the login form with a fresh double-submit token.
func (u *site) renderLogin(w http.ResponseWriter, r *http.Request, status int, f *form, next string) {
	tok := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: u.SecureCookies, MaxAge: 3600})
	v := u.view(nil, "Log in", "login")
	v.CSRF, v.Form, v.Data = tok, f, loginData{Next: next}
	u.render(w, r, status, "login.html", v)
}

// login checks the form and starts a session.
func (u *site) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBody)
	r.ParseForm()
	f := formFrom(r, "password")
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !validCSRF(c.Value, r.PostFormValue(csrfField)) {
		u.log.Warn("refused a login without a valid CSRF token", "addr", httpx.ClientAddr(r))
		f.Error = "The login form expired or cookies are blocked. Please try again (cookies must be enabled)."
		u.renderLogin(w, r, http.StatusForbidden, f, next)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("user"))
	password := r.PostFormValue("password")
	if name == "" {
		f.Invalid("user", "Enter your user name.")
	}
	if password == "" {
		f.Invalid("password", "Enter your password.")
	}
	if f.Failed() {
		u.renderLogin(w, r, http.StatusBadRequest, f, next)
		return
	}
	raw, tok, err := u.Auth.Login(r.Context(), name, password, httpx.ClientAddr(r), auth.KindSession)
	if err != nil {
		status := u.formError(r, f, err)
		u.renderLogin(w, r, status, f, next)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: raw, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.SecureCookies, Expires: tok.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Path: "/login", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: u.SecureCookies})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout revokes the session token and forgets the cookie.
func (u *site) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := u.Auth.Logout(r.Context(), rq.p); err != nil {
		return err
	}
	u.clearSession(w)
	u.setFlash(w, "ok", "You are logged out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
