package flows

import (
	"testing"

	examples "github.com/dbfleet/dbfleet/flows"
)

// Every shipped example loads without a problem.
func TestExamplesLoad(t *testing.T) {
	dir := t.TempDir()
	n, err := InstallExamples(dir+"/flows", examples.Examples)
	if err != nil || n != 6 {
		t.Fatalf("install examples: %d files, %v", n, err)
	}
	fls, probs := LoadDir(dir + "/flows")
	if len(probs) > 0 {
		t.Fatalf("examples do not load:\n%v", probs)
	}
	want := map[string]string{"schema-change": KindTicket, "data-fix": KindTicket, "new-database": KindTicket,
		"new-account": KindTicket, "data-export": KindTicket, "nightly-check": KindTask}
	for _, fl := range fls {
		if want[fl.Name] != fl.Kind {
			t.Errorf("flow %s kind %s, want %q", fl.Name, fl.Kind, want[fl.Name])
		}
		delete(want, fl.Name)
	}
	if len(want) > 0 {
		t.Errorf("examples missing: %v", want)
	}
	// Each shipped flow that executes SQL says at review which statement
	// kinds it accepts; one that allows DROP/TRUNCATE asks for the
	// requester's confirmation.
	for _, fl := range fls {
		var rev *reviewCfg
		executes := false
		for _, st := range fl.Steps {
			switch c := st.cfg.(type) {
			case *reviewCfg:
				rev = c
			case *executeCfg:
				executes = true
			}
		}
		if !executes {
			continue
		}
		if rev == nil || rev.kind == "" {
			t.Errorf("flow %s executes SQL without <review kind=...>", fl.Name)
			continue
		}
		if rev.kind != "dml" && rev.confirm == "" {
			t.Errorf("flow %s allows DROP/TRUNCATE without confirm-destroy", fl.Name)
		}
	}
	// A second install into an existing directory writes nothing.
	if n, err := InstallExamples(dir+"/flows", examples.Examples); err != nil || n != 0 {
		t.Fatalf("second install: %d files, %v", n, err)
	}
}
