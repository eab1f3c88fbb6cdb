package notify

import (
	"errors"
	"fmt"
	"strings"
)

// Config is where notifications go: the notify section of the server
// configuration (docs/config.md). An SMTP relay for e-mail, and named
// channels that flows, failovers and alerts refer to.
type Config struct {
	SMTP     SMTP      `yaml:"smtp"`
	Channels []Channel `yaml:"channels"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{SMTP: SMTP{Port: 587, TLS: "starttls"}}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	switch strings.ToLower(c.SMTP.TLS) {
	case "", "starttls", "tls", "none":
	default:
		errs = append(errs, fmt.Errorf("notify.smtp.tls %q: want starttls, tls or none", c.SMTP.TLS))
	}
	if c.SMTP.Port < 0 || c.SMTP.Port > 65535 {
		errs = append(errs, fmt.Errorf("notify.smtp.port %d: want a TCP port", c.SMTP.Port))
	}
	if _, err := New(c.SMTP, c.Channels, nil); err != nil {
		errs = append(errs, fmt.Errorf("notify.channels: %w", err))
	}
	return errors.Join(errs...)
}
