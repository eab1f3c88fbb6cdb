package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/bytesize"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/web"
)

// Templates: templates/layout.html defines "layout" (the page frame),
// templates/partials.html the shared pieces, and every other file one page
// that defines "content". Each page is parsed with the layout and partials
// into its own set, so every page can define "content".
const (
	layoutFile   = "layout.html"
	partialsFile = "partials.html"
)

type pageTemplate struct {
	name string
	t    *template.Template
}

func parseTemplates(funcs template.FuncMap) (map[string]*pageTemplate, error) {
	files, err := fs.Glob(web.FS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	pages := map[string]*pageTemplate{}
	for _, f := range files {
		name := path.Base(f)
		if name == layoutFile || name == partialsFile {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(web.FS,
			"templates/"+layoutFile, "templates/"+partialsFile, f)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("template %s defines no \"content\"", name)
		}
		pages[name] = &pageTemplate{name: name, t: t}
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("no page templates embedded")
	}
	return pages, nil
}

// staticFile is one embedded asset with its content hash.
type staticFile struct {
	body  []byte
	hash  string
	ctype string
}

func loadStatic() (map[string]staticFile, error) {
	out := map[string]staticFile{}
	err := fs.WalkDir(web.FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // do not depend on the host's mime.types
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "static/")] = staticFile{body: b, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	return out, nil
}

// serveStatic serves embedded assets. Pages link them with ?v=HASH (the
// asset template function), so a versioned URL never changes content and
// is cached for a year; an unversioned one for five minutes, revalidated
// by ETag.
func (u *site) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := u.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// view is what every page template gets as dot.
type view struct {
	Title   string
	Section string // the nav entry to highlight
	Me      *auth.Principal
	CSRF    string
	Flash   *flash
	Version string
	Now     time.Time
	// Form holds entered values and errors of the page's form, if any.
	Form *form
	// Data is the page's own content.
	Data any
}

// Can reports whether the user may do perm (a permission name such as
// "inventory.write"): templates use it to hide what the role cannot do.
func (v *view) Can(perm string) bool {
	return v.Me != nil && v.Me.Can(auth.Permission(perm))
}

func (u *site) view(rq *request, title, section string) *view {
	v := &view{Title: title, Section: section, Version: u.Version}
	if rq != nil {
		p := rq.p
		v.Me, v.CSRF = &p, rq.csrf
	}
	return v
}

// form carries what a user entered and what was wrong with it.
type form struct {
	values map[string][]string
	errors map[string]string
	// Error is the message for the form as a whole (usually from a
	// service).
	Error string
}

func newForm() *form { return &form{values: map[string][]string{}, errors: map[string]string{}} }

// formFrom copies the submitted fields, except those named in secret
// (passwords are never sent back to the browser).
func formFrom(r *http.Request, secret ...string) *form {
	f := newForm()
	for k, vs := range r.PostForm {
		if k == csrfField || slices.Contains(secret, k) {
			continue
		}
		f.values[k] = vs
	}
	return f
}

// Get returns the (first) value of field k.
func (f *form) Get(k string) string {
	if f == nil || len(f.values[k]) == 0 {
		return ""
	}
	return f.values[k][0]
}

// Has reports whether field k holds value v (selects, multi-selects).
func (f *form) Has(k, v string) bool {
	if f == nil {
		return false
	}
	return slices.Contains(f.values[k], v)
}

// Set sets a field's value (defaults of a fresh form).
func (f *form) Set(k, v string) { f.values[k] = []string{v} }

// Err returns the error of field k.
func (f *form) Err(k string) string {
	if f == nil {
		return ""
	}
	return f.errors[k]
}

// Invalid records an error for field k.
func (f *form) Invalid(k, msg string) {
	if _, ok := f.errors[k]; !ok {
		f.errors[k] = msg
	}
}

// Failed reports whether any field has an error.
func (f *form) Failed() bool { return f != nil && (len(f.errors) > 0 || f.Error != "") }

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // ok or error
	Message string
}

const flashCookie = "dbfleet_flash"

func (u *site) setFlash(w http.ResponseWriter, kind, msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + "\n" + msg)),
		Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: u.SecureCookies, MaxAge: 60,
	})
}

