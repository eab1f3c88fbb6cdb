package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Series is a history read from a file: timestamps and values (NaN for a
// missing value).
type Series struct {
	DS []time.Time
	Y  []float64
}

// Date layouts ReadCSV accepts in the ds column; a value without a zone is
// taken as UTC (Prophet's timestamps are naive).
var dateLayouts = []string{
	"2006-01-02",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseDS parses one timestamp of the ds column.
func ParseDS(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("ds %q: want a date or time such as 2006-01-02, 2006-01-02 15:04:05 or RFC 3339", s)
}

// ReadCSV reads a "ds,y" CSV (a header naming both columns, in any order;
// other columns are ignored). An empty y, NA or NaN is a missing value.
// Errors name the file (name), line and column.
func ReadCSV(r io.Reader, name string) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Series{}, errkind.New(errkind.Invalid, "%s: empty file: want a header line \"ds,y\" and rows of data", name)
	}
	if err != nil {
		return Series{}, csvError(name, err)
	}
	iDS, iY := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "ds":
			iDS = i
		case "y":
			iY = i
		}
	}
	if iDS < 0 || iY < 0 {
		return Series{}, errkind.New(errkind.Invalid, "%s:1: header %q: want columns named ds and y", name, strings.Join(header, ","))
	}
	var s Series
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Series{}, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) <= iDS || len(rec) <= iY {
			return Series{}, errkind.New(errkind.Invalid, "%s:%d: %d fields, want at least %d (ds and y)", name, line, len(rec), max(iDS, iY)+1)
		}
		ds, err := ParseDS(rec[iDS])
		if err != nil {
			l, c := cr.FieldPos(iDS)
			return Series{}, errkind.New(errkind.Invalid, "%s:%d:%d: %v", name, l, c, err)
		}
		y, err := parseY(rec[iY])
		if err != nil {
			l, c := cr.FieldPos(iY)
			return Series{}, errkind.New(errkind.Invalid, "%s:%d:%d: %v", name, l, c, err)
		}
		s.DS = append(s.DS, ds)
		s.Y = append(s.Y, y)
	}
	return s, nil
}

func parseY(v string) (float64, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "na", "nan", "null":
		return math.NaN(), nil
	}
	y, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("y %q: want a number (or empty/NA for a missing value)", v)
	}
	if math.IsInf(y, 0) {
		return 0, fmt.Errorf("y %q: infinite values are not allowed", v)
	}
	return y, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errkind.New(errkind.Invalid, "%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// WriteCSV writes "ds,yhat,yhat_lower,yhat_upper" rows. Timestamps are
// dates when every one is at midnight UTC, else "2006-01-02 15:04:05".
func WriteCSV(w io.Writer, points []Point) error {
	layout := DSLayout(points)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"ds", "yhat", "yhat_lower", "yhat_upper"}); err != nil {
		return err
	}
	for _, p := range points {
		rec := []string{p.DS.UTC().Format(layout), formatFloat(p.Yhat), formatFloat(p.Lower), formatFloat(p.Upper)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// DSLayout is the time layout points are written with: dates alone when
// every point falls on a UTC midnight, else date and time (UTC, as read).
func DSLayout(points []Point) string {
	for _, p := range points {
		if !p.DS.Equal(p.DS.Truncate(24 * time.Hour)) {
			return "2006-01-02 15:04:05"
		}
	}
	return "2006-01-02"
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
