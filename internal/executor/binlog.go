package executor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Rollback from binary-log row events (Options.Rollback "binlog",
// MariaDB): no before-image is read while the change runs; each unit's
// GTID (@@last_gtid) is kept, and when the statement ends its row events
// are read back over the replication protocol (go-mysql) and turned into
// the same rollback SQL a before-image gives. It needs log_bin,
// binlog_format=ROW, binlog_row_image=FULL, the REPLICATION SLAVE privilege
// and the binary log still on the server; in exchange it covers what
// before-images cannot: keys computed by the server, WITH clauses,
// multi-row side effects of triggers.

// RollbackBinlog selects binary-log row events as the rollback source.
const RollbackBinlog = "binlog"

// checkBinlog verifies the server keeps what binlog rollback needs.
func (r *runner) checkBinlog(ctx context.Context) error {
	rows, _, err := r.sess.Query(ctx, 1, "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image, @@last_gtid")
	if err != nil {
		return errkind.New(errkind.Invalid, "rollback binlog needs MariaDB (GTIDs and @@last_gtid): %v", err)
	}
	v := rows.Row(0)
	logBin, format, image := strings.ToUpper(v.String(0)), strings.ToUpper(v.String(1)), strings.ToUpper(v.String(2))
	if (logBin != "1" && logBin != "ON") || format != "ROW" || image != "FULL" {
		return errkind.New(errkind.Invalid, "rollback binlog needs log_bin=ON, binlog_format=ROW and binlog_row_image=FULL; %s has log_bin=%s, binlog_format=%s, binlog_row_image=%s (use rollback image)",
			r.ex.Instance, v.String(0), v.String(1), v.String(2))
	}
	return nil
}

// binlogPos is the server's binary-log GTID position now.
func (r *runner) binlogPos(ctx context.Context) (string, error) {
	rows, _, err := r.sess.Query(ctx, 1, "SELECT @@global.gtid_binlog_pos")
	if err != nil {
		return "", fmt.Errorf("gtid_binlog_pos: %w", err)
	}
	return rows.String(0, 0), nil
}

// lastGTID is the GTID of the session's last transaction.
func (r *runner) lastGTID(ctx context.Context) (string, error) {
	rows, _, err := r.sess.Query(ctx, 1, "SELECT @@last_gtid")
	if err != nil {
		return "", fmt.Errorf("last_gtid: %w", err)
	}
	return rows.String(0, 0), nil
}

// binlogRollback reads the row events of a statement's units from the
// binary log and stores their rollback SQL.
func (r *runner) binlogRollback(st *stmtRow) error {
	ctx := r.hard
	units, err := r.s.st.units(ctx, st.id)
	if err != nil {
		return err
	}
	var want []string
	from := ""
	for _, u := range units {
		if u.state == unitDone && u.gtid != "" && u.rollbackSQL == "" {
			if from == "" {
				from = u.from
			}
			want = append(want, u.gtid)
		}
	}
	if len(want) == 0 {
		return nil
	}
	undo, err := r.readBinlog(ctx, from, want)
	if err != nil {
		return err
	}
	for _, u := range units {
		if sqls, ok := undo[u.gtid]; ok && u.gtid != "" {
			if _, err := r.s.st.db.ExecContext(ctx, "UPDATE exec_units SET rollback_sql = ? WHERE id = ?", strings.Join(sqls, ";\n"), u.id); err != nil {
				return fmt.Errorf("store binlog rollback: %w", err)
			}
		}
	}
	return nil
}

// readBinlog streams the binary log from position from until it has seen
// every GTID of want, and returns the rollback statements of each.
func (r *runner) readBinlog(ctx context.Context, from string, want []string) (map[string][]string, error) {
	t, err := r.s.inv.Target(ctx, r.ex.Instance)
	if err != nil {
		return nil, err
	}
	gset, err := gmysql.ParseMariadbGTIDSet(from)
	if err != nil {
		return nil, fmt.Errorf("binlog position %q: %w", from, err)
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                uint32(1<<30 + rand.IntN(1<<30)),
		Flavor:                  gmysql.MariaDBFlavor,
		Host:                    t.Host,
		Port:                    uint16(t.Port),
		User:                    t.User,
		Password:                t.Password,
		TimestampStringLocation: time.UTC,
		HeartbeatPeriod:         time.Second,
		ReadTimeout:             30 * time.Second,
		MaxReconnectAttempts:    1,
		Logger:                  slog.New(slog.DiscardHandler),
	})
	defer syncer.Close()
	stream, err := syncer.StartSyncGTID(gset)
	if err != nil {
		return nil, fmt.Errorf("read the binary log of %s: %w", r.ex.Instance, engine.Redact(err, t.Password))
	}
	wanted := map[string]bool{}
	for _, g := range want {
		wanted[g] = true
	}
	events := map[string][]*replication.RowsEvent{}
	seen := 0
	cur := ""
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for seen < len(wanted) {
		ev, err := stream.GetEvent(rctx)
		if err != nil {
			return nil, fmt.Errorf("read the binary log of %s (%d of %d transactions found): %w", r.ex.Instance, seen, len(wanted), engine.Redact(err, t.Password))
		}
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent:
			cur = fmt.Sprintf("%d-%d-%d", e.GTID.DomainID, e.GTID.ServerID, e.GTID.SequenceNumber)
		case *replication.RowsEvent:
			if wanted[cur] {
				events[cur] = append(events[cur], e)
			}
		case *replication.XIDEvent:
			if wanted[cur] {
				seen++
			}
			cur = ""
		}
	}
	tables := map[string]*table{}
	out := map[string][]string{}
	for g, evs := range events {
		var sqls []string
		for _, e := range slices.Backward(evs) {
			key := string(e.Table.Schema) + "." + string(e.Table.Table)
			tb := tables[key]
			if tb == nil {
				if tb, err = loadTable(ctx, r.pool, sql.MySQL, string(e.Table.Schema), string(e.Table.Table)); err != nil {
					return nil, err
				}
				tables[key] = tb
			}
			u, err := rowsUndo(tb, e)
			if err != nil {
				return nil, err
			}
			sqls = append(sqls, u...)
		}
		out[g] = sqls
	}
	return out, nil
}

