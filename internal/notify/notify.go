// Package notify delivers messages to people: e-mail over SMTP and chat
// robots through their incoming webhooks (WeChat Work, DingTalk, Slack) or
// a generic JSON webhook. Work orders, failovers and alerts all send through
// it. Channels are named in the configuration; a message names its channel.
//
// Webhook URLs carry their robot's secret token, so errors and logs name a
// channel and the URL's host and path, never its query string.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Kind is the kind of a channel.
type Kind string

// Channel kinds.
const (
	Email    Kind = "email"
	WeCom    Kind = "wecom"    // WeChat Work group robot
	DingTalk Kind = "dingtalk" // DingTalk custom robot
	Slack    Kind = "slack"    // Slack incoming webhook
	Webhook  Kind = "webhook"  // generic JSON webhook
	SMS      Kind = "sms"      // an SMS gateway over HTTP (sms.go)
)

// Kinds lists every channel kind.
var Kinds = []Kind{Email, WeCom, DingTalk, Slack, Webhook, SMS}

// Channel is a named destination.
type Channel struct {
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// URL is the webhook address (every kind but email).
	URL string `json:"-" yaml:"url"`
	// Secret signs requests: DingTalk's "sign" parameter, or the generic
	// webhook's X-Dbfleet-Signature header (HMAC-SHA256 of the body).
	Secret string `json:"-" yaml:"secret"`
	// To lists e-mail recipients (email) or phone numbers (sms).
	To []string `json:"to,omitempty" yaml:"to"`
	// Template is an SMS gateway's request body (text/template over
	// SMSRequest); empty: {"to": [...], "text": "...", "id": "..."}.
	Template string `json:"-" yaml:"template"`
	// ContentType of the SMS request; empty: application/json.
	ContentType string `json:"-" yaml:"content_type"`
}

// Validate checks a channel's fields for its kind.
func (c Channel) Validate() error {
	if c.Name == "" {
		return errkind.New(errkind.Invalid, "notify channel: name is required")
	}
	if !slices.Contains(Kinds, c.Kind) {
		return errkind.New(errkind.Invalid, "notify channel %q: unknown kind %q (kinds: email, wecom, dingtalk, slack, webhook, sms)", c.Name, c.Kind)
	}
	if c.Kind == SMS {
		if _, err := smsTemplate(c); err != nil {
			return errkind.New(errkind.Invalid, "notify channel %q: template: %v", c.Name, err)
		}
	}
	if c.Kind == Email {
		if len(c.To) == 0 {
			return errkind.New(errkind.Invalid, "notify channel %q: an email channel needs at least one address in to", c.Name)
		}
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errkind.New(errkind.Invalid, "notify channel %q: url must be an http(s) URL", c.Name)
	}
	return nil
}

// Message is what is sent. Every channel renders it in its own format.
type Message struct {
	Title string
	// Text is the body, plain text; paragraphs separated by blank lines.
	Text string
	// Fields are key/value lines shown under the text, in order.
	Fields []Field
	// Link, when set, is a button or link (e.g. a signed approval link).
	Link     string
	LinkText string
	// To adds e-mail recipients for this message (email channels), e.g.
	// the requester of a ticket, or phone numbers (sms channels).
	To []string
	// ID, when set, identifies the message across retries: webhooks and
	// SMS gateways get it as the X-Dbfleet-Message-Id header, so a
	// receiver can drop a duplicate after a retry.
	ID string
	// Attachments are files sent with an e-mail (other kinds ignore them:
	// they get the text and the link).
	Attachments []Attachment
}

// Attachment is a file attached to an e-mail.
type Attachment struct {
	Name string
	Data []byte
}

// Field is one key/value line of a message.
type Field struct {
	Name, Value string
}

