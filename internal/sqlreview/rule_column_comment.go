package sqlreview

import "unicode/utf8"

func ruleColumnComment() *Rule {
	return &Rule{
		ID: "column-comment-required", Level: LevelWarning, Engines: forAll,
		Summary: "New and redefined columns have a comment",
		Explain: "A column comment says what a value means (units, states, who sets it). In MySQL a MODIFY or CHANGE " +
			"that does not repeat the COMMENT silently drops the existing one. PostgreSQL: a COMMENT ON COLUMN in the " +
			"same script.",
		Params: []Param{{Name: "max_length", Kind: ParamInt, Default: 0, Help: "longest comment in characters; 0 for no limit"}},
		Check: func(c *Check, s *Stmt) {
			maxLen := c.Int("max_length")
			if s.Op == OpComment && s.Comment != nil && s.Comment.Column != "" {
				// A later COMMENT ... IS NULL or IS '' removes the comment.
				key := tableKey(c, s.Table) + "." + s.Comment.Column
				c.state[key] = !s.Comment.Null
				// The last COMMENT ON of a column is the one that stays.
				long, _ := c.state["long"].(map[string]*Stmt)
				if long == nil {
					long = map[string]*Stmt{}
					c.state["long"] = long
				}
				delete(long, key)
				if maxLen > 0 && utf8.RuneCountInString(s.Comment.Text) > maxLen {
					long[key] = s
					order, _ := c.state["longOrder"].([]string)
					c.state["longOrder"] = append(order, key)
				}
				return
			}
			for _, x := range newColumns(s) {
				col := x.c
				if c.Postgres() {
					if x.isModify() {
						continue // ALTER COLUMN TYPE keeps the comment
					}
					pending, _ := c.state["pending"].([]pendingColumn)
					c.state["pending"] = append(pending, pendingColumn{s, x})
					continue
				}
				switch {
				case !col.HasComment || col.Comment == "":
					msg := "column %s has no comment"
					if x.isModify() {
						msg = "column %s is redefined without a comment (MODIFY/CHANGE drops the existing one)"
					}
					c.Report(s, x.pos(), "add COMMENT '...' to the column definition", msg, col.Name)
				case maxLen > 0 && utf8.RuneCountInString(col.Comment) > maxLen:
					c.Report(s, x.pos(), "", "comment of column %s is longer than %d characters", col.Name, maxLen)
				}
			}
		},
		Finish: func(c *Check) {
			long, _ := c.state["long"].(map[string]*Stmt)
			order, _ := c.state["longOrder"].([]string)
			for _, key := range order {
				if s, ok := long[key]; ok {
					delete(long, key)
					c.Report(s, -1, "", "comment on column %s is longer than %d characters", s.Comment.Column, c.Int("max_length"))
				}
			}
			pending, _ := c.state["pending"].([]pendingColumn)
			for _, p := range pending {
				if done, _ := c.state[tableKey(c, p.s.Table)+"."+p.col.c.Name].(bool); !done {
					c.Report(p.s, p.col.pos(), "add COMMENT ON COLUMN "+quoteName(true, p.s.Table.Name)+"."+quoteName(true, p.col.c.Name)+" IS '...'; to the script",
						"column %s has no comment", p.col.c.Name)
				}
			}
		},
	}
}

// pendingColumn is a PostgreSQL column waiting for its COMMENT ON COLUMN.
type pendingColumn struct {
	s   *Stmt
	col colAt
}
