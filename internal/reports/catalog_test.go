package reports

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

const v1 = `<report id="hot"><title>one</title><acl><grant role="dba"/></acl></report>`
const v2 = `<report id="hot"><title>two</title><acl><grant role="dba"/></acl></report>`
const broken = `<report id="hot"><title>three</title>
  <datasource instance="x" database="d"/>
  <dataset name="d"><sql>UPDATE t SET a = 1</sql></dataset>
  <acl><grant role="dba"/></acl></report>`

// TestCatalogHotReload: an edit becomes the next version, an invalid one
// is refused with its position while the previous version stays active,
// the same content keeps its number, a removed file removes the report;
// versions are stored on both metadata stores.
func TestCatalogHotReload(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		dir := t.TempDir()
		file := filepath.Join(dir, "hot.xml")
		cat := NewCatalog(dir, db, nil)
		step := 0
		write := func(src string) {
			t.Helper()
			step++
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			// A new mtime for each write, however fast the test runs.
			at := time.Now().Add(time.Duration(step) * time.Second)
			if err := os.Chtimes(file, at, at); err != nil {
				t.Fatal(err)
			}
			if err := cat.Reload(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		check := func(title string, version int, problem string) {
			t.Helper()
			r, ok := cat.Get("hot")
			if !ok || r.Title != title || r.Version != version {
				t.Errorf("active: %v %+v, want %q version %d", ok, r, title, version)
			}
			if got := cat.Problems().Error(); !strings.Contains(got, problem) || (problem == "") != (got == "") {
				t.Errorf("problems %q, want %q", got, problem)
			}
		}
		write(v1)
		check("one", 1, "")
		write(v2)
		check("two", 2, "")
		write(broken)
		check("two", 2, "hot.xml:3:26: <dataset name=\"d\">: UPDATE is not read-only")
		write(v1)
		check("one", 1, "")
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		if err := cat.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := cat.Get("hot"); ok || len(cat.List()) != 0 {
			t.Error("a removed file's report stays active")
		}
	})
}

// TestExport writes CSV (formula-looking text quoted) and an XLSX
// workbook whose sheet holds the values, numbers as numbers.
func TestExport(t *testing.T) {
	d := &Data{Name: "top", Columns: []string{"name", "n", "at"}, Rows: [][]any{
		{"=cmd()", int64(3), time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{"a,b \"q\" <x>", 1.5, nil},
	}}
	var csvBuf bytes.Buffer
	if err := d.WriteCSV(&csvBuf); err != nil {
		t.Fatal(err)
	}
	wantCSV := "name,n,at\n'=cmd(),3,2026-12-01T08:00:00Z\n\"a,b \"\"q\"\" <x>\",1.5,\n"
	if csvBuf.String() != wantCSV {
		t.Errorf("csv:\n%s\nwant:\n%s", csvBuf.String(), wantCSV)
	}
	var x bytes.Buffer
	if err := (&Result{Report: "r", Data: []*Data{d}}).WriteXLSX(&x); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(x.Bytes()), int64(x.Len()))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = string(b)
	}
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"} {
		if parts[name] == "" {
			t.Errorf("xlsx has no %s", name)
		}
	}
	sheet := parts["xl/worksheets/sheet1.xml"]
	for _, want := range []string{`<c r="B2"><v>3</v></c>`, `<c r="B3"><v>1.5</v></c>`, `<t xml:space="preserve">a,b &#34;q&#34; &lt;x&gt;</t>`, `<c r="A1" t="inlineStr">`, `>=cmd()</t>`} {
		if !strings.Contains(sheet, want) {
			t.Errorf("sheet lacks %s:\n%s", want, sheet)
		}
	}
	if !strings.Contains(parts["xl/workbook.xml"], `<sheet name="top"`) {
		t.Errorf("workbook: %s", parts["xl/workbook.xml"])
	}
}
