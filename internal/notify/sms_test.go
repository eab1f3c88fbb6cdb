package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSMSGateway(t *testing.T) {
	tests := []struct {
		name, template, contentType string
		check                       func(t *testing.T, body string)
	}{
		{name: "default json", check: func(t *testing.T, body string) {
			var got struct {
				To   []string `json:"to"`
				Text string   `json:"text"`
				ID   string   `json:"id"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if strings.Join(got.To, ",") != "+8613800000000,+8613900000000" || got.Text != `[P1] db-1 "MySQLDown" 主库` || got.ID != "m-7" {
				t.Errorf("body %+v", got)
			}
		}},
		{name: "form template", template: `mobile={{ join .To "," | urlquery }}&content={{ urlquery .Text }}`, contentType: "application/x-www-form-urlencoded",
			check: func(t *testing.T, body string) {
				if !strings.HasPrefix(body, "mobile=%2B8613800000000%2C%2B8613900000000&content=%5BP1%5D") {
					t.Errorf("body %q", body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, 200, "ok")
			s, err := New(SMTP{}, []Channel{{Name: "sms", Kind: SMS, URL: r.URL + "/send", To: []string{"+8613800000000"}, Template: tt.template, ContentType: tt.contentType}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SendTo(context.Background(), "sms", Message{Text: `[P1] db-1 "MySQLDown" 主库`, To: []string{"+8613900000000"}, ID: "m-7"}); err != nil {
				t.Fatal(err)
			}
			if len(r.reqs) != 1 || r.reqs[0].Header.Get("X-Dbfleet-Message-Id") != "m-7" {
				t.Fatalf("requests %d, id header %q", len(r.reqs), r.reqs[0].Header.Get("X-Dbfleet-Message-Id"))
			}
			if ct := r.reqs[0].Header.Get("Content-Type"); tt.contentType != "" && ct != tt.contentType {
				t.Errorf("content type %q", ct)
			}
			tt.check(t, string(r.body[0]))
		})
	}
	if _, err := New(SMTP{}, []Channel{{Name: "bad", Kind: SMS, URL: "http://x/", Template: "{{ .Nope"}}, nil); err == nil || !strings.Contains(err.Error(), `"bad": template`) {
		t.Errorf("bad template: %v", err)
	}
}
