package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// receiver is a local HTTP server playing a chat robot.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	body  [][]byte
	reply string
	code  int
}

func newReceiver(t *testing.T, code int, reply string) *receiver {
	r := &receiver{reply: reply, code: code}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.body = append(r.body, b)
		r.mu.Unlock()
		w.WriteHeader(r.code)
		io.WriteString(w, r.reply)
	}))
	t.Cleanup(r.Close)
	return r
}

var approval = Message{
	Title:    "Ticket #42 needs your approval",
	Text:     "alice asks to run a schema change on orders-prod.",
	Fields:   []Field{{"Flow", "schema-change"}, {"Environment", "prod"}},
	Link:     "https://dbfleet.example/approve/abc",
	LinkText: "Approve",
}

func TestWebhookFormats(t *testing.T) {
	fixed := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		kind   Kind
		reply  string
		path   string
		secret string
		check  func(t *testing.T, body map[string]any, req *http.Request, raw []byte)
	}{
		{kind: WeCom, reply: `{"errcode":0,"errmsg":"ok"}`, path: "/cgi-bin/webhook/send?key=SECRETKEY123",
			check: func(t *testing.T, body map[string]any, _ *http.Request, _ []byte) {
				if body["msgtype"] != "markdown" {
					t.Errorf("msgtype = %v", body["msgtype"])
				}
				content := body["markdown"].(map[string]any)["content"].(string)
				for _, want := range []string{"**Ticket #42 needs your approval**", "> Environment: prod", "[Approve](https://dbfleet.example/approve/abc)"} {
					if !strings.Contains(content, want) {
						t.Errorf("content lacks %q:\n%s", want, content)
					}
				}
			}},
		{kind: DingTalk, reply: `{"errcode":0,"errmsg":"ok"}`, path: "/robot/send?access_token=TOKEN123456", secret: "SEC0123456789",
			check: func(t *testing.T, body map[string]any, req *http.Request, _ []byte) {
				md := body["markdown"].(map[string]any)
				if md["title"] != approval.Title || !strings.Contains(md["text"].(string), "[Approve](") {
					t.Errorf("markdown = %v", md)
				}
				q := req.URL.Query()
				if q.Get("access_token") != "TOKEN123456" {
					t.Errorf("access_token lost: %v", q)
				}
				ts := q.Get("timestamp")
				if ts != strconv.FormatInt(fixed.UnixMilli(), 10) {
					t.Errorf("timestamp = %q", ts)
				}
				m := hmac.New(sha256.New, []byte("SEC0123456789"))
				m.Write([]byte(ts + "\nSEC0123456789"))
				if q.Get("sign") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
					t.Errorf("sign = %q", q.Get("sign"))
				}
			}},
		{kind: Slack, reply: "ok", path: "/services/T000/B000/XXXXSECRET",
			check: func(t *testing.T, body map[string]any, _ *http.Request, _ []byte) {
				if body["text"] != approval.Title {
					t.Errorf("text = %v", body["text"])
				}
				block := body["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
				if !strings.Contains(block, "<https://dbfleet.example/approve/abc|Approve>") || !strings.Contains(block, "*Ticket #42") {
					t.Errorf("block = %q", block)
				}
			}},
		{kind: Webhook, reply: "", path: "/hook", secret: "hooksecret",
			check: func(t *testing.T, body map[string]any, req *http.Request, raw []byte) {
				if body["title"] != approval.Title || body["link"] != approval.Link || body["fields"].(map[string]any)["Flow"] != "schema-change" {
					t.Errorf("payload = %v", body)
				}
				if body["sent_at"] != "2026-11-24T03:00:00Z" {
					t.Errorf("sent_at = %v", body["sent_at"])
				}
				m := hmac.New(sha256.New, []byte("hooksecret"))
				m.Write(raw)
				if got := req.Header.Get("X-Dbfleet-Signature"); got != "sha256="+hex.EncodeToString(m.Sum(nil)) {
					t.Errorf("signature = %q", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			r := newReceiver(t, 200, tt.reply)
			ch := Channel{Name: "dba", Kind: tt.kind, URL: r.URL + tt.path, Secret: tt.secret}
			s, err := New(SMTP{}, []Channel{ch}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.now = func() time.Time { return fixed }
			if err := s.SendTo(context.Background(), "dba", approval); err != nil {
				t.Fatal(err)
			}
			if len(r.body) != 1 {
				t.Fatalf("receiver got %d requests", len(r.body))
			}
			if ct := r.reqs[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(r.body[0], &body); err != nil {
				t.Fatalf("body %s: %v", r.body[0], err)
			}
			tt.check(t, body, r.reqs[0], r.body[0])
		})
	}
}

func TestWebhookFailures(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		code  int
		reply string
		want  string
	}{
		{"wecom errcode", WeCom, 200, `{"errcode":93000,"errmsg":"invalid webhook url"}`, "errcode 93000: invalid webhook url"},
		{"dingtalk keyword", DingTalk, 200, `{"errcode":310000,"errmsg":"keywords not in content"}`, "errcode 310000"},
		{"wecom not json", WeCom, 200, `<html>`, "unexpected robot reply"},
		{"slack 404", Slack, 404, "no_service", "HTTP 404: no_service"},
		{"webhook 500", Webhook, 500, "boom", "HTTP 500: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.code, tt.reply)
			ch := Channel{Name: "c", Kind: tt.kind, URL: r.URL + "/services/T/B/TOPSECRET?key=TOPSECRET&access_token=TOPSECRET"}
			s, err := New(SMTP{}, []Channel{ch}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = s.SendTo(context.Background(), "c", approval)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "TOPSECRET") {
				t.Errorf("error leaks the robot token: %v", err)
			}
			if errkind.Of(err) != errkind.Upstream {
				t.Errorf("kind = %v, want upstream", errkind.Of(err))
			}
		})
	}
}

func TestDeadWebhookDoesNotLeakToken(t *testing.T) {
	port := testenv.FreePort(t)
	ch := Channel{Name: "c", Kind: WeCom, URL: "http://127.0.0.1:" + itoa(port) + "/cgi-bin/webhook/send?key=TOPSECRET"}
	s, err := New(SMTP{}, []Channel{ch}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendTo(context.Background(), "c", approval)
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), "/cgi-bin/webhook/send") {
		t.Fatalf("error = %v", err)
	}
}

