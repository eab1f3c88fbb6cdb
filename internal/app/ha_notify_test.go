package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/notify"
)

func TestHANotifierSendsToChannels(t *testing.T) {
	got := make(chan map[string]any, 4)
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		got <- body
	}))
	defer rx.Close()

	sender, err := newNotifier(notify.Config{Channels: []notify.Channel{{Name: "oncall", Kind: "webhook", URL: rx.URL + "/hook"}}})
	if err != nil {
		t.Fatal(err)
	}
	n := haNotifier{sender: sender, channels: []string{"oncall"}}
	e := ha.Event{Kind: "failover", Severity: ha.Critical, Cluster: "orders", Title: "orders: failed over to orders-2",
		Text: "orders-1 died; orders-2 promoted", At: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), Recovery: &ha.Recovery{ID: 7}}
	if err := n.Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	body := <-got
	fields, _ := body["fields"].(map[string]any)
	if !strings.Contains(body["title"].(string), "failed over to orders-2") || fields["Cluster"] != "orders" || fields["Event"] != "failover" || fields["Recovery"] != "7" {
		t.Fatalf("webhook body = %v", body)
	}

	// A channel the configuration does not define stops the start.
	_, err = newHA(ha.Config{Notify: []string{"nope"}}, nil, nil, nil, nil, sender, nil, "", nil)
	if err == nil || !strings.Contains(err.Error(), `ha.notify names channel "nope"`) {
		t.Fatalf("unknown channel: %v", err)
	}
}
