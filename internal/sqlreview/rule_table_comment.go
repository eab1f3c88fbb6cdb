package sqlreview

import "unicode/utf8"

func ruleTableComment() *Rule {
	return &Rule{
		ID: "table-comment-required", Level: LevelWarning, Engines: forAll,
		Summary: "New tables have a comment",
		Explain: "A table comment says what the table holds and who owns it; the next person to change it, and the data " +
			"catalog, depend on it. MySQL: COMMENT '...' in CREATE TABLE. PostgreSQL: a COMMENT ON TABLE in the same script.",
		Params: []Param{{Name: "max_length", Kind: ParamInt, Default: 0, Help: "longest comment in characters; 0 for no limit"}},
		Check: func(c *Check, s *Stmt) {
			maxLen := c.Int("max_length")
			if s.Op == OpComment && s.Comment != nil && s.Comment.Column == "" {
				// A later COMMENT ... IS NULL or IS '' removes the comment.
				c.state[tableKey(c, s.Table)] = !s.Comment.Null
				if maxLen > 0 && utf8.RuneCountInString(s.Comment.Text) > maxLen {
					c.Report(s, -1, "", "comment on table %s is longer than %d characters", s.Table.Name, maxLen)
				}
				return
			}
			if s.Op != OpCreateTable || s.Create == nil || s.Create.Temporary {
				return
			}
			if c.Postgres() {
				pending, _ := c.state["pending"].([]*Stmt)
				c.state["pending"] = append(pending, s)
				return
			}
			switch ct := s.Create; {
			case !ct.HasComment || ct.Comment == "":
				c.Report(s, s.Table.Pos, "add COMMENT '...' after the column list", "table %s has no comment", s.Table.Name)
			case maxLen > 0 && utf8.RuneCountInString(ct.Comment) > maxLen:
				c.Report(s, s.findWord("COMMENT", 0), "", "comment of table %s is longer than %d characters", s.Table.Name, maxLen)
			}
		},
		Finish: func(c *Check) {
			pending, _ := c.state["pending"].([]*Stmt)
			for _, s := range pending {
				if done, _ := c.state[tableKey(c, s.Table)].(bool); !done {
					c.Report(s, s.Table.Pos, "add COMMENT ON TABLE "+quoteName(true, s.Table.Name)+" IS '...'; to the script", "table %s has no comment", s.Table.Name)
				}
			}
		},
	}
}