// SMTP configures outgoing e-mail.
type SMTP struct {
	Host     string `yaml:"host" env:"DBFLEET_NOTIFY_SMTP_HOST"`
	Port     int    `yaml:"port" env:"DBFLEET_NOTIFY_SMTP_PORT"`
	User     string `yaml:"user" env:"DBFLEET_NOTIFY_SMTP_USER"`
	Password string `yaml:"password" env:"DBFLEET_NOTIFY_SMTP_PASSWORD"`
	From     string `yaml:"from" env:"DBFLEET_NOTIFY_SMTP_FROM"`
	// TLS is "starttls" (default: required), "tls" (implicit TLS, usually
	// port 465) or "none" (only for a relay on a trusted network).
	TLS     string        `yaml:"tls" env:"DBFLEET_NOTIFY_SMTP_TLS"`
	Timeout time.Duration `yaml:"-"`
}

// Sender delivers messages to configured channels.
type Sender struct {
	smtp     SMTP
	client   *http.Client
	channels map[string]Channel
	now      func() time.Time
}

// New returns a sender for the given channels. A nil client uses one with a
// 10 s timeout.
func New(smtp SMTP, channels []Channel, client *http.Client) (*Sender, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Sender{smtp: smtp, client: client, channels: map[string]Channel{}, now: time.Now}
	for _, c := range channels {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.channels[c.Name]; dup {
			return nil, errkind.New(errkind.Invalid, "notify channel %q is defined twice", c.Name)
		}
		if c.Kind == Email && smtp.Host == "" {
			return nil, errkind.New(errkind.Invalid, "notify channel %q sends e-mail but notify.smtp.host is not set", c.Name)
		}
		s.channels[c.Name] = c
	}
	return s, nil
}

// Channels lists the configured channels, sorted by name.
func (s *Sender) Channels() []Channel {
	out := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Has reports whether a channel of that name is configured.
func (s *Sender) Has(name string) bool {
	_, ok := s.channels[name]
	return ok
}

// SendTo sends msg to the named channel.
func (s *Sender) SendTo(ctx context.Context, channel string, msg Message) error {
	c, ok := s.channels[channel]
	if !ok {
		return errkind.New(errkind.NotFound, "no notify channel %q (configure it under notify.channels)", channel)
	}
	return s.Send(ctx, c, msg)
}

// Send sends msg to c.
func (s *Sender) Send(ctx context.Context, c Channel, msg Message) error {
	var err error
	switch c.Kind {
	case Email:
		err = s.sendMail(ctx, c, msg)
	case WeCom:
		err = s.post(ctx, c, c.URL, wecomBody(msg), checkErrcode, msg.ID)
	case DingTalk:
		u, uerr := s.dingtalkURL(c)
		if uerr != nil {
			return uerr
		}
		err = s.post(ctx, c, u, dingtalkBody(msg), checkErrcode, msg.ID)
	case Slack:
		err = s.post(ctx, c, c.URL, slackBody(msg), nil, msg.ID)
	case Webhook:
		err = s.post(ctx, c, c.URL, s.webhookBody(msg), nil, msg.ID)
	case SMS:
		err = s.sendSMS(ctx, c, msg)
	default:
		return errkind.New(errkind.Invalid, "notify channel %q: unknown kind %q", c.Name, c.Kind)
	}
	if err != nil {
		return fmt.Errorf("notify %s channel %q: %w", c.Kind, c.Name, err)
	}
	return nil
}

// post sends a JSON body and checks the status (and, for robots that answer
// 200 with an error code, the code).
func (s *Sender) post(ctx context.Context, c Channel, target string, body any, check func([]byte) error, id string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return s.postRaw(ctx, c, target, raw, "application/json; charset=utf-8", check, id)
}

// postRaw sends a body and checks the reply.
func (s *Sender) postRaw(ctx context.Context, c Channel, target string, raw []byte, contentType string, check func([]byte) error, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(raw))
	if err != nil {
		return errkind.New(errkind.Invalid, "bad webhook url for %s", redactURL(target))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "dbfleet-notify")
	if id != "" {
		req.Header.Set("X-Dbfleet-Message-Id", id)
	}
	if (c.Kind == Webhook || c.Kind == SMS) && c.Secret != "" {
		m := hmac.New(sha256.New, []byte(c.Secret))
		m.Write(raw)
		req.Header.Set("X-Dbfleet-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The client's error repeats the URL with its token: keep only
		// the cause.
		cause := err
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			cause = ue.Err
		}
		return errkind.Wrap(errkind.Upstream, fmt.Errorf("post to %s: %w", redactURL(target), cause))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return errkind.New(errkind.Upstream, "post to %s: HTTP %d: %s", redactURL(target), resp.StatusCode, snippet(reply))
	}
	if check != nil {
		return check(reply)
	}
	return nil
}

