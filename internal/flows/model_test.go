package flows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
)

const goodFlow = `<flow name="fix" title="Fix">
  <form>
    <field name="target" type="database" required="true"/>
    <field name="sql" type="sql" required="true"/>
    <field name="rows" type="number" min="1" max="10"/>
  </form>
  <workflow>
    <review/>
    <approve roles="dba" when="env == 'prod' &amp;&amp; form.rows > 5"/>
    <execute/>
  </workflow>
</flow>`

func TestParseGood(t *testing.T) {
	fl, probs := Parse("fix.xml", []byte(goodFlow))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if fl.Name != "fix" || fl.Target != "target" || len(fl.Fields) != 3 || len(fl.Steps) != 3 {
		t.Fatalf("parsed %+v", fl)
	}
	if got := []string{fl.Steps[0].ID, fl.Steps[1].ID, fl.Steps[2].ID}; strings.Join(got, " ") != "review-1 approve-2 execute-3" {
		t.Errorf("step ids %v", got)
	}
	for _, c := range []struct {
		env  string
		rows float64
		want bool
	}{{"prod", 6, true}, {"prod", 5, false}, {"test", 9, false}} {
		got, err := fl.Steps[1].When.Eval(Vars{Env: c.env, Form: map[string]any{"rows": c.rows}})
		if err != nil || got != c.want {
			t.Errorf("when env=%s rows=%v: %v %v, want %v", c.env, c.rows, got, err, c.want)
		}
	}
}