// rowsUndo turns one rows event into the statements that undo it.
func rowsUndo(t *table, e *replication.RowsEvent) ([]string, error) {
	if len(t.PK) == 0 {
		return nil, fmt.Errorf("table %s has no primary key", t)
	}
	rows := make([][]any, len(e.Rows))
	for i, row := range e.Rows {
		var err error
		if rows[i], err = binlogRow(t, row); err != nil {
			return nil, err
		}
	}
	pk := t.pkIndexes()
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		keys := make([][]any, len(rows))
		for i, row := range rows {
			keys[i] = pick(row, pk)
		}
		return undoDeletes(t, keys), nil
	case replication.EnumRowsEventTypeDelete:
		return undoInserts(t, rows, false), nil
	case replication.EnumRowsEventTypeUpdate:
		var before, movedFrom [][]any
		var movedTo [][]any
		for i := 0; i+1 < len(rows); i += 2 {
			b, a := rows[i], rows[i+1]
			if keyString(pick(b, pk)) == keyString(pick(a, pk)) {
				before = append(before, b)
			} else {
				movedFrom, movedTo = append(movedFrom, b), append(movedTo, pick(a, pk))
			}
		}
		out := undoDeletes(t, movedTo)
		out = append(out, undoInserts(t, movedFrom, false)...)
		return append(out, undoUpdates(t, before)...), nil
	}
	return nil, fmt.Errorf("unknown rows event %v", e.Type())
}

// binlogRow converts a row as go-mysql decodes it to the values a
// before-image holds: int64 (unsigned above int64 as text), float64,
// string, []byte, time.Time for TIMESTAMP, nil.
func binlogRow(t *table, row []any) ([]any, error) {
	if len(row) != len(t.Cols) {
		return nil, fmt.Errorf("table %s has %d columns now, %d in the binary log: its definition changed since", t, len(t.Cols), len(row))
	}
	out := make([]any, len(row))
	for i, v := range row {
		c := t.Cols[i]
		switch x := v.(type) {
		case int8:
			out[i] = int64(x)
			if c.Unsigned {
				out[i] = int64(uint8(x))
			}
		case int16:
			out[i] = int64(x)
			if c.Unsigned {
				out[i] = int64(uint16(x))
			}
		case int32:
			out[i] = int64(x)
			if c.Unsigned {
				if c.Type == "mediumint" {
					out[i] = int64(uint32(x) & 0xFFFFFF)
				} else {
					out[i] = int64(uint32(x))
				}
			}
		case int64:
			out[i] = x
			if c.Unsigned && x < 0 {
				out[i] = strconv.FormatUint(uint64(x), 10)
			}
		case int:
			out[i] = int64(x)
		case uint64:
			out[i] = strconv.FormatUint(x, 10)
		case float32:
			out[i] = float64(x)
		case float64:
			out[i] = x
		case string:
			out[i] = x
			if c.Type == "timestamp" {
				if x == "0000-00-00 00:00:00" || strings.HasPrefix(x, "0000-00-00") {
					out[i] = time.Time{}
				} else if ts, err := time.ParseInLocation("2006-01-02 15:04:05.999999", x, time.UTC); err == nil {
					out[i] = ts
				}
			}
		case []byte, nil:
			out[i] = x
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out, nil
}
