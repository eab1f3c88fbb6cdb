package query

import "context"

// The audit entry of a statement records what the server received: the
// text re-rendered from the checked tree (or the Redis command words),
// never the text as written. A run notes it in its context just before
// sending, so the entry has it whether the server then answered or not.

type sentKey struct{}

// sentNote is what one run sent.
type sentNote struct{ text string }

// withSentNote starts a run whose sent text record will report.
func withSentNote(ctx context.Context) context.Context {
	return context.WithValue(ctx, sentKey{}, &sentNote{})
}

// noteSent records that text is about to be sent.
func noteSent(ctx context.Context, text string) {
	if n, ok := ctx.Value(sentKey{}).(*sentNote); ok {
		n.text = text
	}
}

// sentText is what the run of ctx sent, "" when nothing was.
func sentText(ctx context.Context) string {
	if n, ok := ctx.Value(sentKey{}).(*sentNote); ok {
		return n.text
	}
	return ""
}
