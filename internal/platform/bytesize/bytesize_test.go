package bytesize

import "testing"

func TestParse(t *testing.T) {
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
		{"1KB", 1000, true},
		{"1KiB", 1024, true},
		{"2m", 2 << 20, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSizeText(t *testing.T) {
	var s Size
	if err := s.UnmarshalText([]byte("1GiB")); err != nil || s != 1<<30 {
		t.Fatalf("UnmarshalText(1GiB) = %d, %v", s, err)
	}
	if got := s.String(); got != "1GiB" {
		t.Fatalf("String() = %q, want 1GiB", got)
	}
	if err := s.UnmarshalText([]byte("huge")); err == nil {
		t.Fatal("UnmarshalText(huge): no error")
	}
}
