package audit

import "testing"

func TestDetailText(t *testing.T) {
	tests := []struct {
		name   string
		detail map[string]any
		want   string
	}{
		{"empty", nil, ""},
		{"sorted strings", map[string]any{"b": "2", "a": "1"}, "a=1 b=2"},
		{"map as JSON, not Go syntax", map[string]any{"selector": map[string]any{"engine": "mariadb", "env": "prod"}}, `selector={"engine":"mariadb","env":"prod"}`},
		{"empty error left out", map[string]any{"error": "", "to": "db2"}, "to=db2"},
		{"nil left out", map[string]any{"error": nil, "n": 3}, "n=3"},
		{"list and bool", map[string]any{"dbs": []string{"a", "b"}, "force": true}, `dbs=["a","b"] force=true`},
	}
	for _, tt := range tests {
		if got := (Entry{Detail: tt.detail}).DetailText(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
