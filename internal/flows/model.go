package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/xmldoc"
)

// Kinds of flows.
const (
	KindTicket = "ticket" // submitted by a person through a form
	KindTask   = "task"   // started by its schedule (and by a DBA on demand)
)

// Flow is a parsed flow file: a form and a workflow of steps.
type Flow struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`
	// File is where it was loaded from; Hash identifies its content.
	File string `json:"file"`
	Hash string `json:"hash"`
	// Version is assigned by the catalog when the content is first seen;
	// 0 for a file only validated.
	Version int `json:"version"`
	// VersionID is the stored version's row id.
	VersionID int64  `json:"version_id,omitempty"`
	Source    []byte `json:"-"`

	// Schedule is a task's cron specification.
	Schedule string `json:"schedule,omitempty"`
	// RunAs names the user whose query grants and masks a scheduled run
	// (which has no requester) exports with.
	RunAs string `json:"run_as,omitempty"`
	// Submit and View: who may submit, and who sees SQL and results
	// besides the requester and the approvers.
	Submit Audience `json:"submit"`
	View   Audience `json:"view"`

	Fields []*Field `json:"fields"`
	// Target names the field whose value is the ticket's target (its env
	// drives policies); "" when the form has no picker.
	Target    string  `json:"target,omitempty"`
	Steps     []*Step `json:"steps"`
	OnFailure []*Step `json:"on_failure,omitempty"`
}

// Audience is a set of roles and named users.
type Audience struct {
	Roles []auth.Role `json:"roles,omitempty"`
	Users []string    `json:"users,omitempty"`
}

// Includes reports whether a user with role r is in the audience. Roles
// are ordered: naming "developer" includes dba and admin.
func (a Audience) Includes(user string, r auth.Role) bool {
	if slices.Contains(a.Users, user) {
		return true
	}
	rank := slices.Index(auth.Roles, r)
	for _, want := range a.Roles {
		if w := slices.Index(auth.Roles, want); rank >= 0 && w >= 0 && rank >= w {
			return true
		}
	}
	return false
}

func (a Audience) String() string {
	var parts []string
	for _, r := range a.Roles {
		parts = append(parts, "role "+string(r))
	}
	for _, u := range a.Users {
		parts = append(parts, "user "+u)
	}
	if len(parts) == 0 {
		return "nobody"
	}
	return strings.Join(parts, ", ")
}

// Field is one input of a flow's form.
type Field struct {
	Name        string        `json:"name"`
	Type        string        `json:"type"`
	Label       string        `json:"label"`
	Help        string        `json:"help,omitempty"`
	Placeholder string        `json:"placeholder,omitempty"`
	Required    bool          `json:"required"`
	Pattern     string        `json:"pattern,omitempty"`
	Min         *float64      `json:"min,omitempty"`
	Max         *float64      `json:"max,omitempty"`
	Default     string        `json:"default,omitempty"`
	Message     string        `json:"message,omitempty"`
	Options     []Option      `json:"options,omitempty"`
	Multiple    bool          `json:"multiple,omitempty"`
	Engines     []engine.Kind `json:"engines,omitempty"`
	Pos         Pos           `json:"-"`
	re          *regexp.Regexp
}

// Option is one choice of an enum field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Field types.
const (
	TypeText     = "text"
	TypeTextarea = "textarea"
	TypeNumber   = "number"
	TypeBool     = "bool"
	TypeEnum     = "enum"
	TypeDate     = "date"
	TypeTime     = "time"
	TypeDatetime = "datetime"
	TypeSQL      = "sql"
	TypeCluster  = "cluster"
	TypeInstance = "instance"
	TypeDatabase = "database"
)

// FieldTypes lists every field type.
var FieldTypes = []string{TypeText, TypeTextarea, TypeNumber, TypeBool, TypeEnum, TypeDate, TypeTime, TypeDatetime, TypeSQL, TypeCluster, TypeInstance, TypeDatabase}

// pickerTypes choose a target from the inventory.
var pickerTypes = []string{TypeCluster, TypeInstance, TypeDatabase}

// IsPicker reports whether the field picks a target from the inventory.
func (f *Field) IsPicker() bool { return slices.Contains(pickerTypes, f.Type) }

// Field returns the field named name, or nil.
func (fl *Flow) Field(name string) *Field {
	for _, f := range fl.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Step is one block of a workflow.
type Step struct {
	ID    string `json:"id"`
	Block string `json:"block"`
	Title string `json:"title"`
	When  *Expr  `json:"-"`
	// WhenSrc is the condition as written.
	WhenSrc string `json:"when,omitempty"`
	Pos     Pos    `json:"-"`
	// cfg is the block's parsed configuration.
	cfg any
}

var (
	flowName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	ident    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	stepID   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
)

// parser turns a node tree into a Flow, collecting every problem.
type parser struct {
	xmldoc.Reader
	flow  *Flow
	scope scope
}

func (p *parser) errf(pos Pos, format string, args ...any) { p.Errf(pos, format, args...) }

// Parse reads a flow file. It returns every problem found, each with its
// file:line:col; the flow is usable only when there are none.
func Parse(file string, src []byte) (*Flow, Problems) {
	root, perr := parseTree(file, src)
	if perr != nil {
		return nil, Problems{*perr}
	}
	sum := sha256.Sum256(src)
	p := &parser{Reader: xmldoc.Reader{File: file}, flow: &Flow{File: file, Source: src, Hash: hex.EncodeToString(sum[:])}}
	p.parseFlow(root)
	if len(p.Problems) > 0 {
		return nil, p.Problems
	}
	return p.flow, nil
}

func (p *parser) numAttr(n *node, name string) *float64 {
	a, ok := n.Get(name)
	if !ok {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
	if err != nil {
		p.errf(a.Pos, "<%s %s=%q>: want a number", n.Name, name, a.Value)
		return nil
	}
	return &v
}

// list splits a comma-separated attribute.
func list(s string) []string { return xmldoc.List(s) }

func (p *parser) audience(n *node) Audience {
	var a Audience
	if at, ok := n.Get("roles"); ok {
		for _, r := range list(at.Value) {
			role, err := auth.ParseRole(r)
			if err != nil {
				p.errf(at.Pos, "<%s roles>: unknown role %q (roles: viewer, developer, dba, admin)", n.Name, r)
				continue
			}
			a.Roles = append(a.Roles, role)
		}
	}
	if at, ok := n.Get("users"); ok {
		for _, u := range list(at.Value) {
			if !userName.MatchString(u) {
				p.errf(at.Pos, "<%s users>: invalid user name %q", n.Name, u)
				continue
			}
			a.Users = append(a.Users, u)
		}
	}
	return a
}

func (p *parser) parseFlow(root *node) {
	fl := p.flow
	if root.Name != "flow" {
		p.errf(root.Pos, "root element is <%s>, want <flow>", root.Name)
		return
	}
	fl.Name = root.Str("name", "")
	switch {
	case fl.Name == "":
		p.errf(root.Pos, "<flow>: attribute name is required")
	case !flowName.MatchString(fl.Name):
		p.errf(root.AttrPos("name"), "<flow name=%q>: want lower-case letters, digits and '-', starting with a letter (at most 63)", fl.Name)
	}
	fl.Title = root.Str("title", fl.Name)
	fl.Kind = root.Str("kind", KindTicket)
	if fl.Kind != KindTicket && fl.Kind != KindTask {
		p.errf(root.AttrPos("kind"), "<flow kind=%q>: want ticket or task", fl.Kind)
	}
	p.CheckAttrs(root)
	fl.Submit = Audience{Roles: []auth.Role{auth.Developer}}
	if fl.Kind == KindTask {
		fl.Submit = Audience{Roles: []auth.Role{auth.DBA}}
	}
	fl.View = Audience{Roles: []auth.Role{auth.DBA}}

	seen := map[string]*node{}
	var form, workflow, onFailure *node
	for _, c := range root.Children {
		switch c.Name {
		case "description", "access", "schedule", "form", "workflow", "on-failure":
			if prev, dup := seen[c.Name]; dup {
				p.errf(c.Pos, "<%s> appears twice (first at line %d)", c.Name, prev.Pos.Line)
				continue
			}
			seen[c.Name] = c
		default:
			p.errf(c.Pos, "<flow>: unknown element <%s> (want description, access, schedule, form, workflow, on-failure)", c.Name)
			continue
		}
		switch c.Name {
		case "description":
			fl.Description = c.Text
			p.CheckAttrs(c)
		case "access":
			p.parseAccess(c)
		case "schedule":
			if fl.Kind != KindTask {
				p.errf(c.Pos, "<schedule>: only a flow of kind=\"task\" runs on a schedule")
			}
			spec := c.Str("cron", "")
			if spec == "" {
				p.errf(c.Pos, "<schedule>: attribute cron is required, e.g. cron=\"0 2 * * *\"")
			} else if _, err := jobs.ParseSchedule(spec); err != nil {
				p.errf(c.AttrPos("cron"), "<schedule cron=%q>: %v", spec, strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid cron schedule %q: ", spec)))
			}
			fl.Schedule = spec
			if a, ok := c.Get("run-as"); ok {
				if fl.RunAs = strings.TrimSpace(a.Value); fl.RunAs == "" {
					p.errf(a.Pos, "<schedule run-as=%q>: name a user", a.Value)
				}
			}
			p.CheckAttrs(c)
		case "form":
			form = c
		case "workflow":
			workflow = c
		case "on-failure":
			onFailure = c
		}
	}
	if fl.Kind == KindTask && fl.Schedule == "" && seen["schedule"] == nil {
		p.errf(root.Pos, "<flow kind=\"task\">: a <schedule cron=\"...\"/> is required")
	}
	if form != nil {
		p.parseForm(form)
	}
	p.scope = scope{fields: map[string]bool{}, steps: map[string]bool{}}
	for _, f := range fl.Fields {
		p.scope.fields[f.Name] = true
	}
	if workflow == nil {
		p.errf(root.Pos, "<flow>: a <workflow> with at least one step is required")
		return
	}
	fl.Steps = p.parseSteps(workflow, nil)
	if len(fl.Steps) == 0 && len(workflow.Children) == 0 {
		p.errf(workflow.Pos, "<workflow>: no steps")
	}
	if onFailure != nil {
		fl.OnFailure = p.parseSteps(onFailure, []string{"notify"})
	}
	if fl.Kind == KindTask {
		for _, s := range fl.Steps {
			if s.Block == "approve" {
				p.errf(s.Pos, "<approve>: a task has no requester; approvals belong to ticket flows")
			}
		}
		for _, f := range fl.Fields {
			if f.Required && f.Default == "" {
				p.errf(f.Pos, "<field name=%q>: a task's required fields need a default (nobody fills the form when the schedule starts it)", f.Name)
			}
		}
	}
}

func (p *parser) parseAccess(n *node) {
	p.CheckAttrs(n)
	for _, c := range n.Children {
		switch c.Name {
		case "submit":
			p.flow.Submit = p.audience(c)
		case "view":
			p.flow.View = p.audience(c)
		default:
			p.errf(c.Pos, "<access>: unknown element <%s> (want submit, view)", c.Name)
			continue
		}
		p.CheckAttrs(c)
	}
}

func (p *parser) parseForm(n *node) {
	fl := p.flow
	target, hasTarget := n.Get("target")
	p.CheckAttrs(n)
	names := map[string]Pos{}
	for _, c := range n.Children {
		if c.Name != "field" {
			p.errf(c.Pos, "<form>: unknown element <%s> (want field)", c.Name)
			continue
		}
		f := p.parseField(c)
		if f == nil {
			continue
		}
		if prev, dup := names[f.Name]; dup {
			p.errf(c.AttrPos("name"), "<field name=%q>: defined twice (first at line %d)", f.Name, prev.Line)
			continue
		}
		names[f.Name] = f.Pos
		fl.Fields = append(fl.Fields, f)
	}
	if hasTarget {
		f := fl.Field(strings.TrimSpace(target.Value))
		switch {
		case f == nil:
			p.errf(target.Pos, "<form target=%q>: no such field", target.Value)
		case !f.IsPicker():
			p.errf(target.Pos, "<form target=%q>: the target must be a cluster, instance or database field, not %s", target.Value, f.Type)
		default:
			fl.Target = f.Name
		}
	} else {
		for _, f := range fl.Fields {
			if f.IsPicker() {
				fl.Target = f.Name
				break
			}
		}
	}
}

func (p *parser) parseField(n *node) *Field {
	f := &Field{Pos: n.Pos}
	f.Name = n.Str("name", "")
	if f.Name == "" {
		p.errf(n.Pos, "<field>: attribute name is required")
		p.CheckAttrs(n)
		return nil
	}
	if !ident.MatchString(f.Name) {
		p.errf(n.AttrPos("name"), "<field name=%q>: want lower-case letters, digits and '_', starting with a letter", f.Name)
	}
	f.Type = n.Str("type", TypeText)
	if !slices.Contains(FieldTypes, f.Type) {
		p.errf(n.AttrPos("type"), "<field name=%q>: unknown type %q (types: %s)", f.Name, f.Type, strings.Join(FieldTypes, ", "))
	}
	f.Label = n.Str("label", f.Name)
	f.Help = n.Str("help", "")
	f.Placeholder = n.Str("placeholder", "")
	f.Required = p.Bool(n, "required", false)
	f.Message = n.Str("message", "")
	f.Multiple = p.Bool(n, "multiple", false)
	if f.Multiple && f.Type != TypeEnum {
		p.errf(n.AttrPos("multiple"), "<field name=%q>: multiple applies to enum fields only", f.Name)
	}
	if a, ok := n.Get("pattern"); ok {
		f.Pattern = a.Value
		re, err := regexp.Compile(`^(?:` + a.Value + `)$`)
		if err != nil {
			p.errf(a.Pos, "<field name=%q pattern>: %v", f.Name, err)
		}
		f.re = re
		switch f.Type {
		case TypeText, TypeTextarea, TypeSQL:
		default:
			p.errf(a.Pos, "<field name=%q>: pattern applies to text, textarea and sql fields", f.Name)
		}
	}
	f.Min, f.Max = p.numAttr(n, "min"), p.numAttr(n, "max")
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		p.errf(n.AttrPos("max"), "<field name=%q>: max %v is below min %v", f.Name, *f.Max, *f.Min)
	}
	if (f.Min != nil || f.Max != nil) && !slices.Contains([]string{TypeNumber, TypeText, TypeTextarea, TypeSQL, TypeEnum}, f.Type) {
		p.errf(n.AttrPos("min"), "<field name=%q>: min and max apply to number (value), text, textarea, sql (length) and multiple enum (count) fields", f.Name)
	}
	if a, ok := n.Get("engines"); ok {
		if !f.IsPicker() {
			p.errf(a.Pos, "<field name=%q>: engines applies to cluster, instance and database fields", f.Name)
		}
		for _, e := range list(a.Value) {
			k, err := engine.ParseKind(e)
			if err != nil {
				p.errf(a.Pos, "<field name=%q engines>: unknown engine %q", f.Name, e)
				continue
			}
			f.Engines = append(f.Engines, k)
		}
	}
	for _, c := range n.Children {
		if c.Name != "option" {
			p.errf(c.Pos, "<field>: unknown element <%s> (want option)", c.Name)
			continue
		}
		if f.Type != TypeEnum {
			p.errf(c.Pos, "<field name=%q>: options belong to enum fields", f.Name)
		}
		o := Option{Value: c.Str("value", c.Text)}
		o.Label = c.Str("label", o.Value)
		if o.Value == "" {
			p.errf(c.Pos, "<option>: a value is required (value=\"...\" or text)")
		}
		for _, prev := range f.Options {
			if prev.Value == o.Value {
				p.errf(c.Pos, "<option value=%q>: listed twice", o.Value)
			}
		}
		f.Options = append(f.Options, o)
		p.CheckAttrs(c)
	}
	if a, ok := n.Get("options"); ok {
		for _, v := range list(a.Value) {
			f.Options = append(f.Options, Option{Value: v, Label: v})
		}
	}
	if f.Type == TypeEnum && len(f.Options) == 0 {
		p.errf(n.Pos, "<field name=%q>: an enum needs options (<option value=\"...\"/> or options=\"a,b\")", f.Name)
	}
	if a, ok := n.Get("default"); ok {
		f.Default = a.Value
		if _, ferr := f.parse(splitDefault(f, a.Value)); ferr != "" {
			p.errf(a.Pos, "<field name=%q default=%q>: %s", f.Name, a.Value, ferr)
		}
	}
	p.CheckAttrs(n)
	return f
}

func splitDefault(f *Field, v string) []string {
	if f.Multiple {
		return list(v)
	}
	return []string{v}
}

func (p *parser) parseSteps(n *node, only []string) []*Step {
	p.CheckAttrs(n)
	var out []*Step
	for _, c := range n.Children {
		def, ok := blockByName(c.Name)
		if !ok || (only != nil && !slices.Contains(only, c.Name)) {
			allowed := only
			if allowed == nil {
				allowed = BlockNames()
			}
			p.errf(c.Pos, "<%s>: unknown block <%s> (blocks: %s)", n.Name, c.Name, strings.Join(allowed, ", "))
			continue
		}
		st := &Step{Block: c.Name, Pos: c.Pos}
		st.ID = c.Str("id", fmt.Sprintf("%s-%d", c.Name, len(p.flow.Steps)+len(out)+1))
		if only != nil {
			st.ID = c.Str("id", fmt.Sprintf("on-failure-%s-%d", c.Name, len(out)+1))
		}
		if !stepID.MatchString(st.ID) {
			p.errf(c.AttrPos("id"), "<%s id=%q>: want lower-case letters, digits, '_' and '-'", c.Name, st.ID)
		}
		if p.scope.steps[st.ID] {
			p.errf(c.AttrPos("id"), "<%s id=%q>: another step has this id", c.Name, st.ID)
		}
		if c.Name == "notify" {
			// A notify block's title attribute is its message's title.
			st.Title = "Notify " + strings.TrimSpace(c.Value("channel"))
		} else {
			st.Title = c.Str("title", def.title)
		}
		if a, ok := c.Get("when"); ok {
			st.WhenSrc = a.Value
			prog, probs := compileExpr(a.Value, a.Pos, p.scope, true)
			for _, pm := range probs {
				p.errf(pm.pos, "<%s when>: %s", c.Name, pm.msg)
			}
			if prog != nil {
				st.When = &Expr{Src: a.Value, Pos: a.Pos, prog: prog}
			}
		}
		st.cfg = def.parse(p, c, st)
		p.CheckAttrs(c)
		out = append(out, st)
		if only == nil {
			p.scope.steps[st.ID] = true
		}
	}
	return out
}

// fieldRef reads attribute attrName naming a form field of one of types;
// without the attribute it picks def (or the first field of those types
// when def is ""). required reports a missing field as a problem.
func (p *parser) fieldRef(n *node, attrName string, required bool, types ...string) string {
	a, ok := n.Get(attrName)
	if ok {
		name := strings.TrimSpace(a.Value)
		f := p.flow.Field(name)
		if f == nil {
			p.errf(a.Pos, "<%s %s=%q>: the form has no field %q%s", n.Name, attrName, a.Value, name, suggest(name, keys(p.scope.fields)))
			return ""
		}
		if len(types) > 0 && !slices.Contains(types, f.Type) {
			p.errf(a.Pos, "<%s %s=%q>: field %q is of type %s, want %s", n.Name, attrName, a.Value, name, f.Type, strings.Join(types, " or "))
			return ""
		}
		return name
	}
	if attrName == "target" && p.flow.Target != "" {
		if f := p.flow.Field(p.flow.Target); f != nil && (len(types) == 0 || slices.Contains(types, f.Type)) {
			return f.Name
		}
	}
	for _, f := range p.flow.Fields {
		if len(types) == 0 || slices.Contains(types, f.Type) {
			return f.Name
		}
	}
	if required {
		p.errf(n.Pos, "<%s>: needs a %s field (attribute %s=\"FIELD\"), and the form has none of type %s", n.Name, attrName, attrName, strings.Join(types, " or "))
	}
	return ""
}