// Each bad file is refused with every problem at its file:line:col.
func TestParseProblems(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string // each must appear, in order
	}{
		{"not xml", "<flow name=\"a\">\n  <form>\n</flow>", []string{"f.xml:3:1: invalid XML: element <form> closed by </flow>"}},
		{"unclosed attribute", "<flow name=\"a>\n<workflow/></flow>", []string{"f.xml:2:"}},
		{"empty", "", []string{"f.xml:1:1: empty file"}},
		{"wrong root", "<flows/>", []string{"f.xml:1:1: root element is <flows>, want <flow>"}},
		{"bad name and unknown attribute", `<flow name="Bad Name" colour="red"><workflow><notify channel="c"/></workflow></flow>`,
			[]string{`f.xml:1:13: <flow name="Bad Name">: want lower-case`, `f.xml:1:31: <flow>: unknown attribute "colour"`}},
		{"bad expression", "<flow name=\"a\">\n<form><field name=\"n\" type=\"number\"/></form>\n<workflow>\n  <notify channel=\"c\" when=\"form.n &gt; 'x' +\"/>\n</workflow></flow>",
			[]string{"f.xml:4:"}},
		{"unknown form field in expression", "<flow name=\"a\">\n<form><field name=\"rows\" type=\"number\"/></form>\n<workflow>\n  <notify channel=\"c\" when=\"form.rowz > 1\"/>\n</workflow></flow>",
			[]string{`f.xml:4:34: <notify when>: form has no field "rowz" (did you mean "rows"?)`}},
		{"unknown variable", "<flow name=\"a\"><workflow>\n<notify channel=\"c\" when=\"enviroment == 'prod'\"/></workflow></flow>",
			[]string{"f.xml:2:27: <notify when>: unknown name enviroment"}},
		{"not boolean", "<flow name=\"a\"><workflow>\n<notify channel=\"c\" when=\"env\"/></workflow></flow>",
			[]string{"f.xml:2:27: <notify when>: expected bool, but got string"}},
		{"later step referenced", "<flow name=\"a\"><workflow>\n<notify channel=\"c\" when=\"steps.b.rows > 0\"/>\n<notify id=\"b\" channel=\"c\"/></workflow></flow>",
			[]string{`f.xml:2:33: <notify when>: no earlier step has id "b"`}},
		{"unknown block", "<flow name=\"a\"><workflow>\n  <deploy/>\n</workflow></flow>",
			[]string{"f.xml:2:3: <workflow>: unknown block <deploy> (blocks: review, approve, wait, execute, create-database, create-account, export, notify)"}},
		{"field problems", `<flow name="a"><form>
<field name="a" type="colour"/>
<field name="b" type="text" pattern="(["/>
<field name="c" type="enum"/>
<field name="d" type="number" min="5" max="1" default="x"/>
<field name="a" type="text"/>
</form><workflow><notify channel="c"/></workflow></flow>`, []string{
			`f.xml:2:23: <field name="a">: unknown type "colour"`,
			`f.xml:3:38: <field name="b" pattern>: error parsing regexp`,
			`f.xml:4:1: <field name="c">: an enum needs options`,
			`f.xml:5:44: <field name="d">: max 1 is below min 5`,
			`f.xml:5:56: <field name="d" default="x">: "x" is not a number`,
			`f.xml:6:14: <field name="a">: defined twice (first at line 2)`}},
		{"confirm-destroy", "<flow name=\"a\"><form><field name=\"s\" type=\"sql\"/><field name=\"ok\" type=\"text\"/></form><workflow>\n<review confirm-destroy=\"ok\"/>\n<review kind=\"dml\" confirm-destroy=\"nope\"/></workflow></flow>",
			[]string{`f.xml:2:26: <review confirm-destroy="ok">: field "ok" is of type text, want bool`, `f.xml:3:37: <review confirm-destroy="nope">: the form has no field "nope"`, `f.xml:3:37: <review kind="dml" confirm-destroy=...>: a data change never drops or truncates`}},
		{"missing sql field", "<flow name=\"a\"><form><field name=\"t\" type=\"instance\"/></form><workflow>\n<execute/></workflow></flow>",
			[]string{"f.xml:2:1: <execute>: needs a sql field"}},
		{"wrong field type", "<flow name=\"a\"><form><field name=\"t\" type=\"instance\"/><field name=\"q\" type=\"text\"/></form><workflow>\n<execute sql=\"q\"/></workflow></flow>",
			[]string{`f.xml:2:15: <execute sql="q">: field "q" is of type text, want sql`}},
		{"approvers", `<flow name="a"><workflow>
<approve/>
<approve order="sequence" roles="dba"/>
<approve roles="boss"/>
<approve roles="dba"><policy env="test" auto="maybe"/><policy env="test" auto="true"/></approve>
</workflow></flow>`, []string{
			"f.xml:2:1: <approve>: say who approves",
			`f.xml:3:17: <approve order="sequence">: a sequence is of named users`,
			`f.xml:4:17: <approve roles>: unknown role "boss"`,
			`f.xml:5:47: <policy auto="maybe">: want true or false`,
			`f.xml:5:68: <policy env="test">: env test already has a policy (line 5)`}},
		{"task", `<flow name="t" kind="task">
<form><field name="i" type="instance" required="true"/></form>
<workflow><approve roles="dba"/></workflow></flow>`, []string{
			`f.xml:1:1: <flow kind="task">: a <schedule cron="..."/> is required`,
			`f.xml:3:11: <approve>: a task has no requester`,
			`f.xml:2:7: <field name="i">: a task's required fields need a default`}},
		{"bad cron and window", `<flow name="t" kind="task"><schedule cron="61 * * * *"/>
<workflow><wait window="25:00-26:00"/><wait/></workflow></flow>`, []string{
			`f.xml:1:44: <schedule cron="61 * * * *">: `,
			`f.xml:2:25: <wait window="25:00-26:00">: want HH:MM-HH:MM`,
			`f.xml:2:39: <wait>: give window=`}},
		{"export bounds and run-as", `<flow name="t" kind="task"><schedule cron="@daily" run-as=" "/>
<form><field name="i" type="instance" default="x"/><field name="q" type="sql" default="SELECT 1"/></form>
<workflow><export target="i" sql="q" max-bytes="0"/><export target="i" sql="q" max-bytes="67108865"/></workflow></flow>`, []string{
			`f.xml:1:60: <schedule run-as=" ">: name a user`,
			`f.xml:3:49: <export max-bytes="0">: want a whole number from 1 to 67108864`,
			`f.xml:3:91: <export max-bytes="67108865">: want a whole number from 1 to 67108864`}},
		{"template", "<flow name=\"a\"><workflow>\n<notify channel=\"c\" title=\"{{ticket.idd}}\" text=\"{{ oops\"/></workflow></flow>",
			[]string{"f.xml:2:37: <notify>: ticket has no field idd", "f.xml:2:50: <notify>: unclosed {{ in template"}},
		{"privileges", `<flow name="a"><form>
<field name="t" type="database"/><field name="u" type="text"/>
<field name="p" type="enum" options="SELECT,SUPER"/>
</form><workflow><create-account user="u" privileges="p"/></workflow></flow>`, []string{
			`f.xml:4:55: <create-account privileges="p">: the field must be an enum with multiple="true"`,
			`f.xml:3:1: <field name="p">: option "SUPER" is not a grantable privilege`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, probs := Parse("f.xml", []byte(c.src))
			if len(probs) == 0 {
				t.Fatalf("accepted; want %v", c.want)
			}
			got := probs.Error()
			pos := 0
			for _, w := range c.want {
				i := strings.Index(got[pos:], w)
				if i < 0 {
					t.Fatalf("problems do not contain %q (in order):\n%s", w, got)
				}
				pos += i + len(w)
			}
		})
	}
}

