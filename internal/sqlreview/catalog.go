package sqlreview

// Rule ids of findings that come from the review itself, not from a rule
// of the catalog.
const (
	// RuleSyntax marks a statement that does not parse.
	RuleSyntax = "syntax"
	// RuleManual marks a statement rules cannot review (stored code,
	// DELIMITER blocks, MariaDB syntax beyond the grammar): a DBA must.
	RuleManual = "manual-review"
	// RuleLive marks live-schema checks that could not run.
	RuleLive = "live-schema"
)

// catalog is the list of every rule, in the order findings and listings
// show them. Adding a rule is a new rule_*.go file and one line here.
func catalog() []*Rule {
	return []*Rule{
		ruleSyntax(),
		ruleManualReview(),
		ruleLiveSchema(),
		// tables
		ruleTableRequirePK(),
		ruleTableEngine(),
		ruleTableCharset(),
		ruleTableComment(),
		ruleColumnComment(),
		ruleTableNoForeignKey(),
		ruleTableNoPartition(),
		ruleNoTrigger(),
		ruleNoEvent(),
		ruleNoRoutine(),
		ruleNamingTable(),
		ruleNamingColumn(),
		ruleNamingIndex(),
		ruleNamingReserved(),
		ruleTableColumnCount(),
		ruleTableIndexCount(),
		ruleIndexColumnCount(),
		ruleIndexDuplicate(),
		ruleIndexRedundant(),
		rulePKTypeAllowlist(),
		ruleTableTextLength(),
		// columns
		ruleColumnNotNull(),
		ruleColumnNotNullDefault(),
		ruleColumnTypeDisallow(),
		ruleColumnVarcharLength(),
		ruleColumnAutoIncrementInteger(),
		ruleColumnAutoIncrementUnsigned(),
		ruleColumnLossyChange(),
		ruleColumnDropIndexed(),
		ruleColumnNoReorder(),
		ruleColumnCurrentTimestamp(),
		ruleColumnRequired(),
		// statements
		ruleWhereRequired(),
		ruleNoSelectStar(),
		ruleInsertColumns(),
		ruleNoOrderByRand(),
		ruleNoLeadingWildcard(),
		ruleNoTruncateDrop(),
		ruleTicketKind(),
		ruleMergeAlter(),
		ruleRequireAlgorithm(),
		ruleCreateIndexConcurrently(),
		ruleAddConstraintNotValid(),
		ruleNonTransactional(),
		ruleWhereIndexCalc(),
		ruleWhereEqualNull(),
		ruleDMLLimitOrder(),
		ruleNoCascade(),
		ruleNoCommit(),
		rulePGLockHazard(),
		ruleBackwardCompatible(),
		// live schema
		ruleSchemaDatabase(),
		ruleSchemaTable(),
		ruleSchemaColumn(),
		ruleSchemaIndex(),
		ruleAffectedRows(),
		ruleDMLDryRun(),
		ruleOnlineDDL(),
	}
}
