package inventory

import "testing"

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   []string
		want string
		ok   bool
	}{
		{nil, "", true},
		{[]string{"team=pay", "tier=1"}, "team=pay,tier=1", true},
		{[]string{"a=b=c"}, "a=b=c", true},
		{[]string{"novalue"}, "", false},
		{[]string{"1bad=x"}, "", false},
		{[]string{"=x"}, "", false},
	}
	for _, tt := range tests {
		got, err := ParseLabels(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got.String() != tt.want) {
			t.Errorf("ParseLabels(%q) = %v, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