func TestFormValidation(t *testing.T) {
	src := `<flow name="f"><form>
<field name="name" type="text" required="true" pattern="[a-z]+" message="lower-case letters only"/>
<field name="note" type="textarea" min="3" max="10"/>
<field name="n" type="number" min="1" max="10" default="5"/>
<field name="ok" type="bool"/>
<field name="sure" type="bool" required="true"/>
<field name="color" type="enum" options="red,green"/>
<field name="privs" type="enum" multiple="true" options="SELECT,INSERT" max="1"/>
<field name="day" type="date"/>
<field name="at" type="time"/>
<field name="when" type="datetime"/>
<field name="db" type="database"/>
<field name="q" type="sql"/>
</form><workflow><notify channel="c"/></workflow></flow>`
	fl, probs := Parse("f.xml", []byte(src))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ok := map[string][]string{"name": {"abc"}, "sure": {"on"}}
	for _, c := range []struct {
		name  string
		raw   map[string][]string
		field string // "" means valid
		msg   string
	}{
		{"minimal", ok, "", ""},
		{"required", map[string][]string{"sure": {"true"}}, "name", "is required"},
		{"custom message", map[string][]string{"name": {"ABC"}, "sure": {"1"}}, "name", "lower-case letters only"},
		{"bool required means checked", map[string][]string{"name": {"abc"}}, "sure", "must be checked"},
		{"too short", with(ok, "note", "ab"), "note", "must be at least 3 characters"},
		{"too long", with(ok, "note", "abcdefghijk"), "note", "must be at most 10 characters"},
		{"number", with(ok, "n", "x"), "n", `"x" is not a number`},
		{"number range", with(ok, "n", "11"), "n", "must be at most 10"},
		{"enum", with(ok, "color", "blue"), "color", `"blue" is not one of the choices (red, green)`},
		{"multiple count", with(ok, "privs", "SELECT,INSERT"), "privs", "choose at most 1"},
		{"date", with(ok, "day", "2024-02-30"), "day", "is not a date"},
		{"time", with(ok, "at", "25:00"), "at", "is not a time of day"},
		{"datetime", with(ok, "when", "tomorrow"), "when", "is not a date and time"},
		{"database", with(ok, "db", "orders-1"), "db", "want INSTANCE/DATABASE"},
		{"database name", with(ok, "db", "orders-1/a;b"), "db", "want INSTANCE/DATABASE"},
		{"unknown field", with(ok, "colour", "red"), "colour", `the form has no such field (did you mean "color"?)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			vals, err := fl.Validate(c.raw)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if vals["n"] != 5.0 || vals["ok"] != false || vals["sure"] != true {
					t.Fatalf("values %v", vals)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %v", vals)
			}
			var form *FormError
			errors.As(err, &form)
			if form == nil || form.For(c.field) == "" || !strings.Contains(form.For(c.field), c.msg) {
				t.Fatalf("error %v, want field %s: %s", err, c.field, c.msg)
			}
			if !strings.Contains(err.Error(), `field "`+c.field+`"`) {
				t.Fatalf("message %q does not name the field", err)
			}
		})
	}
	vals, err := fl.Validate(map[string][]string{"name": {"x"}, "sure": {"yes"}, "when": {"2030-01-02 03:04"}, "privs": {"INSERT"}, "db": {"pg-1/app"}})
	if err != nil || vals["when"] != "2030-01-02T03:04:00Z" || strings.Join(vals["privs"].([]string), ",") != "INSERT" || vals["db"] != "pg-1/app" {
		t.Fatalf("typed values: %v %v", vals, err)
	}
}

func with(m map[string][]string, k, v string) map[string][]string {
	out := map[string][]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = []string{v}
	return out
}

func TestAudience(t *testing.T) {
	a := Audience{Roles: []auth.Role{auth.DBA}, Users: []string{"carol"}}
	for _, c := range []struct {
		user string
		role auth.Role
		want bool
	}{{"x", auth.DBA, true}, {"x", auth.Admin, true}, {"x", auth.Developer, false}, {"carol", auth.Viewer, true}} {
		if got := a.Includes(c.user, c.role); got != c.want {
			t.Errorf("%s (%s): %v, want %v", c.user, c.role, got, c.want)
		}
	}
}

func TestWaitWindow(t *testing.T) {
	utc := time.UTC
	at := func(h, m int) time.Time { return time.Date(2030, 1, 10, h, m, 0, 0, utc) }
	night := &waitCfg{window: true, from: 2 * time.Hour, to: 5 * time.Hour, loc: utc}
	wrap := &waitCfg{window: true, from: 22 * time.Hour, to: 2 * time.Hour, loc: utc}
	for _, c := range []struct {
		name  string
		w     *waitCfg
		now   time.Time
		until time.Time
		want  time.Time
	}{
		{"inside", night, at(3, 0), time.Time{}, at(3, 0)},
		{"before", night, at(1, 0), time.Time{}, at(2, 0)},
		{"after", night, at(6, 0), time.Time{}, at(2, 0).AddDate(0, 0, 1)},
		{"end is exclusive", night, at(5, 0), time.Time{}, at(2, 0).AddDate(0, 0, 1)},
		{"wrapping, late", wrap, at(23, 0), time.Time{}, at(23, 0)},
		{"wrapping, early", wrap, at(1, 0), time.Time{}, at(1, 0)},
		{"wrapping, day", wrap, at(12, 0), time.Time{}, at(22, 0)},
		{"until only", &waitCfg{loc: utc}, at(1, 0), at(4, 0), at(4, 0)},
		{"until then window", night, at(1, 0), at(6, 0), at(2, 0).AddDate(0, 0, 1)},
	} {
		if got := c.w.next(c.now, c.until); !got.Equal(c.want) {
			t.Errorf("%s: next %v, want %v", c.name, got, c.want)
		}
	}
}
