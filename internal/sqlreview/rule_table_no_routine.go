package sqlreview

import "strings"

func ruleNoRoutine() *Rule {
	return &Rule{
		ID: "table-no-routine", Level: LevelWarning, Engines: forAll,
		Summary: "No stored procedures (and, by default, functions)",
		Explain: "Stored code is versioned, tested and deployed apart from the application, runs with its definer's " +
			"rights, and cannot be reviewed by rules. Keep logic in the application; where a team relies on stored " +
			"code, turn this rule off and let the manual review route it to a DBA.",
		Params: []Param{{Name: "functions", Kind: ParamBool, Default: true, Help: "also refuse functions (and anonymous blocks)"}},
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpCreateRoutine {
				return
			}
			if !strings.Contains(s.Verb, "PROCEDURE") && !strings.Contains(s.Verb, "PACKAGE") && !c.Bool("functions") {
				return
			}
			what := strings.ToLower(strings.TrimPrefix(s.Verb, "CREATE "))
			if what == "" || what == "begin" || what == "do" {
				what = "anonymous block"
			}
			c.Report(s, -1, "", "stored %s is not allowed", what)
		},
	}
}
