package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// call is the state of one logical request across its attempts. retryablehttp runs the hooks
// one after another on the caller's goroutine, so the fields need no locking.
type call struct {
	c          *Client
	method     string
	target     string // the path requested
	path       string // the path as logs and errors show it: known secrets redacted
	idempotent bool

	ctx     context.Context // the request's own context, which each attempt's trace extends
	attempt int
	start   time.Time     // when the current attempt was handed to the transport
	trace   *attemptTrace // how far the current attempt got
	wait    time.Duration
	// mayHaveCommitted is false only when the last attempt certainly created nothing: it never
	// left this machine, or the service answered with a status that means it refused.
	mayHaveCommitted bool
	stopped          string // why retrying stopped before retries ran out
}

func (c *Client) newCall(method, path string, idempotent bool) *call {
	return &call{c: c, method: method, target: path, path: c.sanitize(path), idempotent: idempotent}
}

func (k *call) before(_ retryablehttp.Logger, r *http.Request, i int) {
	k.attempt = i + 1
	k.start = k.c.clock.Now()
	k.trace = &attemptTrace{}
	// retryablehttp sends this very request next, so the attempt's trace is attached in place.
	*r = *r.WithContext(httptrace.WithClientTrace(k.ctx, k.trace.hooks()))
}

// prepareRetry waits, on the client's clock, the time checkRetry chose before the next attempt.
func (k *call) prepareRetry(*http.Request) error {
	if !sleep(k.ctx, k.c.clock, k.wait) {
		return k.ctx.Err()
	}
	return nil
}

// attemptTrace is the transport's own account (net/http/httptrace) of how far one attempt got.
// Its hooks may run on the transport's goroutines.
type attemptTrace struct {
	askedForConn, gotConn atomic.Bool
}

func (p *attemptTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { p.askedForConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { p.gotConn.Store(true) },
	}
}

// unsent reports whether the current attempt, which failed with err, certainly delivered no
// request: the connection was never made (a refused dial, a failed TLS handshake, a proxy that
// refused CONNECT). Once the transport has a connection, the request may be on its way: whether
// its headers were written is not evidence either way, as the hook that says so can run after a
// timeout or a cancellation has already ended the attempt (HTTP/2 writes the HEADERS frame on
// another goroutine). The trace decides only when the transport reported through it (it asked
// for a connection); otherwise only a dial error proves it.
func (k *call) unsent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return k.trace != nil && k.trace.askedForConn.Load() && !k.trace.gotConn.Load()
}

// checkRetry logs the attempt and decides whether to retry it, and after what wait (k.wait). It
// never returns an error: the response or transport error is passed through untouched so the
// caller can report the last status and server message rather than a generic "giving up".
func (k *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	now := k.c.clock.Now()
	fields := map[string]any{
		"method":      k.method,
		"path":        k.path,
		"attempt":     k.attempt,
		"duration_ms": now.Sub(k.start).Milliseconds(),
	}
	if err != nil {
		fields["error"] = k.c.sanitize(err.Error())
		k.mayHaveCommitted = !k.unsent(err)
	} else {
		fields["status"] = resp.StatusCode
		k.mayHaveCommitted = !refused(resp.StatusCode)
		k.c.serviceClock.observe(resp.Header.Get("Date"), k.start, now)
		if resp.StatusCode == http.StatusTooManyRequests && isCeiling(resp.StatusCode, peekBody(resp)) {
			// Waiting frees no slot of the organization's ceiling; another attempt would only
			// spend mint quota.
			k.c.debug(ctx, "Molecule API request", fields)
			return false, nil
		}
	}
	k.c.debug(ctx, "Molecule API request", fields)

	if ctx.Err() != nil || !k.retryable(resp, err) || k.attempt > k.c.maxRetries {
		return false, nil
	}
	if d, ok := k.c.retryAfter(resp); ok && d > k.c.maxRetryAfter {
		// Waiting less than the service asked would only be refused again (a mint quota refills
		// after up to an hour), so the caller hears at once, with the service's answer.
		k.stopped = fmt.Sprintf("not retrying: the service asked to wait %s, longer than the longest wait allowed (%s, max_retry_wait)",
			d.Round(time.Second), k.c.maxRetryAfter)
		return false, nil
	}
	k.wait = k.c.nextWait(k.attempt, resp)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < k.wait {
		k.stopped = fmt.Sprintf("not retrying: the next attempt, due in %s, would start after the operation's deadline", k.wait.Round(time.Millisecond))
		return false, nil
	}
	fields["wait_ms"] = k.wait.Milliseconds()
	k.c.warn(ctx, "Retrying Molecule API request", fields)
	return true, nil
}

// peekBody reads a response's (small) body and puts it back, for a retry decision that depends
// on it.
func peekBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return b
}

// retryable: rate limiting and never-sent requests are always safe to repeat; server errors and
// broken connections only when repeating cannot create a second key.
func (k *call) retryable(resp *http.Response, err error) bool {
	if err != nil {
		return !permanent(err) && (k.idempotent || k.unsent(err))
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return k.idempotent
	}
	return false
}

// refused reports whether a status means the service declined the request without acting on
// it: a redirect, a client error, or 501 Not Implemented (it does not support the request at all).
// Other 5xx may come from a proxy after the service acted.
func refused(status int) bool {
	return status >= 300 && status < 500 || status == http.StatusNotImplemented
}

// finish adds what the retry loop knows to the final error of a request.
func (k *call) finish(err error) error {
	switch {
	case k.stopped != "":
		return fmt.Errorf("%w; %s", err, k.stopped)
	case k.attempt > 1:
		return fmt.Errorf("%w (after %d attempts)", err, k.attempt)
	}
	return err
}

// permanent transport errors do not go away by waiting: an untrusted certificate, a host name
// that does not exist.
func permanent(err error) bool {
	var cert *tls.CertificateVerificationError
	var dns *net.DNSError
	return errors.As(err, &cert) || errors.As(err, &dns) && dns.IsNotFound
}

// nextWait honours Retry-After (capped) and otherwise backs off exponentially with full jitter,
// floored at waitMin either way so a retry never hammers the service at once: a Retry-After of 0
// or a date already past asks for no wait, not for an immediate burst.
func (c *Client) nextWait(attempt int, resp *http.Response) time.Duration {
	if d, ok := c.retryAfter(resp); ok {
		return max(min(d, c.maxRetryAfter), c.waitMin)
	}
	ceiling := c.waitMin
	for i := 1; i < attempt && ceiling < c.waitMax; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.waitMax)
	return c.waitMin + rand.N(ceiling-c.waitMin+1) //nolint:gosec // G404: jitter only spreads retries; it need not be unpredictable
}

// retryAfter is the wait a 429 or 503 asks for: in its Retry-After header, or, for a 429 without
// one, in its body's retry_after, which the service sends too.
func (c *Client) retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now()); ok || resp.StatusCode != http.StatusTooManyRequests {
		return d, ok
	}
	return bodyRetryAfter(peekBody(resp))
}

// bodyRetryAfter reads the seconds a JSON body's retry_after asks to wait.
func bodyRetryAfter(body []byte) (time.Duration, bool) {
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) != nil || b.RetryAfter == nil || *b.RetryAfter < 0 || *b.RetryAfter >= 1e9 {
		return 0, false
	}
	return time.Duration(*b.RetryAfter * float64(time.Second)), true
}

// parseRetryAfter reads Retry-After as delay seconds or an HTTP date. Anything else, including
// a negative number, is ignored so the caller falls back to its own backoff.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
