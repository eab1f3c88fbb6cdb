package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"text/template"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// SMSRequest is what an SMS gateway template sees.
type SMSRequest struct {
	// To are the phone numbers: the channel's and the message's.
	To []string
	// Text is the message text, already cut to its segments by the sender
	// (internal/alerts renders length-aware text).
	Text string
	// ID identifies the message across retries.
	ID string
}

var smsFuncs = template.FuncMap{
	// json renders a value as a JSON literal (quoted, escaped string).
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join": strings.Join,
}

const defaultSMSTemplate = `{"to": {{ json .To }}, "text": {{ json .Text }}, "id": {{ json .ID }}}`

func smsTemplate(c Channel) (*template.Template, error) {
	src := c.Template
	if src == "" {
		src = defaultSMSTemplate
	}
	return template.New(c.Name).Funcs(smsFuncs).Option("missingkey=error").Parse(src)
}

// sendSMS posts the message's text to an HTTP SMS gateway, rendered with
// the channel's template. The text is sent as is: its title, fields and
// link are for richer channels.
func (s *Sender) sendSMS(ctx context.Context, c Channel, msg Message) error {
	to := append(append([]string(nil), c.To...), msg.To...)
	if len(to) == 0 {
		return errkind.New(errkind.Invalid, "no phone number: set the channel's to or the person's phone")
	}
	t, err := smsTemplate(c)
	if err != nil {
		return errkind.New(errkind.Invalid, "template: %v", err)
	}
	text := msg.Text
	if text == "" {
		text = msg.Title
	}
	var body bytes.Buffer
	if err := t.Execute(&body, SMSRequest{To: to, Text: text, ID: msg.ID}); err != nil {
		return errkind.New(errkind.Invalid, "template: %v", err)
	}
	ct := c.ContentType
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	return s.postRaw(ctx, c, c.URL, body.Bytes(), ct, nil, msg.ID)
}