// checkErrcode reads the {"errcode":0,"errmsg":"ok"} reply of WeCom and
// DingTalk robots, which report failures with HTTP 200.
func checkErrcode(reply []byte) error {
	var r struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(reply, &r); err != nil || r.Errcode == nil {
		return errkind.New(errkind.Upstream, "unexpected robot reply: %s", snippet(reply))
	}
	if *r.Errcode != 0 {
		return errkind.New(errkind.Upstream, "robot refused the message: errcode %d: %s", *r.Errcode, r.Errmsg)
	}
	return nil
}

// markdown renders a message as the Markdown subset chat robots accept.
func markdown(msg Message, link func(text, url string) string) string {
	var b strings.Builder
	if msg.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", msg.Title)
	}
	if msg.Text != "" {
		b.WriteString(msg.Text)
		b.WriteString("\n")
	}
	if len(msg.Fields) > 0 {
		b.WriteString("\n")
		for _, f := range msg.Fields {
			fmt.Fprintf(&b, "> %s: %s\n", f.Name, f.Value)
		}
	}
	if msg.Link != "" {
		text := msg.LinkText
		if text == "" {
			text = "Open in dbfleet"
		}
		b.WriteString("\n")
		b.WriteString(link(text, msg.Link))
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func mdLink(text, u string) string { return "[" + text + "](" + u + ")" }

// wecomBody is a WeChat Work group robot markdown message.
func wecomBody(msg Message) any {
	return map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": markdown(msg, mdLink)},
	}
}

// dingtalkBody is a DingTalk custom robot markdown message.
func dingtalkBody(msg Message) any {
	title := msg.Title
	if title == "" {
		title = "dbfleet"
	}
	return map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": title, "text": markdown(msg, mdLink)},
	}
}

// dingtalkURL adds DingTalk's signature parameters when the robot has a
// signing secret: sign = base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
func (s *Sender) dingtalkURL(c Channel) (string, error) {
	if c.Secret == "" {
		return c.URL, nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", errkind.New(errkind.Invalid, "notify channel %q: bad url", c.Name)
	}
	ts := strconv.FormatInt(s.now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(c.Secret))
	m.Write([]byte(ts + "\n" + c.Secret))
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// slackBody is a Slack incoming-webhook message: text for notifications
// plus blocks for the layout.
func slackBody(msg Message) any {
	text := markdown(msg, func(t, u string) string { return "<" + u + "|" + t + ">" })
	text = strings.ReplaceAll(text, "**", "*") // Slack mrkdwn bold
	blocks := []any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": text}}}
	fallback := msg.Title
	if fallback == "" {
		fallback = msg.Text
	}
	return map[string]any{"text": fallback, "blocks": blocks}
}

// WebhookPayload is the body of a generic webhook.
type WebhookPayload struct {
	Title  string            `json:"title"`
	Text   string            `json:"text"`
	Fields map[string]string `json:"fields,omitempty"`
	Link   string            `json:"link,omitempty"`
	SentAt time.Time         `json:"sent_at"`
}

func (s *Sender) webhookBody(msg Message) any {
	p := WebhookPayload{Title: msg.Title, Text: msg.Text, Link: msg.Link, SentAt: s.now().UTC()}
	if len(msg.Fields) > 0 {
		p.Fields = map[string]string{}
		for _, f := range msg.Fields {
			p.Fields[f.Name] = f.Value
		}
	}
	return p
}

// redactURL keeps a URL's scheme, host and path: robot tokens live in the
// query (WeCom key=, DingTalk access_token=) or, for Slack, the path's last
// segments, which are shortened.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	path := u.Path
	if strings.HasPrefix(path, "/services/") { // Slack: /services/T/B/SECRET
		path = "/services/…"
	}
	return u.Scheme + "://" + u.Host + path
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
