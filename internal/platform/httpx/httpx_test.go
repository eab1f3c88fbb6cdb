package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{errkind.New(errkind.Invalid, "x"), 400},
		{errkind.New(errkind.Unauthorized, "x"), 401},
		{errkind.New(errkind.Forbidden, "x"), 403},
		{errkind.New(errkind.NotFound, "x"), 404},
		{errkind.New(errkind.Conflict, "x"), 409},
		{errkind.New(errkind.TooMany, "x"), 429},
		{errkind.New(errkind.Upstream, "x"), 502},
		{errkind.New(errkind.Unavailable, "x"), 503},
		{fmt.Errorf("wrapped: %w", errkind.New(errkind.NotFound, "x")), 404},
		{errors.New("plain"), 500},
		{context.Canceled, 503},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestMessageMasksInternalErrors(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := httptest.NewRequest("GET", "/x", nil)
	msg := Message(log, r, errors.New("pq: relation secret_table does not exist"))
	if strings.Contains(msg, "secret_table") || !strings.Contains(msg, "internal error (ref ") {
		t.Fatalf("message %q leaks the internal error", msg)
	}
	if !strings.Contains(logs.String(), "secret_table") {
		t.Fatalf("internal error not logged: %q", logs.String())
	}
	if m := Message(log, r, errkind.New(errkind.Conflict, "host %q already exists", "db1")); m != `host "db1" already exists` {
		t.Fatalf("classified message changed: %q", m)
	}
	logs.Reset()
	Message(log, r, fmt.Errorf("check: %w", context.Canceled))
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a cancelled request was logged as an error: %q", logs.String())
	}
}

func TestReadJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		Port int    `json:"port"`
	}
	tests := []struct {
		name, ct, in, want string
	}{
		{"ok", "application/json", `{"name":"a","port":1}`, ""},
		{"no content type", "", `{"name":"a"}`, ""},
		{"wrong content type", "text/plain", `{}`, "must be application/json"},
		{"syntax", "application/json", "{\n  \"name\": ,\n}", "line 2 column 11"},
		{"type", "application/json", `{"port": "x"}`, `field "port" wants int, got string`},
		{"unknown field", "application/json", `{"nmae": "a"}`, `unknown field "nmae"`},
		{"trailing", "application/json", `{} {}`, "after the object"},
		{"empty", "application/json", ``, "empty body"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
		if tt.ct != "" {
			r.Header.Set("Content-Type", tt.ct)
		}
		var b body
		err := ReadJSON(r, &b)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want Invalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteErrorUnauthorizedChallenge(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/", nil), slog.New(slog.DiscardHandler), errkind.New(errkind.Unauthorized, "no token"))
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" || !strings.Contains(w.Body.String(), `"kind": "unauthorized"`) {
		t.Fatalf("got %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestRealClient(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes([]string{"not-an-ip"}); err == nil {
		t.Fatal("bad proxy address accepted")
	}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client, no header", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"untrusted peer cannot claim an address", "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"through a trusted proxy", "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged left entries are ignored", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops", "10.1.2.3:5000", []string{"203.0.113.9, 192.0.2.1"}, "203.0.113.9"},
		{"several headers", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"garbage stops the walk", "10.1.2.3:5000", []string{"203.0.113.9, junk"}, "10.1.2.3"},
		{"trusted peer without header", "10.1.2.3:5000", nil, "10.1.2.3"},
	}
	for _, tt := range tests {
		var got string
		h := RealClient(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tt.want {
			t.Errorf("%s: client %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A value that cannot be encoded never goes out as a 200 with an empty or
// cut body: the answer is a 500 with a reference, and the log has the
// reference and the cause.
func TestWriteJSONEncodesBeforeSending(t *testing.T) {
	type digest struct {
		Class string  `json:"class"`
		Sum   float64 `json:"sum"`
	}
	tests := []struct {
		name   string
		status int
		v      any
		want   int
		body   string // a substring of the body
		cause  string // logged, "" when nothing is
	}{
		{"plain", http.StatusCreated, map[string]int{"n": 1}, http.StatusCreated, `"n": 1`, ""},
		{"+Inf", http.StatusOK, 1 / zero(), http.StatusInternalServerError, `"kind": "unknown"`, "unsupported value: +Inf"},
		{"+Inf inside", http.StatusOK, []digest{{"a", 1}, {"b", 1 / zero()}}, http.StatusInternalServerError, "internal error (ref ", "unsupported value: +Inf"},
		{"NaN", http.StatusOK, map[string]float64{"x": zero() / zero()}, http.StatusInternalServerError, "internal error (ref ", "unsupported value: NaN"},
		{"channel", http.StatusOK, map[string]any{"c": make(chan int)}, http.StatusInternalServerError, "internal error (ref ", "unsupported type: chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			w := httptest.NewRecorder()
			WriteJSON(w, httptest.NewRequest("GET", "/api/v1/instances/db1/slowlog/top", nil), log, tt.status, tt.v)
			body := w.Body.String()
			if w.Code != tt.want || !strings.Contains(body, tt.body) || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("status %d body %q, want %d with %q", w.Code, body, tt.want, tt.body)
			}
			if w.Header().Get("Content-Length") != fmt.Sprint(len(body)) {
				t.Errorf("Content-Length %s for a body of %d bytes", w.Header().Get("Content-Length"), len(body))
			}
			if tt.cause == "" {
				if logs.Len() > 0 {
					t.Errorf("logged %q", logs.String())
				}
				return
			}
			var got ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("the 500 is not JSON: %v", err)
			}
			ref := strings.TrimSuffix(strings.TrimPrefix(got.Error.Message, "internal error (ref "), "); see the server log")
			if ref == "" || ref == got.Error.Message || strings.Contains(got.Error.Message, "unsupported") {
				t.Fatalf("message %q: want a reference and no detail", got.Error.Message)
			}
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "ref="+ref) || !strings.Contains(l, tt.cause) || !strings.Contains(l, "path=/api/v1/instances/db1/slowlog/top") {
				t.Errorf("log %q: want the reference %s and the cause %q", l, ref, tt.cause)
			}
		})
	}
}

func zero() float64 { return 0 }
