package jsonx

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"90s"`, 90 * time.Second, true},
		{`"1h30m"`, 90 * time.Minute, true},
		{`"0"`, 0, true},
		{`1500000000`, 1500 * time.Millisecond, true},
		{`"2000"`, 2000, true}, // a quoted number of nanoseconds
		{`"-5s"`, -5 * time.Second, true},
		{`"soon"`, 0, false},
		{`"5 minutes"`, 0, false},
		{`"123abc"`, 0, false},
		{`1.5`, 0, false},
		{`true`, 0, false},
		{`null`, 0, false},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err == nil) != tc.ok || d.D() != tc.want {
			t.Errorf("%s: got %v, %v; want %v, ok=%v", tc.in, d.D(), err, tc.want, tc.ok)
		}
		if err != nil && !errkind.Is(err, errkind.Invalid) {
			t.Errorf("%s: error %v is not Invalid", tc.in, err)
		}
	}
	b, err := json.Marshal(struct {
		D Duration `json:"d"`
	}{Duration(90 * time.Second)})
	if err != nil || string(b) != `{"d":"1m30s"}` {
		t.Errorf("marshal: %s, %v", b, err)
	}
	if s := Duration(1234567891).Short(); s != "1.235s" {
		t.Errorf("Short: %s", s)
	}
}
