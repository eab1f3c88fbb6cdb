package secret

import (
	"strings"
	"testing"
)

func TestSigner(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := NewSigner(key, "purpose a")
	tok := a.Sign([]byte(`{"t":7}`))
	if p, ok := a.Open(tok); !ok || string(p) != `{"t":7}` {
		t.Fatalf("Open(Sign) = %q, %v", p, ok)
	}
	p64, sig, _ := strings.Cut(tok, ".")
	altered := NewSigner(key, "purpose a").Sign([]byte(`{"t":8}`))
	p64b, _, _ := strings.Cut(altered, ".")
	for _, tt := range []struct {
		name string
		s    Signer
		tok  string
	}{
		{"other purpose", NewSigner(key, "purpose b"), tok},
		{"other key", NewSigner([]byte("another key of thirty-two bytes!"), "purpose a"), tok},
		{"payload swapped", a, p64b + "." + sig},
		{"no signature", a, p64},
		{"not base64", a, "!!." + sig},
		{"empty", a, ""},
		{"no key", NewSigner(nil, "purpose a"), tok},
	} {
		if p, ok := tt.s.Open(tt.tok); ok {
			t.Errorf("%s: Open accepted %q", tt.name, p)
		}
	}
	if NewSigner(nil, "x").Ready() || !a.Ready() {
		t.Error("Ready: want false without a key, true with one")
	}
}
