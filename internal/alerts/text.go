package alerts

import (
	"fmt"
	"strings"
	"unicode/utf16"
)

// GSM 03.38 default alphabet and its extension table (two septets each).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExt = "^{}\\[~]|€\f"
)

// SMSLength returns how a text is encoded and how many units it takes:
// GSM-7 septets, or UTF-16 code units for UCS-2.
func SMSLength(s string) (enc string, units int) {
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			units++
		case strings.ContainsRune(gsmExt, r):
			units += 2
		default:
			return "UCS-2", len(utf16.Encode([]rune(s)))
		}
	}
	return "GSM-7", units
}

// SMSSegments is how many SMS segments a text takes: GSM-7 160 septets in
// one, 153 per segment when concatenated; UCS-2 70, then 67.
func SMSSegments(s string) int {
	enc, n := SMSLength(s)
	single, multi := 160, 153
	if enc == "UCS-2" {
		single, multi = 70, 67
	}
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}

// smsCapacity is how many units maxSegments hold in an encoding.
func smsCapacity(enc string, segs int) int {
	if enc == "UCS-2" {
		if segs == 1 {
			return 70
		}
		return 67 * segs
	}
	if segs == 1 {
		return 160
	}
	return 153 * segs
}

func (l Line) short() string {
	s := l.Subject
	if s != "" {
		s += " "
	}
	s += l.Name
	if l.Failover {
		s += "+failover"
	}
	switch {
	case l.Covers > 0 && l.Same > 0:
		s += fmt.Sprintf("(+%d,%d symptoms)", l.Same, l.Covers)
	case l.Covers > 0:
		s += fmt.Sprintf("(%d symptoms)", l.Covers)
	case l.Same > 0:
		s += fmt.Sprintf("(+%d)", l.Same)
	}
	return s
}

func (d Digest) header() string {
	var b strings.Builder
	if d.Escalated > 0 {
		b.WriteString("ESCALATED ")
	}
	if d.Alerts > 0 {
		fmt.Fprintf(&b, "[%s] %d alert", d.Priority, d.Alerts)
		if d.Alerts > 1 {
			b.WriteString("s")
		}
		if d.Instances > 1 {
			fmt.Fprintf(&b, "/%d inst", d.Instances)
		}
	} else {
		fmt.Fprintf(&b, "[OK] %d resolved", d.Resolved)
	}
	return b.String()
}

// SMSText renders a digest for SMS in at most maxSegments segments: the
// header, the most severe lines first, then "+N more" and the link, which
// is always kept.
func SMSText(d Digest, link string, maxSegments int) string {
	tail := ""
	if d.Alerts > 0 && d.Resolved > 0 {
		tail = fmt.Sprintf("; %d resolved", d.Resolved)
	}
	if d.Held > 0 {
		tail += fmt.Sprintf("; %d delayed by budget", d.Held)
	}
	if d.BudgetSpent {
		tail += "; budget spent"
	}
	var firing []Line
	for _, l := range d.Lines {
		if !l.Resolved || d.Alerts == 0 {
			firing = append(firing, l)
		}
	}
	build := func(n int) string {
		var parts []string
		for _, l := range firing[:n] {
			parts = append(parts, l.short())
		}
		s := d.header()
		if len(parts) > 0 {
			s += ": " + strings.Join(parts, ", ")
		}
		if rest := len(firing) - n; rest > 0 {
			s += fmt.Sprintf(", +%d more", rest)
		}
		s += tail
		if link != "" {
			s += " " + link
		}
		return s
	}
	for n := len(firing); n > 0; n-- {
		s := build(n)
		if SMSSegments(s) <= maxSegments {
			return s
		}
	}
	s := build(0)
	if SMSSegments(s) <= maxSegments {
		return s
	}
	// Not even the header fits: cut the header, keep the link.
	enc, _ := SMSLength(s)
	limit := smsCapacity(enc, maxSegments) - len(link) - 2
	r := []rune(d.header())
	for len(r) > 0 && limit > 0 {
		if _, n := SMSLength(string(r)); n <= limit {
			break
		}
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r) + "… " + link)
}

// Title and body of a digest for chat and e-mail: every line.
func (d Digest) Title() string {
	t := d.header()
	for _, l := range d.Lines {
		return t + ": " + l.short()
	}
	return t
}

// Body lists every line of a digest.
func (d Digest) Body() string {
	var b strings.Builder
	for _, l := range d.Lines {
		state := l.Priority.String()
		if l.Resolved {
			state = "resolved"
		}
		fmt.Fprintf(&b, "- [%s] %s", state, l.short())
		if l.Summary != "" {
			fmt.Fprintf(&b, ": %s", l.Summary)
		}
		if !l.StartsAt.IsZero() {
			fmt.Fprintf(&b, " (since %s)", l.StartsAt.UTC().Format("15:04"))
		}
		b.WriteString("\n")
	}
	if d.Held > 0 {
		fmt.Fprintf(&b, "\n%d updates waited for the message budget; they are all above.\n", d.Held)
	}
	if d.BudgetSpent {
		b.WriteString("\nThis is the last message the budget allows for now: further updates wait, the link shows every alert.\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