// takeFlash reads the flash message and clears it.
func (u *site) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: u.SecureCookies})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(b), "\n")
	if !ok || (kind != "ok" && kind != "error") || msg == "" {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// redirect ends a successful POST: 303 to the next page with a message.
// withWarnings appends what a service accepted with a warning to a
// success message.
func withWarnings(msg string, warns []string) string {
	for _, w := range warns {
		msg += " Warning: " + w + "."
	}
	return msg
}

func (u *site) redirect(w http.ResponseWriter, r *http.Request, to, msg string) error {
	if msg != "" {
		u.setFlash(w, "ok", msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// render executes a page into a buffer first, so a template error never
// sends half a page.
func (u *site) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := u.pages[page]
	if !ok {
		u.log.Error("render: no such page template", "page", page)
		http.Error(w, "internal error: missing page template; see the server log", http.StatusInternalServerError)
		return
	}
	if v.Flash == nil {
		v.Flash = u.takeFlash(w, r)
	}
	v.Now = u.now()
	var buf bytes.Buffer
	if err := t.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error rendering the page; see the server log", http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

// fragment renders one named template of a page set (for live refresh).
func (u *site) fragment(w http.ResponseWriter, page, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[page].t.ExecuteTemplate(&buf, name, data); err != nil {
		u.log.Error("render fragment", "page", page, "fragment", name, "err", err)
		http.Error(w, "internal error rendering the fragment; see the server log", http.StatusInternalServerError)
		return
	}
	writeHTML(w, http.StatusOK, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // pages carry CSRF tokens and live state
	w.WriteHeader(status)
	w.Write(body)
}

// message is what a user may read of err: the message of a classified
// error (services never put secrets in them), or a reference to the server
// log for anything unexpected.
func (u *site) message(r *http.Request, err error) string {
	return httpx.Message(u.log, r, err)
}

// errorData is the content of the error page.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// fail shows err as an error page.
func (u *site) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	status := httpx.Status(err)
	heading := http.StatusText(status)
	switch errkind.Of(err) {
	case errkind.Forbidden:
		heading = "Not allowed"
	case errkind.NotFound:
		heading = "Not found"
	}
	v := u.view(rq, heading, "")
	v.Data = errorData{Status: status, Heading: heading, Message: u.message(r, err)}
	u.render(w, r, status, "error.html", v)
}

// formError re-renders a form after a failed change: the service's message
// on the form, and the status the error maps to.
func (u *site) formError(r *http.Request, f *form, err error) int {
	f.Error = u.message(r, err)
	return httpx.Status(err)
}

func (u *site) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string {
			if f, ok := u.static[name]; ok {
				return "/static/" + name + "?v=" + f.hash
			}
			return "/static/" + name
		},
		"when":     when,
		"ago":      func(t time.Time) string { return ago(u.now(), t) },
		"size":     bytesize.Format,
		"duration": duration,
		"lag":      lag,
		"took":     func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"labels":   func(l inventory.Labels) string { return strings.ReplaceAll(l.String(), ",", ", ") },
		"detail":   detail,
		"mismatch": roleMismatch,
		"join":     strings.Join,
		"inc":      func(i int) int { return i + 1 },
		"lower":    strings.ToLower,
		"engines":  func() []engine.Kind { return engine.Known },
		"roles":    func() []auth.Role { return auth.Roles },
	}
}

// when formats an absolute time.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago formats how long before now t was.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// duration formats an uptime compactly: 3d 4h, 5h 12m, 42s.
func duration(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// lag formats replication lag; nil is unknown.
func lag(l *float64) string {
	if l == nil {
		return "-"
	}
	if *l == float64(int64(*l)) {
		return fmt.Sprintf("%ds", int64(*l))
	}
	return fmt.Sprintf("%.1fs", *l)
}

// detail renders an audit entry's detail as audit.Entry.DetailText does.
func detail(d map[string]any) string { return audit.Entry{Detail: d}.DetailText() }

// roleMismatch reports whether the role a reachable server reports
// contradicts the role the inventory declares for it.
func roleMismatch(in inventory.Instance) bool {
	st := in.Status
	if st == nil || !st.Up || in.Role == "" {
		return false
	}
	switch in.Role {
	case inventory.RolePrimary:
		return st.Role == engine.RoleReplica
	case inventory.RoleReplica:
		return st.Role != engine.RoleReplica
	}
	return false
}
