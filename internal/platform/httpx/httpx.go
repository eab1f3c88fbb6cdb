// Package httpx holds what every HTTP edge of dbfleet shares: the one mapping
// from error kinds to status codes, JSON reading and writing, client
// addresses, and the request metrics and logging middleware.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Status maps an error's kind to an HTTP status code. It is the only place
// that does.
func Status(err error) int {
	if errkind.Of(err) == errkind.Unknown && errors.Is(err, context.Canceled) {
		return http.StatusServiceUnavailable // the client left, or the server is stopping
	}
	switch errkind.Of(err) {
	case errkind.Invalid:
		return http.StatusBadRequest
	case errkind.Unauthorized:
		return http.StatusUnauthorized
	case errkind.Forbidden:
		return http.StatusForbidden
	case errkind.NotFound:
		return http.StatusNotFound
	case errkind.Conflict:
		return http.StatusConflict
	case errkind.TooMany:
		return http.StatusTooManyRequests
	case errkind.Unavailable:
		return http.StatusServiceUnavailable
	case errkind.Upstream:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON shape of every API error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names the kind and says what went wrong; Rule names the
// check that refused the request, when one did (the query console's
// refusals: "function-not-allowed", "not-granted"...).
type ErrorDetail struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Rule    string `json:"rule,omitempty"`
}

// ruled is an error that names the rule that refused the request.
type ruled interface{ RefusalRule() string }

// WriteJSON writes v with status. v is encoded before anything is sent, so
// a value that cannot be encoded (a NaN or infinite number, a channel)
// never goes out as a 200 with an empty or cut body: the answer is then a
// 500 with a reference, and the cause is logged with it.
func WriteJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		msg := internalError(log, r, fmt.Errorf("encode the %d response as JSON: %w", status, err))
		buf.Reset()
		enc.Encode(ErrorBody{Error: ErrorDetail{Kind: errkind.Unknown.String(), Message: msg}})
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Message is what a user may see of err. Classified errors speak for
// themselves; unclassified ones are logged with a reference and shown as
// "internal error (ref ...)", so no internal detail leaks.
func Message(log *slog.Logger, r *http.Request, err error) string {
	if errkind.Of(err) == errkind.Unknown && errors.Is(err, context.Canceled) {
		log.Debug("request cancelled", "method", r.Method, "path", r.URL.Path)
		return "request cancelled"
	}
	if Status(err) != http.StatusInternalServerError {
		return err.Error()
	}
	return internalError(log, r, err)
}

// internalError logs err with a new reference and returns the message a
// user may see instead.
func internalError(log *slog.Logger, r *http.Request, err error) string {
	ref := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	log.Error("request failed", "method", r.Method, "path", r.URL.Path, "ref", ref, "err", err)
	return "internal error (ref " + ref + "); see the server log"
}

// WriteError writes err as an ErrorBody with the status of its kind.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := Status(err)
	msg := Message(log, r, err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dbfleet"`)
	}
	detail := ErrorDetail{Kind: errkind.Of(err).String(), Message: msg}
	var rl ruled
	if status != http.StatusInternalServerError && errors.As(err, &rl) {
		detail.Rule = rl.RefusalRule()
	}
	WriteJSON(w, r, log, status, ErrorBody{Error: detail})
}

// MaxBody bounds request bodies.
const MaxBody = 1 << 20

// ReadJSON decodes the request body into v, refusing unknown fields,
// trailing data and bodies over MaxBody, with a message that says where the
// JSON is wrong.
func ReadJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errkind.New(errkind.Invalid, "request body must be application/json, got %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return errkind.New(errkind.Invalid, "read request body: %v", err)
	}
	if len(body) > MaxBody {
		return errkind.New(errkind.Invalid, "request body larger than %d bytes", MaxBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errkind.New(errkind.Invalid, "malformed JSON: %s", describeJSONError(body, err))
	}
	if dec.More() {
		return errkind.New(errkind.Invalid, "malformed JSON: unexpected data after the object")
	}
	return nil
}

func describeJSONError(body []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(body, se.Offset-1) // Offset counts the offending byte as read
		return fmt.Sprintf("line %d column %d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := position(body, te.Offset)
		return fmt.Sprintf("line %d column %d: field %q wants %s, got %s", line, col, te.Field, te.Type, te.Value)
	case errors.Is(err, io.EOF):
		return "empty body"
	default:
		return err.Error()
	}
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// ClientAddr is the caller's address as the audit log records it.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Metrics are the platform's own HTTP metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbfleet_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dbfleet_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Instrument counts and times requests by the mux pattern that served them
// (not the raw path, so names in URLs do not explode label cardinality) and
// logs them at debug level.
func (m *Metrics) Instrument(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route).Observe(took.Seconds())
		log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "took", took, "addr", ClientAddr(r))
	})
}

// SecurityHeaders sets headers every response should carry.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// ParsePrefixes reads trusted proxy addresses: CIDRs or single addresses.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid proxy address %q: want an IP or a CIDR such as 10.0.0.0/8", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// RealClient makes r.RemoteAddr the real client's address when the request
// comes through a trusted proxy: the direct peer must be in trusted, and
// the client is then the rightmost X-Forwarded-For entry that is not itself
// a trusted proxy (entries further left are client-supplied and could be
// forged). Without trusted proxies it changes nothing.
func RealClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && isTrusted(peer.Addr()) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break
				}
				if !isTrusted(a) || i == 0 {
					r2 := r.Clone(r.Context())
					r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
					next.ServeHTTP(w, r2)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
