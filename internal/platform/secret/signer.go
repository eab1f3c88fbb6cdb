package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Signer makes and checks signed tokens, "payload.mac" in unpadded
// base64url, under a key derived from the server key for one purpose: a
// token signed for approval links is worthless as an alert link. Work-order
// approval links and alert-message links use it; what a token means
// (expiry, single use) is the caller's.
type Signer struct{ key []byte }

// NewSigner derives the key for purpose from the server key; an empty
// server key gives a Signer that signs nothing (Ready is false).
func NewSigner(key []byte, purpose string) Signer {
	if len(key) == 0 {
		return Signer{}
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return Signer{key: m.Sum(nil)}
}

// Ready reports whether the Signer has a key.
func (s Signer) Ready() bool { return len(s.key) > 0 }

func (s Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}

// Sign returns the token for payload.
func (s Signer) Sign(payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Open returns a token's payload when its signature is this Signer's.
func (s Signer) Open(token string) ([]byte, bool) {
	p64, s64, ok := strings.Cut(token, ".")
	if !ok || !s.Ready() {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, s.mac(payload)) {
		return nil, false
	}
	return payload, true
}
