// Package secret encrypts stored credentials (database passwords) at rest
// with AES-256-GCM.
//
// The key comes from the configuration (base64 of 32 bytes) or from a key file
// that is generated on first start with 0600 permissions. Ciphertexts carry a
// version prefix ("v1:") so the scheme can change later without ambiguity.
// Plaintexts are never logged and never part of an error message.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

const prefix = "v1:"

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, errkind.New(errkind.Invalid, "secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a base64 (standard or URL alphabet) key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, errkind.New(errkind.Invalid, "secret key must decode to %d bytes, got %d", KeySize, len(k))
			}
			return k, nil
		}
	}
	return nil, errkind.New(errkind.Invalid, "secret key is not valid base64")
}

// LoadOrCreateKeyFile reads the base64 key in path, creating the file with a
// random key and 0600 permissions when it does not exist. An existing file
// readable by group or others is refused.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return nil, false, fmt.Errorf("secret key file %s: %w", path, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, false, errkind.New(errkind.Invalid, "secret key file %s is readable by others (mode %o); chmod 600 it", path, st.Mode().Perm())
		}
		k, err := ParseKey(string(data))
		if err != nil {
			return nil, false, fmt.Errorf("secret key file %s: %w", path, err)
		}
		return k, false, nil
	case errors.Is(err, fs.ErrNotExist):
		k := make([]byte, KeySize)
		if _, err := rand.Read(k); err != nil {
			return nil, false, fmt.Errorf("generate secret key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("secret key file %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create secret key file %s: %w", path, err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, false, fmt.Errorf("write secret key file %s: %w", path, werr)
		}
		return k, true, nil
	default:
		return nil, false, fmt.Errorf("secret key file %s: %w", path, err)
	}
}

// Seal encrypts plaintext; the result is printable and safe to store.
func (b *Box) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrWrongKey means a stored secret does not open with the configured key.
var ErrWrongKey = errors.New("stored secret does not decrypt with the configured key (was secret_key or the key file changed?)")

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	if !strings.HasPrefix(sealed, prefix) {
		return "", errkind.New(errkind.Invalid, "stored secret has an unknown format")
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, prefix))
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errkind.New(errkind.Invalid, "stored secret is corrupt")
	}
	ns := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(pt), nil
}

// VerifyKey makes sure box's key is the one the store's secrets were sealed
// with. The first call on a fresh store records a check value; later calls
// fail clearly when the key changed, instead of failing later on every
// stored credential. Several servers sharing one store must share the key.
func VerifyKey(ctx context.Context, q sqldb.Querier, box *Box) error {
	const key = "secret_check"
	var sealed string
	err := q.QueryRowContext(ctx, "SELECT value FROM platform_meta WHERE key = ?", key).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		v, err := box.Seal("dbfleet-secret-check")
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO platform_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, v); err != nil {
			return fmt.Errorf("record secret key check: %w", err)
		}
		err = q.QueryRowContext(ctx, "SELECT value FROM platform_meta WHERE key = ?", key).Scan(&sealed)
		if err != nil {
			return fmt.Errorf("read secret key check: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read secret key check: %w", err)
	}
	if _, err := box.Open(sealed); err != nil {
		return errkind.New(errkind.Invalid, "the configured secret key is not the one this store was created with, so stored database passwords cannot be decrypted; configure the original secret_key or key file")
	}
	return nil
}
