package flows

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"

	"github.com/dbfleet/dbfleet/internal/executor"
)

// blockDef is one kind of workflow step: how its element is read and how
// it runs.
type blockDef struct {
	name  string
	title string // default step title
	parse func(p *parser, n *node, st *Step) any
	run   func(s *Service, ctx context.Context, r *stepRun) (outcome, error)
}

// blocks is the one list of built-in blocks.
func blocks() []blockDef {
	return []blockDef{
		{name: "review", title: "SQL review", parse: parseReview, run: (*Service).runReview},
		{name: "approve", title: "Approval", parse: parseApprove, run: (*Service).runApprove},
		{name: "wait", title: "Wait for the window", parse: parseWait, run: (*Service).runWait},
		{name: "execute", title: "Execute", parse: parseExecute, run: (*Service).runExecute},
		{name: "create-database", title: "Create database", parse: parseCreateDatabase, run: (*Service).runCreateDatabase},
		{name: "create-account", title: "Create account", parse: parseCreateAccount, run: (*Service).runCreateAccount},
		{name: "export", title: "Export to CSV", parse: parseExport, run: (*Service).runExport},
		{name: "notify", title: "Notify", parse: parseNotify, run: (*Service).runNotify},
	}
}

func blockByName(name string) (blockDef, bool) {
	for _, b := range blocks() {
		if b.name == name {
			return b, true
		}
	}
	return blockDef{}, false
}

// BlockNames lists the built-in blocks.
func BlockNames() []string {
	var out []string
	for _, b := range blocks() {
		out = append(out, b.name)
	}
	return out
}

// ---- review ----

type reviewCfg struct {
	target, sql string
	failOn      string // error, warning, never
	kind        string // ddl, dml or "": what the ticket may contain
	// confirm is the bool field by which the requester confirms the
	// statements that destroy data (DROP, TRUNCATE...); without it such
	// a script fails the review.
	confirm string
	// rows is the number field where the requester declares how many
	// rows the script changes: the review sets the EXPLAIN estimate
	// beside it.
	rows string
}

func parseReview(p *parser, n *node, st *Step) any {
	c := &reviewCfg{
		target: p.fieldRef(n, "target", true, pickerTypes...),
		sql:    p.fieldRef(n, "sql", true, TypeSQL),
		failOn: n.Str("fail-on", "error"),
		kind:   n.Str("kind", ""),
	}
	if !slices.Contains([]string{"", "ddl", "dml"}, c.kind) {
		p.errf(n.AttrPos("kind"), "<review kind=%q>: want ddl (schema changes) or dml (data changes)", c.kind)
	}
	if !slices.Contains([]string{"error", "warning", "never"}, c.failOn) {
		p.errf(n.AttrPos("fail-on"), "<review fail-on=%q>: want error, warning or never", c.failOn)
	}
	if _, ok := n.Get("declared-rows"); ok {
		c.rows = p.fieldRef(n, "declared-rows", false, TypeNumber)
	}
	if _, ok := n.Get("confirm-destroy"); ok {
		c.confirm = p.fieldRef(n, "confirm-destroy", false, TypeBool)
		if c.kind == "dml" {
			p.errf(n.AttrPos("confirm-destroy"), "<review kind=\"dml\" confirm-destroy=...>: a data change never drops or truncates; remove confirm-destroy or use kind=\"ddl\"")
		}
	}
	return c
}

// ---- approve ----

// approverSet says who approves a step and how many must.
type approverSet struct {
	Audience
	count    int
	sequence bool
	auto     bool
}

type policy struct {
	envs []string
	set  approverSet
	pos  Pos
}

type approveCfg struct {
	base     approverSet
	policies []policy
	notify   string
	linkTTL  time.Duration
}

func (p *parser) approverSet(n *node, def approverSet) approverSet {
	s := def
	if _, ok := n.Get("roles"); ok || hasAttr(n, "users") {
		s.Audience = p.audience(n)
	}
	s.count = p.Int(n, "count", def.count, 1, 20)
	switch order := n.Str("order", ""); order {
	case "":
	case "any":
		s.sequence = false
	case "sequence":
		s.sequence = true
	default:
		p.errf(n.AttrPos("order"), "<%s order=%q>: want any or sequence", n.Name, order)
	}
	s.auto = p.Bool(n, "auto", false)
	if s.auto {
		return s
	}
	if len(s.Roles) == 0 && len(s.Users) == 0 && !hasAttr(n, "roles") && !hasAttr(n, "users") {
		p.errf(n.Pos, "<%s>: say who approves: roles=\"dba\" and/or users=\"alice,bob\" (or auto=\"true\")", n.Name)
	}
	if s.sequence {
		if len(s.Users) == 0 || len(s.Roles) > 0 {
			p.errf(n.AttrPos("order"), "<%s order=\"sequence\">: a sequence is of named users (users=\"a,b\"), one after the other", n.Name)
		}
		s.count = len(s.Users)
	}
	if len(s.Roles) == 0 && s.count > len(s.Users) && len(s.Users) > 0 {
		p.errf(n.AttrPos("count"), "<%s count=%d>: only %d user(s) named", n.Name, s.count, len(s.Users))
	}
	return s
}

