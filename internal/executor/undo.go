package executor

import (
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Rollback statements are cut into batches of at most this many rows or
// bytes, below any server's max_allowed_packet.
const (
	undoBatchRows  = 1000
	undoBatchBytes = 1 << 20
)

// buildUndo renders the rollback of one unit: image holds the rows read
// before the change (columns in t.Cols order), newKeys the primary keys
// the change wrote (undoInsert). The statements run in the order given.
func buildUndo(t *table, kind undoKind, image [][]any, newKeys [][]any) []string {
	switch kind {
	case undoUpdate:
		return undoUpdates(t, image)
	case undoDelete:
		return undoInserts(t, image, false)
	case undoInsert:
		// Rows that did not exist before are deleted; those that did are
		// put back as they were (updated back, or re-inserted when the
		// statement replaced them).
		pkIdx := t.pkIndexes()
		had := map[string]bool{}
		for _, r := range image {
			had[keyString(pick(r, pkIdx))] = true
		}
		var gone [][]any
		seen := map[string]bool{}
		for _, k := range newKeys {
			ks := keyString(k)
			if !had[ks] && !seen[ks] {
				gone = append(gone, k)
				seen[ks] = true
			}
		}
		return append(undoDeletes(t, gone), undoInserts(t, image, true)...)
	}
	return nil
}

func (t *table) pkIndexes() []int {
	idx := make([]int, len(t.PK))
	for i, k := range t.PK {
		for j, c := range t.Cols {
			if strings.EqualFold(c.Name, k) {
				idx[i] = j
			}
		}
	}
	return idx
}

func pick(row []any, idx []int) []any {
	out := make([]any, len(idx))
	for i, j := range idx {
		out[i] = row[j]
	}
	return out
}

// batches cuts rendered rows into groups below the batch limits.
func batches(rows []string) [][]string {
	var out [][]string
	var cur []string
	size := 0
	for _, r := range rows {
		if len(cur) > 0 && (len(cur) >= undoBatchRows || size+len(r) > undoBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, r)
		size += len(r) + 2
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// tuple renders (v1, v2, ...) of a row's columns at idx.
func (t *table) tuple(row []any, idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = literal(t.d, row[j], t.Cols[j].Type)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// undoDeletes deletes rows by primary key.
func undoDeletes(t *table, keys [][]any) []string {
	if len(keys) == 0 {
		return nil
	}
	d := t.d
	pkIdx := t.pkIndexes()
	rendered := make([]string, len(keys))
	for i, k := range keys {
		parts := make([]string, len(k))
		for j, v := range k {
			parts[j] = literal(d, v, t.Cols[pkIdx[j]].Type)
		}
		if len(parts) == 1 {
			rendered[i] = parts[0]
		} else {
			rendered[i] = "(" + strings.Join(parts, ", ") + ")"
		}
	}
	cols := quoteList(d, t.PK)
	if len(t.PK) > 1 {
		cols = "(" + cols + ")"
	}
	var out []string
	for _, b := range batches(rendered) {
		out = append(out, fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s)", t.Ref(), cols, strings.Join(b, ", ")))
	}
	return out
}

// undoInserts inserts image rows back; upsert updates those that exist.
func undoInserts(t *table, image [][]any, upsert bool) []string {
	if len(image) == 0 {
		return nil
	}
	d := t.d
	var idx []int
	var names []string
	for j, c := range t.Cols {
		if !c.Generated {
			idx = append(idx, j)
			names = append(names, c.Name)
		}
	}
	rendered := make([]string, len(image))
	for i, r := range image {
		rendered[i] = t.tuple(r, idx)
	}
	head := "INSERT INTO " + t.Ref() + " (" + quoteList(d, names) + ")"
	if d == sql.Postgres && t.hasIdentityAlways() {
		head += " OVERRIDING SYSTEM VALUE"
	}
	var tail string
	if upsert {
		var sets []string
		for _, n := range names {
			if t.isPK(n) {
				continue
			}
			q := sql.QuoteIdent(d, n)
			if d == sql.Postgres {
				sets = append(sets, q+" = EXCLUDED."+q)
			} else {
				sets = append(sets, q+" = VALUES("+q+")")
			}
		}
		switch {
		case d == sql.Postgres && len(sets) == 0:
			tail = " ON CONFLICT (" + quoteList(d, t.PK) + ") DO NOTHING"
		case d == sql.Postgres:
			tail = " ON CONFLICT (" + quoteList(d, t.PK) + ") DO UPDATE SET " + strings.Join(sets, ", ")
		case len(sets) == 0:
			head = strings.Replace(head, "INSERT INTO", "INSERT IGNORE INTO", 1)
		default:
			tail = " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
		}
	}
	var out []string
	for _, b := range batches(rendered) {
		out = append(out, head+" VALUES "+strings.Join(b, ", ")+tail)
	}
	return out
}

// undoUpdates sets image rows' old values back, by primary key, one
// statement per batch joining a derived table of the old rows.
func undoUpdates(t *table, image [][]any) []string {
	if len(image) == 0 {
		return nil
	}
	d := t.d
	var setIdx, allIdx []int
	for j, c := range t.Cols {
		if c.Generated {
			continue
		}
		allIdx = append(allIdx, j)
		if !t.isPK(c.Name) {
			setIdx = append(setIdx, j)
		}
	}
	if len(setIdx) == 0 {
		return nil
	}
	alias := func(j int) string { return sql.QuoteIdent(d, fmt.Sprintf("c%d", j+1)) }
	tq, vq := sql.QuoteIdent(d, "dbfleet_t"), sql.QuoteIdent(d, "dbfleet_v")
	pkIdx := t.pkIndexes()
	var on, sets []string
	for _, j := range pkIdx {
		col := sql.QuoteIdent(d, t.Cols[j].Name)
		if d == sql.Postgres {
			on = append(on, tq+"."+col+" = "+vq+"."+alias(j)+"::"+t.Cols[j].Type)
		} else {
			on = append(on, tq+"."+col+" = "+vq+"."+alias(j))
		}
	}
	for _, j := range setIdx {
		col := sql.QuoteIdent(d, t.Cols[j].Name)
		if d == sql.Postgres {
			sets = append(sets, col+" = "+vq+"."+alias(j)+"::"+t.Cols[j].Type)
		} else {
			sets = append(sets, tq+"."+col+" = "+vq+"."+alias(j))
		}
	}
	var out []string
	if d == sql.Postgres {
		rendered := make([]string, len(image))
		for i, r := range image {
			rendered[i] = t.tuple(r, allIdx)
		}
		names := make([]string, len(allIdx))
		for i, j := range allIdx {
			names[i] = alias(j)
		}
		for _, b := range batches(rendered) {
			out = append(out, fmt.Sprintf("UPDATE %s AS %s SET %s FROM (VALUES %s) AS %s (%s) WHERE %s",
				t.Ref(), tq, strings.Join(sets, ", "), strings.Join(b, ", "), vq, strings.Join(names, ", "), strings.Join(on, " AND ")))
		}
		return out
	}
	rendered := make([]string, len(image))
	for i, r := range image {
		parts := make([]string, len(allIdx))
		for k, j := range allIdx {
			parts[k] = literal(d, r[j], t.Cols[j].Type) + " AS " + alias(j)
		}
		rendered[i] = "SELECT " + strings.Join(parts, ", ")
	}
	for _, b := range batches(rendered) {
		// The match is a WHERE (not JOIN ... ON) so that the SQL review of
		// a rollback submitted as a ticket sees which rows it changes.
		out = append(out, fmt.Sprintf("UPDATE %s AS %s, (%s) AS %s SET %s WHERE %s",
			t.Ref(), tq, strings.Join(b, " UNION ALL "), vq, strings.Join(sets, ", "), strings.Join(on, " AND ")))
	}
	return out
}
