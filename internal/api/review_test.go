package api_test

import (
	"net/http"
	"testing"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

func TestReviewRoutes(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	body := api.ReviewRequest{Engine: "mariadb", SQL: "UPDATE t SET a = 1;\nSELECT id FROM t;", Env: "prod", Source: "x.sql"}
	if code := f.do(t, "dev", "POST", "/api/v1/review", body, nil); code != http.StatusServiceUnavailable {
		t.Errorf("without a reviewer: %d, want 503", code)
	}
	rv, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.api.Reviewer = rv
	if code := f.do(t, "vic", "POST", "/api/v1/review", body, nil); code != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", code)
	}
	var rep sqlreview.Report
	if code := f.do(t, "dev", "POST", "/api/v1/review", body, &rep); code != http.StatusOK {
		t.Fatalf("developer: %d", code)
	}
	if rep.MaxLevel != "error" || len(rep.Findings) == 0 || rep.Findings[0].Rule != "statement-where-required" || rep.Findings[0].Line != 1 || rep.Source != "x.sql" || rep.Live {
		t.Errorf("report %+v", rep)
	}
	for _, c := range []struct {
		body api.ReviewRequest
		want int
	}{
		{api.ReviewRequest{SQL: "SELECT 1"}, http.StatusBadRequest},                                     // no engine
		{api.ReviewRequest{SQL: "SELECT 1", Engine: "oracle"}, http.StatusBadRequest},                   // unknown engine
		{api.ReviewRequest{SQL: "SELECT 1", Engine: "mysql", Kind: "x"}, http.StatusBadRequest},         // unknown kind
		{api.ReviewRequest{SQL: "SELECT 1", Instance: "nope"}, http.StatusNotFound},                     // unknown instance
		{api.ReviewRequest{SQL: "SELECT 1", Instance: "i1", Engine: "postgres"}, http.StatusBadRequest}, // other dialect
	} {
		if code := f.do(t, "dev", "POST", "/api/v1/review", c.body, nil); code != c.want {
			t.Errorf("%+v: %d, want %d", c.body, code, c.want)
		}
	}
	var rules []sqlreview.RuleInfo
	if code := f.do(t, "dev", "GET", "/api/v1/review/rules?env=test", nil, &rules); code != http.StatusOK || len(rules) < 40 {
		t.Fatalf("rules: %d, %d rules", code, len(rules))
	}
	for _, r := range rules {
		if r.ID == "table-comment-required" && r.Level != sqlreview.LevelOff {
			t.Errorf("test env table-comment-required = %s", r.Level)
		}
	}
}
