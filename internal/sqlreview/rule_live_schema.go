package sqlreview

// ruleLiveSchema documents the finding reported when live-schema checks
// could not run to the end.
func ruleLiveSchema() *Rule {
	return &Rule{
		ID: RuleLive, Level: LevelWarning, Engines: forAll,
		Summary: "Live-schema checks must be able to read the instance",
		Explain: "The review was asked to check the live schema of an instance but could not read it (connection lost, " +
			"missing privileges on information_schema or pg_catalog). Checks that need the instance stopped at that point; " +
			"the offline rules still ran.",
	}
}
