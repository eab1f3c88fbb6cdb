package auth

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the service: the auth section of the server configuration
// (docs/config.md). Zero values take the defaults of DefaultConfig.
type Config struct {
	// BcryptCost of password hashes. Tests may lower it to bcrypt.MinCost.
	BcryptCost int `yaml:"-"`
	// LoginTTL is how long a login token lives.
	LoginTTL time.Duration `yaml:"login_ttl" env:"DBFLEET_AUTH_LOGIN_TTL"`
	// SessionTTL is how long a web session lives.
	SessionTTL time.Duration `yaml:"session_ttl" env:"DBFLEET_AUTH_SESSION_TTL"`
	// MaxFailures failed logins of one user name from one client address
	// within FailureWindow lock that pair out for the rest of the window.
	MaxFailures   int           `yaml:"max_failures" env:"DBFLEET_AUTH_MAX_FAILURES"`
	FailureWindow time.Duration `yaml:"failure_window" env:"DBFLEET_AUTH_FAILURE_WINDOW"`
	// MaxAddressFailures failed logins from one client address (any user
	// names) within FailureWindow refuse further attempts from it for the
	// rest of the window, except by users who logged in from it before.
	// 0 means 10 x MaxFailures.
	MaxAddressFailures int `yaml:"max_address_failures" env:"DBFLEET_AUTH_MAX_ADDRESS_FAILURES"`
	// SecureCookies marks session cookies Secure (set it behind HTTPS);
	// the HTTP edges read it.
	SecureCookies bool `yaml:"secure_cookies" env:"DBFLEET_AUTH_SECURE_COOKIES"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		BcryptCost:         12,
		LoginTTL:           30 * 24 * time.Hour,
		SessionTTL:         12 * time.Hour,
		MaxFailures:        5,
		FailureWindow:      5 * time.Minute,
		MaxAddressFailures: 50,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BcryptCost == 0 {
		c.BcryptCost = d.BcryptCost
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.LoginTTL, &d.LoginTTL}, {&c.SessionTTL, &d.SessionTTL}, {&c.FailureWindow, &d.FailureWindow},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = d.MaxFailures
	}
	if c.MaxAddressFailures == 0 {
		c.MaxAddressFailures = 10 * c.MaxFailures
	}
	return c
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"auth.login_ttl", c.LoginTTL}, {"auth.session_ttl", c.SessionTTL}, {"auth.failure_window", c.FailureWindow},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if c.MaxFailures < 1 {
		errs = append(errs, errors.New("auth.max_failures: must be at least 1"))
	}
	if c.MaxAddressFailures < c.MaxFailures {
		errs = append(errs, fmt.Errorf("auth.max_address_failures %d: must be at least auth.max_failures (%d)", c.MaxAddressFailures, c.MaxFailures))
	}
	return errors.Join(errs...)
}
