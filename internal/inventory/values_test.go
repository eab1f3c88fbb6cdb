package inventory

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"1024", 1024, true},
		{"64GiB", 64 << 30, true},
		{"64G", 64 << 30, true},
		{"2TB", 2e12, true},
		{"1.5T", 3 << 39, true},
		{"512 MiB", 512 << 20, true},
		{"12XB", 0, false},
		{"-5G", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

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
