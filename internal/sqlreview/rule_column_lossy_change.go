package sqlreview

import (
	"fmt"
	"strings"
)

func ruleColumnLossyChange() *Rule {
	return &Rule{
		ID: "column-no-lossy-change", Level: LevelError, Engines: forAll,
		Summary: "No change of a column's type that can lose data",
		Explain: "Narrowing a column (BIGINT to INT, VARCHAR(255) to VARCHAR(50), DECIMAL(12,4) to DECIMAL(10,2)), " +
			"dropping UNSIGNED, or moving between families (string to number, DATETIME to DATE) truncates or rejects " +
			"existing values, and the rewrite holds the table for its whole duration. The old type must be known: from " +
			"the instance, or from a CREATE TABLE earlier in the script.",
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable || s.Alter == nil {
				return
			}
			info := existingTable(c, s)
			if info == nil {
				return
			}
			for _, a := range s.Alter.Actions {
				if a.Kind != ActModifyColumn || a.Column == nil {
					continue
				}
				old := info.column(a.Name)
				if old == nil {
					continue
				}
				if why := lossy(old, a.Column, c.Postgres()); why != "" {
					c.Report(s, a.Pos, "add a new column, copy and verify the data, then switch",
						"changing column %s from %s to %s can lose data: %s", a.Name, typeLabel(old), typeLabel(a.Column), why)
				}
			}
		},
	}
}

func typeLabel(c *Column) string {
	t := c.Type
	if c.Length > 0 && (c.Type == "varchar" || c.Type == "char" || c.Type == "varbinary" || c.Type == "binary") {
		t = fmt.Sprintf("%s(%d)", t, c.Length)
	} else if c.Type == "decimal" || c.Type == "numeric" {
		if c.Length > 0 {
			t = fmt.Sprintf("%s(%d,%d)", t, c.Length, max(c.Scale, 0))
		}
	}
	if c.Unsigned {
		t += " unsigned"
	}
	return t
}

// typeFamily classifies a type and gives its capacity within the family.
func typeFamily(c *Column, pg bool) (family string, size int64) {
	t := strings.ToLower(c.Type)
	switch t {
	case "tinyint", "bool", "boolean":
		return "int", 1
	case "smallint", "int2", "smallserial":
		return "int", 2
	case "mediumint":
		return "int", 3
	case "int", "integer", "int4", "serial":
		return "int", 4
	case "bigint", "int8", "bigserial":
		return "int", 8
	case "decimal", "numeric":
		return "decimal", 0
	case "float", "real", "float4":
		return "float", 4
	case "double", "double precision", "float8":
		return "float", 8
	case "char", "varchar", "character", "character varying", "bpchar":
		if c.Length > 0 {
			return "string", int64(c.Length)
		}
		if t == "char" || t == "bpchar" || t == "character" {
			return "string", 1
		}
		return "string", 1 << 30 // PostgreSQL varchar without length
	case "tinytext":
		return "string", 255
	case "text":
		if c.Length > 0 && c.Length < 65535 {
			return "string", int64(c.Length)
		}
		if pg { // PostgreSQL text is unlimited
			return "string", 1 << 31
		}
		return "string", 65535
	case "mediumtext":
		return "string", 16777215
	case "longtext", "json", "jsonb", "citext":
		return "string", 1 << 32
	case "binary", "varbinary", "bytea":
		if c.Length > 0 {
			return "binary", int64(c.Length)
		}
		return "binary", 1 << 32
	case "tinyblob":
		return "binary", 255
	case "blob":
		return "binary", 65535
	case "mediumblob":
		return "binary", 16777215
	case "longblob":
		return "binary", 1 << 32
	case "date":
		return "time", 1
	case "datetime", "timestamp", "timestamptz", "timestamp without time zone", "timestamp with time zone":
		return "time", 2
	case "time", "timetz":
		return "clock", 1
	case "year":
		return "year", 1
	}
	return t, 0
}

// lossy says how changing from old to nw can lose data, or "".
func lossy(old, nw *Column, pg bool) string {
	of, os := typeFamily(old, pg)
	nf, ns := typeFamily(nw, pg)
	if of != nf {
		switch {
		case of == "int" && (nf == "decimal" || nf == "float"):
			return ""
		case (of == "int" || of == "decimal" || of == "float") && nf == "string" && ns >= 40:
			return ""
		case of == "year" && nf == "int" && ns >= 2:
			return ""
		}
		return fmt.Sprintf("%s values do not all convert to %s", of, nf)
	}
	switch of {
	case "int":
		if ns < os {
			return "the new integer type is narrower"
		}
		if ns == os && old.Unsigned != nw.Unsigned {
			if old.Unsigned {
				return "values above the signed maximum do not fit"
			}
			return "negative values do not fit in UNSIGNED"
		}
		if !old.Unsigned && nw.Unsigned {
			return "negative values do not fit in UNSIGNED"
		}
	case "decimal":
		if old.Length > 0 && nw.Length > 0 && (nw.Length-max(nw.Scale, 0) < old.Length-max(old.Scale, 0) || max(nw.Scale, 0) < max(old.Scale, 0)) {
			return "the new precision or scale is smaller"
		}
	case "float":
		if ns < os {
			return "FLOAT keeps fewer digits than DOUBLE"
		}
	case "string", "binary":
		if ns < os {
			return "values longer than the new length are cut"
		}
	case "time":
		if ns < os {
			return "the time of day is dropped"
		}
	}
	return ""
}
