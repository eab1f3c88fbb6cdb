package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// maxExportBytes bounds one CSV attachment.
const maxExportBytes = 64 << 20

// runExport runs one read-only query in a read-only transaction and
// attaches the rows as CSV. Running it again (after a restart) replaces
// the attachment: it changes nothing on the target.
func (s *Service) runExport(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*exportCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	kind := engine.Kind(tgt.Engine)
	script := r.field(c.sql)
	stmts := readScript(dialect(kind), script)
	if len(stmts) != 1 {
		return outcome{}, errkind.New(errkind.Invalid, "an export runs exactly one SELECT; the SQL has %d statements", len(stmts))
	}
	st := stmts[0]
	if st.Err != nil {
		line, col, msg := st.errorAt(sqlfe.NewLineIndex(script))
		return outcome{}, errkind.New(errkind.Invalid, "line %d col %d: %s", line, col, msg)
	}
	if !plainQuery(st.Class) {
		return outcome{}, errkind.New(errkind.Invalid, "an export runs a read-only SELECT; line %d is %s (%s)", st.Line, st.Class.Kind, firstWords(st.Text))
	}
	pool, err := s.inv.Connect(ctx, tgt.Instance, tgt.Database)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to %s: %w", targetString(tgt), err)
	}
	defer pool.Close()
	conn := pool
	if sp, ok := pool.(sessioner); ok {
		sc, err := sp.Session(ctx)
		if err != nil {
			return outcome{}, fmt.Errorf("connect to %s: %w", targetString(tgt), err)
		}
		defer sc.Close()
		conn = sc
	} else {
		return outcome{}, errkind.New(errkind.Unavailable, "the %s adapter cannot hold a read-only session", kind)
	}
	begin := "START TRANSACTION READ ONLY"
	if kind == engine.Postgres {
		begin = "BEGIN TRANSACTION READ ONLY"
	}
	if _, err := conn.Exec(ctx, begin); err != nil {
		return outcome{}, fmt.Errorf("begin a read-only transaction: %w", err)
	}
	rows, truncated, err := conn.Query(ctx, c.maxRows, st.Text)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	conn.Exec(rctx, "ROLLBACK")
	cancel()
	if err != nil {
		return outcome{}, fmt.Errorf("export query: %w", err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(rows.Columns)
	rec := make([]string, len(rows.Columns))
	for _, row := range rows.Values {
		for i, v := range row {
			rec[i] = csvValue(v)
		}
		w.Write(rec)
		if buf.Len() > maxExportBytes {
			return outcome{}, errkind.New(errkind.Invalid, "the export is larger than %d MiB; narrow the query or lower max-rows", maxExportBytes>>20)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return outcome{}, err
	}
	name := c.filename
	if name == "" {
		name = fmt.Sprintf("ticket-%d-%s.csv", r.t.ID, r.step.ID)
	}
	n := int64(len(rows.Values))
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_attachments WHERE ticket_id = ? AND step_idx = ?", r.t.ID, r.idx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (ticket_id, step_idx, name, content_type, size, rows_count, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.t.ID, r.idx, name, "text/csv; charset=utf-8", buf.Len(), n, buf.Bytes(), sqldb.Now())
		return err
	})
	if err != nil {
		return outcome{}, fmt.Errorf("store the export: %w", err)
	}
	summary := fmt.Sprintf("%d row(s) exported to %s (%s)", n, name, sizeString(int64(buf.Len())))
	if truncated {
		summary += fmt.Sprintf("; stopped at max-rows %d", c.maxRows)
	}
	return done(map[string]any{"summary": summary, "rows": n, "attachment": name, "truncated": truncated,
		"columns": rows.Columns, "preview": preview(rows, 20)})
}

// csvValue renders a value as CSV text: binary as base64, times in RFC 3339.
func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// preview is the first rows as an aligned text table, for messages.
func preview(rows *engine.Rows, n int) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(rows.Columns, "\t"))
	for i, row := range rows.Values {
		if i == n {
			fmt.Fprintf(tw, "... %d more row(s)\n", len(rows.Values)-n)
			break
		}
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = strings.ReplaceAll(csvValue(v), "\n", " ")
			if len(cells[j]) > 60 {
				cells[j] = cells[j][:57] + "..."
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