func hasAttr(n *node, name string) bool {
	for _, a := range n.Attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

func parseApprove(p *parser, n *node, st *Step) any {
	c := &approveCfg{notify: n.Str("notify", ""), linkTTL: p.Duration(n, "link-ttl", 24*time.Hour)}
	c.base = p.approverSet(n, approverSet{count: 1})
	seen := map[string]Pos{}
	for _, ch := range n.Children {
		if ch.Name != "policy" {
			p.errf(ch.Pos, "<approve>: unknown element <%s> (want policy)", ch.Name)
			continue
		}
		pol := policy{pos: ch.Pos, envs: list(ch.Str("env", ""))}
		if len(pol.envs) == 0 {
			p.errf(ch.Pos, "<policy>: attribute env is required (e.g. env=\"test,dev\")")
		}
		for _, e := range pol.envs {
			if prev, dup := seen[e]; dup {
				p.errf(ch.AttrPos("env"), "<policy env=%q>: env %s already has a policy (line %d)", ch.Str("env", ""), e, prev.Line)
			}
			seen[e] = ch.Pos
		}
		def := c.base
		def.auto = false
		pol.set = p.approverSet(ch, def)
		p.CheckAttrs(ch)
		c.policies = append(c.policies, pol)
	}
	return c
}

// forEnv returns the approvers for a target environment and the policy
// that chose them ("" for the block's own attributes).
func (c *approveCfg) forEnv(env string) (approverSet, string) {
	for _, pol := range c.policies {
		if slices.Contains(pol.envs, env) {
			return pol.set, "policy for env " + env
		}
	}
	return c.base, ""
}

// ---- wait ----

type waitCfg struct {
	from, to time.Duration // window start and end as time of day; to < from wraps midnight
	window   bool
	loc      *time.Location
	until    string // a datetime field: not before
}

var windowRE = regexp.MustCompile(`^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$`)

func parseWait(p *parser, n *node, st *Step) any {
	c := &waitCfg{loc: time.UTC}
	if a, ok := n.Get("window"); ok {
		m := windowRE.FindStringSubmatch(strings.TrimSpace(a.Value))
		var h1, m1, h2, m2 int
		if m != nil {
			fmt.Sscan(m[1], &h1)
			fmt.Sscan(m[2], &m1)
			fmt.Sscan(m[3], &h2)
			fmt.Sscan(m[4], &m2)
		}
		if m == nil || h1 > 23 || h2 > 24 || m1 > 59 || m2 > 59 || (h2 == 24 && m2 != 0) {
			p.errf(a.Pos, "<wait window=%q>: want HH:MM-HH:MM, e.g. 02:00-05:00", a.Value)
		} else {
			c.window = true
			c.from = time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute
			c.to = time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute
			if c.from == c.to {
				p.errf(a.Pos, "<wait window=%q>: the window is empty", a.Value)
			}
		}
	}
	if a, ok := n.Get("timezone"); ok {
		loc, err := time.LoadLocation(strings.TrimSpace(a.Value))
		if err != nil {
			p.errf(a.Pos, "<wait timezone=%q>: unknown time zone (want e.g. UTC, Asia/Shanghai)", a.Value)
		} else {
			c.loc = loc
		}
	}
	if hasAttr(n, "until") {
		c.until = p.fieldRef(n, "until", true, TypeDatetime)
	}
	if !c.window && c.until == "" && !hasAttr(n, "window") {
		p.errf(n.Pos, "<wait>: give window=\"HH:MM-HH:MM\" and/or until=\"DATETIME_FIELD\"")
	}
	return c
}

// next returns when the step may go on: now when allowed, else the first
// moment after now that is.
func (c *waitCfg) next(now time.Time, until time.Time) time.Time {
	t := now
	if !until.IsZero() && until.After(t) {
		t = until
	}
	if !c.window {
		return t
	}
	lt := t.In(c.loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, c.loc)
	for i := -1; i <= 1; i++ {
		d := day.AddDate(0, 0, i)
		start := d.Add(c.from)
		end := d.Add(c.to)
		if c.to < c.from {
			end = d.AddDate(0, 0, 1).Add(c.to)
		}
		if !lt.Before(start) && lt.Before(end) {
			return t
		}
	}
	// Next opening.
	for i := 0; i <= 1; i++ {
		start := day.AddDate(0, 0, i).Add(c.from)
		if start.After(lt) {
			return start
		}
	}
	return day.AddDate(0, 0, 2).Add(c.from)
}

// ---- execute ----

type executeCfg struct{ target, sql string }

func parseExecute(p *parser, n *node, st *Step) any {
	return &executeCfg{
		target: p.fieldRef(n, "target", true, pickerTypes...),
		sql:    p.fieldRef(n, "sql", true, TypeSQL),
	}
}

// ---- create-database ----

type createDatabaseCfg struct {
	target, name, owner string
	charset, collation  string
}

var charsetRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

func parseCreateDatabase(p *parser, n *node, st *Step) any {
	c := &createDatabaseCfg{
		target:    p.fieldRef(n, "target", true, TypeInstance, TypeCluster, TypeDatabase),
		name:      p.fieldRef(n, "name", true, TypeText),
		charset:   n.Str("charset", ""),
		collation: n.Str("collation", ""),
	}
	if hasAttr(n, "owner") {
		c.owner = p.fieldRef(n, "owner", true, TypeText)
	}
	for _, a := range []struct{ name, v string }{{"charset", c.charset}, {"collation", c.collation}} {
		if a.v != "" && !charsetRE.MatchString(a.v) {
			p.errf(n.AttrPos(a.name), "<create-database %s=%q>: want letters, digits and '_'", a.name, a.v)
		}
	}
	return c
}

// ---- create-account ----

type createAccountCfg struct {
	target, user, database, privileges string
	host                               string
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9.%_:-]{1,255}$`)

func parseCreateAccount(p *parser, n *node, st *Step) any {
	c := &createAccountCfg{
		target:     p.fieldRef(n, "target", true, TypeInstance, TypeCluster, TypeDatabase),
		user:       p.fieldRef(n, "user", true, TypeText),
		privileges: p.fieldRef(n, "privileges", true, TypeEnum),
		host:       n.Str("host", "%"),
	}
	if hasAttr(n, "database") {
		c.database = p.fieldRef(n, "database", true, TypeText, TypeDatabase)
	} else if f := p.flow.Field(c.target); f == nil || f.Type != TypeDatabase {
		p.errf(n.Pos, "<create-account>: say which database the grants are on: database=\"FIELD\" (or use a database target)")
	}
	if !hostRE.MatchString(c.host) {
		p.errf(n.AttrPos("host"), "<create-account host=%q>: want a host name, address or pattern such as %% or 10.0.%%", c.host)
	}
	if f := p.flow.Field(c.privileges); f != nil {
		if !f.Multiple {
			p.errf(n.AttrPos("privileges"), "<create-account privileges=%q>: the field must be an enum with multiple=\"true\"", c.privileges)
		}
		for _, o := range f.Options {
			v := strings.ToUpper(o.Value)
			if !slices.Contains(executor.MySQLPrivileges, v) && !slices.Contains(executor.PostgresPrivileges, v) {
				p.errf(f.Pos, "<field name=%q>: option %q is not a grantable privilege (MariaDB/MySQL: %s; PostgreSQL: %s)",
					f.Name, o.Value, strings.Join(executor.MySQLPrivileges, ", "), strings.Join(executor.PostgresPrivileges, ", "))
			}
		}
	}
	return c
}

// ---- export ----

type exportCfg struct {
	target, sql string
	maxRows     int
	maxBytes    int
	filename    string
}

var filenameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func parseExport(p *parser, n *node, st *Step) any {
	c := &exportCfg{
		target:   p.fieldRef(n, "target", true, pickerTypes...),
		sql:      p.fieldRef(n, "sql", true, TypeSQL),
		maxRows:  p.Int(n, "max-rows", 100000, 1, 5000000),
		maxBytes: p.Int(n, "max-bytes", maxExportBytes, 1, maxExportBytes),
		filename: n.Str("filename", ""),
	}
	if c.filename != "" && (!filenameRE.MatchString(c.filename) || !strings.HasSuffix(c.filename, ".csv")) {
		p.errf(n.AttrPos("filename"), "<export filename=%q>: want a plain file name ending in .csv", c.filename)
	}
	return c
}

// ---- notify ----

type notifyCfg struct {
	channel     string
	title, text *Template
	// optional: a message that cannot be sent is noted, not a failure.
	optional bool
}

func parseNotify(p *parser, n *node, st *Step) any {
	c := &notifyCfg{channel: n.Str("channel", ""), optional: p.Bool(n, "optional", false)}
	if c.channel == "" {
		p.errf(n.Pos, "<notify>: attribute channel is required (a channel named under notify.channels in the configuration)")
	}
	tmpl := func(src string, pos Pos) *Template {
		t, probs := compileTemplate(src, pos, p.scope)
		for _, pm := range probs {
			p.errf(pm.pos, "<notify>: %s", pm.msg)
		}
		return t
	}
	title := "{{ticket.title}}: {{ticket.state}}"
	titlePos := n.Pos
	if a, ok := n.Get("title"); ok {
		title, titlePos = a.Value, a.Pos
	}
	c.title = tmpl(title, titlePos)
	switch a, ok := n.Get("text"); {
	case ok:
		c.text = tmpl(a.Value, a.Pos)
	case n.Text != "":
		c.text = tmpl(n.Text, n.TextPos)
	default:
		c.text = tmpl("Ticket #{{ticket.id}} ({{ticket.flow}}) is {{ticket.state}}.", n.Pos)
	}
	for _, ch := range n.Children {
		p.errf(ch.Pos, "<notify>: unexpected element <%s> (the message is the element's text)", ch.Name)
	}
	return c
}

// roleRank orders roles for comparisons.
func roleRank(r auth.Role) int { return slices.Index(auth.Roles, r) }
