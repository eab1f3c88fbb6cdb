package sqlreview

// ruleSyntax documents syntax findings; the review itself reports them
// (always as errors) from the dialect's parser.
func ruleSyntax() *Rule {
	return &Rule{
		ID: RuleSyntax, Level: LevelError, Engines: forAll,
		Summary: "The statement must parse in the engine's grammar",
		Explain: "The statement does not parse with the engine's own grammar (the MySQL grammar for MySQL and MariaDB, " +
			"PostgreSQL's parser for PostgreSQL), so it would fail on the server. The message and position are the parser's. " +
			"Syntax errors are always errors, whatever the rule file says.",
	}
}
