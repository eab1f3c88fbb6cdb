// Package jsonx holds the JSON value types several domains share, so that a
// value reads and writes the same way in every request body and stored
// document.
package jsonx

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Duration is a time.Duration that writes as "1m30s" in JSON and reads a Go
// duration string ("90s", "1h") or a number of nanoseconds.
type Duration time.Duration

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// Short rounds to milliseconds for display.
func (d Duration) Short() string { return time.Duration(d).Round(time.Millisecond).String() }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "90s" (any time.ParseDuration string) or a whole
// number of nanoseconds, bare or quoted.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		if v, err := time.ParseDuration(str); err == nil {
			*d = Duration(v)
			return nil
		}
		s = str
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = Duration(n)
		return nil
	}
	return errkind.New(errkind.Invalid, "invalid duration %s: want e.g. \"30s\" or \"1h\"", b)
}
