package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, KeySize)
	key[0] = 1
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range []string{"", "s3cret", strings.Repeat("x", 1000), "ünïcode"} {
		s, err := b.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if pt != "" && strings.Contains(s, pt) {
			t.Fatalf("sealed value contains plaintext")
		}
		got, err := b.Open(s)
		if err != nil || got != pt {
			t.Fatalf("Open(Seal(%q)) = %q, %v", pt, got, err)
		}
		s2, _ := b.Seal(pt)
		if s2 == s {
			t.Fatalf("two seals of the same value are identical: nonce reuse")
		}
	}
	other := make([]byte, KeySize)
	ob, _ := New(other)
	s, _ := b.Seal("pw")
	if _, err := ob.Open(s); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: err = %v, want ErrWrongKey", err)
	}
	if _, err := b.Open(s[:len(s)-4] + "AAAA"); err == nil {
		t.Fatalf("tampered ciphertext opened")
	}
	if _, err := b.Open("plain"); err == nil {
		t.Fatalf("unprefixed value opened")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secret.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create: %v created=%v len=%d", err, created, len(k1))
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o, want 600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("reload: %v created=%v same=%v", err, created, string(k1) == string(k2))
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file accepted: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
		{"AAAA", false},
		{"not base64!!", false},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%q) err=%v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}
