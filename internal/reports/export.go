package reports

import (
	"archive/zip"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// cellText writes a value for an export: raw (numbers as digits, times
// in RFC 3339), not formatted for display.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return engine.String(v)
}

// csvCell is cellText for CSV: a text a spreadsheet would run as a
// formula (=, +, -, @ first) is prefixed with a quote. (XLSX cells are
// typed: an inline string is never a formula.)
func csvCell(v any) string {
	s := cellText(v)
	if _, isNum := engine.Float64(v); !isNum && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes one dataset as CSV: a header, then the rows.
func (d *Data) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(d.Columns); err != nil {
		return err
	}
	rec := make([]string, len(d.Columns))
	for _, row := range d.Rows {
		for i := range rec {
			rec[i] = csvCell(row[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes every dataset of the result as a sheet of an Office
// Open XML workbook. It is a minimal writer over archive/zip (inline
// strings, numbers as numbers), not a library: a spreadsheet library
// (excelize) would add megabytes to a binary already too big for what a
// report export needs.
func (r *Result) WriteXLSX(w io.Writer) error {
	z := zip.NewWriter(w)
	put := func(name, body string) error {
		f, err := z.Create(name)
		if err != nil {
			return err
		}
		_, err = io.WriteString(f, body)
		return err
	}
	var sheets, rels, types strings.Builder
	for i, d := range r.Data {
		n := i + 1
		fmt.Fprintf(&sheets, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, xmlEscape(sheetName(d.Name, n)), n, n)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, n, n)
		fmt.Fprintf(&types, `<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, n)
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		writeRow(&b, 1, stringsToAny(d.Columns))
		for j, row := range d.Rows {
			writeRow(&b, j+2, row)
		}
		b.WriteString(`</sheetData></worksheet>`)
		if err := put(fmt.Sprintf("xl/worksheets/sheet%d.xml", n), b.String()); err != nil {
			return err
		}
	}
	if len(r.Data) == 0 {
		return fmt.Errorf("report %s: no dataset to export", r.Report)
	}
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` + types.String() + `</Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>` +
			sheets.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			rels.String() + `</Relationships>`},
	}
	for _, f := range files {
		if err := put(f.name, f.body); err != nil {
			return err
		}
	}
	return z.Close()
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// sheetName is a valid sheet name: at most 31 characters, none of []:*?/\.
func sheetName(name string, n int) string {
	s := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`[]:*?/\`, r) {
			return '_'
		}
		return r
	}, name)
	if utf8.RuneCountInString(s) > 31 || s == "" {
		s = fmt.Sprintf("data%d", n)
	}
	return s
}

func writeRow(b *strings.Builder, n int, row []any) {
	fmt.Fprintf(b, `<row r="%d">`, n)
	for i, v := range row {
		ref := colName(i) + strconv.Itoa(n)
		switch x := v.(type) {
		case nil:
			continue
		case int64, float64, int:
			f, _ := engine.Float64(x)
			fmt.Fprintf(b, `<c r="%s"><v>%s</v></c>`, ref, strconv.FormatFloat(f, 'g', -1, 64))
			continue
		}
		fmt.Fprintf(b, `<c r="%s" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, ref, xmlEscape(cellText(v)))
	}
	b.WriteString(`</row>`)
}

// colName is a spreadsheet column: A..Z, AA...
func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			continue // not allowed in XML 1.0
		}
		b.WriteRune(r)
	}
	var out strings.Builder
	_ = xml.EscapeText(&out, []byte(b.String()))
	return out.String()
}
