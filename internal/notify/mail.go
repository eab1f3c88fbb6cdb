package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// sendMail sends msg as a multipart (text + HTML) e-mail to the channel's
// recipients and the message's own.
func (s *Sender) sendMail(ctx context.Context, c Channel, msg Message) error {
	to := append(append([]string(nil), c.To...), msg.To...)
	m := mail.NewMsg()
	if err := m.From(s.smtp.From); err != nil {
		return errkind.New(errkind.Invalid, "notify.smtp.from %q: %v", s.smtp.From, err)
	}
	if err := m.To(to...); err != nil {
		return errkind.New(errkind.Invalid, "recipients %v: %v", to, err)
	}
	subject := msg.Title
	if subject == "" {
		subject = "dbfleet"
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, plainText(msg))
	m.AddAlternativeString(mail.TypeTextHTML, htmlText(msg))
	for _, a := range msg.Attachments {
		m.AttachReadSeeker(a.Name, bytes.NewReader(a.Data))
	}

	opts := []mail.Option{mail.WithPort(s.smtp.Port)}
	timeout := s.smtp.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	opts = append(opts, mail.WithTimeout(timeout))
	switch strings.ToLower(s.smtp.TLS) {
	case "", "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return errkind.New(errkind.Invalid, "notify.smtp.tls %q: want starttls, tls or none", s.smtp.TLS)
	}
	if s.smtp.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.smtp.User), mail.WithPassword(s.smtp.Password))
	}
	client, err := mail.NewClient(s.smtp.Host, opts...)
	if err != nil {
		return errkind.New(errkind.Invalid, "smtp client for %s: %v", s.smtp.Host, err)
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return errkind.Wrap(errkind.Upstream, fmt.Errorf("send mail via %s:%d: %w", s.smtp.Host, s.smtp.Port, err))
	}
	return nil
}

func plainText(msg Message) string {
	var b strings.Builder
	b.WriteString(msg.Text)
	b.WriteString("\n")
	if len(msg.Fields) > 0 {
		b.WriteString("\n")
		for _, f := range msg.Fields {
			fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
		}
	}
	if msg.Link != "" {
		text := msg.LinkText
		if text == "" {
			text = "Open in dbfleet"
		}
		fmt.Fprintf(&b, "\n%s: %s\n", text, msg.Link)
	}
	return b.String()
}

func htmlText(msg Message) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><body style=\"font-family:sans-serif\">")
	if msg.Title != "" {
		fmt.Fprintf(&b, "<h2>%s</h2>", html.EscapeString(msg.Title))
	}
	for _, para := range strings.Split(msg.Text, "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		fmt.Fprintf(&b, "<p>%s</p>", strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
	}
	if len(msg.Fields) > 0 {
		b.WriteString("<table>")
		for _, f := range msg.Fields {
			fmt.Fprintf(&b, "<tr><th align=\"left\">%s</th><td>%s</td></tr>", html.EscapeString(f.Name), html.EscapeString(f.Value))
		}
		b.WriteString("</table>")
	}
	if msg.Link != "" {
		text := msg.LinkText
		if text == "" {
			text = "Open in dbfleet"
		}
		fmt.Fprintf(&b, "<p><a href=\"%s\">%s</a></p>", html.EscapeString(msg.Link), html.EscapeString(text))
	}
	b.WriteString("</body></html>")
	return b.String()
}