func TestChannelValidation(t *testing.T) {
	tests := []struct {
		name string
		smtp SMTP
		chs  []Channel
		want string
	}{
		{"no name", SMTP{}, []Channel{{Kind: Slack, URL: "http://x"}}, "name is required"},
		{"bad kind", SMTP{}, []Channel{{Name: "a", Kind: "pager", URL: "http://x"}}, `unknown kind "pager"`},
		{"bad url", SMTP{}, []Channel{{Name: "a", Kind: Slack, URL: "ftp://x"}}, "http(s) URL"},
		{"email no to", SMTP{Host: "h"}, []Channel{{Name: "a", Kind: Email}}, "at least one address"},
		{"email no smtp", SMTP{}, []Channel{{Name: "a", Kind: Email, To: []string{"a@b.c"}}}, "notify.smtp.host is not set"},
		{"duplicate", SMTP{}, []Channel{{Name: "a", Kind: Slack, URL: "http://x"}, {Name: "a", Kind: Slack, URL: "http://y"}}, "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.smtp, tt.chs, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errkind.Of(err) != errkind.Invalid {
				t.Fatalf("error = %v, want invalid %q", err, tt.want)
			}
		})
	}
	s, _ := New(SMTP{}, nil, nil)
	if err := s.SendTo(context.Background(), "nope", approval); errkind.Of(err) != errkind.NotFound {
		t.Fatalf("unknown channel: %v", err)
	}
}

func TestEmail(t *testing.T) {
	rx := testenv.StartSMTP(t)
	s, err := New(SMTP{Host: rx.Host, Port: rx.Port, User: "dbfleet", Password: "pw", From: "dbfleet@example.com", TLS: "none"},
		[]Channel{{Name: "dba-mail", Kind: Email, To: []string{"dba@example.com"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := approval
	msg.To = []string{"alice@example.com"}
	if err := s.SendTo(context.Background(), "dba-mail", msg); err != nil {
		t.Fatal(err)
	}
	mails := rx.Wait(1, 5*time.Second)
	if len(mails) != 1 {
		t.Fatalf("got %d mails", len(mails))
	}
	m := mails[0]
	if m.From != "dbfleet@example.com" || strings.Join(m.To, ",") != "dba@example.com,alice@example.com" || m.Auth != "dbfleet" {
		t.Errorf("envelope = %+v", m)
	}
	for _, want := range []string{"Subject: Ticket #42 needs your approval", "text/plain", "text/html", "Environment: prod", "https://dbfleet.example/approve/abc"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("mail lacks %q:\n%s", want, m.Data)
		}
	}

	// STARTTLS is required by default: a server without it is refused,
	// and the password never appears in the error.
	strict, _ := New(SMTP{Host: rx.Host, Port: rx.Port, User: "dbfleet", Password: "s3cretpw", From: "dbfleet@example.com"},
		[]Channel{{Name: "m", Kind: Email, To: []string{"dba@example.com"}}}, nil)
	err = strict.SendTo(context.Background(), "m", msg)
	if err == nil || strings.Contains(err.Error(), "s3cretpw") {
		t.Fatalf("send without STARTTLS: %v", err)
	}
	if len(rx.Mails()) != 1 {
		t.Errorf("a mail went out without TLS")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
