package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
)

// The deployed mint limit is 10 an hour per client address; past it the service says how long
// to wait, up to an hour. Waiting a capped minute would only be refused again.
func TestMintRateLimitLongerThanCapFailsAtOnce(t *testing.T) {
	t.Parallel()
	// A 429 whose wait is only in its body (retry_after) is read the same way.
	for name, header := range map[string]bool{"Retry-After": true, "retry_after alone": false} {
		t.Run(name, func(t *testing.T) { mintRateLimitLongerThanCap(t, header) })
	}
}

func mintRateLimitLongerThanCap(t *testing.T, header bool) {
	t.Parallel()
	f := newFakeService(t, func(f *fakeService) {
		f.mintHook = func(_ *fakeService, w http.ResponseWriter, _, _ string) {
			h := w.Header()
			if header {
				h.Set("Retry-After", "3000")
			}
			h.Set("X-RateLimit-Limit", "10")
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", "3000")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "rate limit exceeded", "retry_after": 3000})
		}
	})
	clock := clocktest.New(time.Now())
	c := newTestClient(t, f.URL, withCredential(f.admin), withClock(clock), func(c *Config) { c.MaxRetryAfter = time.Minute })
	start := clock.Now()
	_, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{})
	if waited := clock.Now().Sub(start); waited != 0 {
		t.Errorf("waited %s; the limit must be reported at once", waited)
	}
	if n := f.mints.Load(); n != 1 {
		t.Errorf("%d mint requests, want exactly 1", n)
	}
	var apiErr *APIError
	var unknown *outcomeUnknownError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || errors.As(err, &unknown) || !IsRateLimited(err) {
		t.Fatalf("MintReconciled error = %v, want the 429 *APIError", err)
	}
	for _, want := range []string{"rate limit exceeded", "not retrying: the service asked to wait 50m0s", "(1m0s, max_retry_wait)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	info, ok := rateLimited(err)
	if !ok || info.Limit != 10 || info.RetryAfter != 50*time.Minute {
		t.Fatalf("RateLimited = %+v, %v; want limit 10, retry after 50m", info, ok)
	}
	if want := start.Add(50 * time.Minute); !info.ResetAt.Equal(want) || info.ResetAt.Location() != time.UTC {
		t.Errorf("ResetAt = %s, want %s, in UTC", info.ResetAt, want)
	}
	if len(f.live()) != 0 {
		t.Error("a refused mint left a key")
	}
}

func TestRetryAfterWithinCapIsWaited(t *testing.T) {
	t.Parallel()
	// Equal to the cap: still within it.
	s := newServer(t, jsonResponse(429, `{"error":"rate limit exceeded","retry_after":1}`, "Retry-After", "1"), jsonResponse(201, mintOK))
	clock := clocktest.New(time.Now())
	c := newTestClient(t, s.URL, withClock(clock), func(c *Config) { c.MaxRetryAfter = time.Second })
	start := clock.Now()
	m, err := c.mint(context.Background(), "ci", MintOptions{})
	if err != nil || m.ID != "tok_01HZX3B7N8PQ9K4M5R6T" || s.requests() != 2 {
		t.Errorf("mint = %v after %d requests, want success on the second", err, s.requests())
	}
	if waited := clock.Now().Sub(start); waited != time.Second {
		t.Errorf("waited %s between the attempts, want the 1s asked for", waited)
	}
}

func TestServiceUnavailableLongerThanCapFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(503, `{"error":"maintenance"}`, "Retry-After", "600"), jsonResponse(200, `{"tokens":[]}`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := newTestClient(t, s.URL, func(c *Config) { c.MaxRetryAfter = time.Minute }).listTokens(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "not retrying: the service asked to wait 10m0s") {
		t.Fatalf("List() = %v, want the 503 reported at once", err)
	}
	if _, ok := rateLimited(err); ok || apiErr.RateLimit != nil || s.requests() != 1 {
		t.Errorf("a 503 is not a rate limit (%+v); %d requests", apiErr.RateLimit, s.requests())
	}
}

func TestRateLimitInfo(t *testing.T) {
	t.Parallel()
	in2h := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	for name, tc := range map[string]struct {
		headers []string
		body    string
		limit   int
		after   time.Duration
		slack   time.Duration // allowed error on after, for HTTP dates
	}{
		"retry-after seconds":       {headers: []string{"Retry-After", "120", "X-RateLimit-Limit", "600"}, body: `{"error":"rate limit exceeded","retry_after":7}`, limit: 600, after: 2 * time.Minute},
		"retry-after date":          {headers: []string{"Retry-After", in2h}, after: 2 * time.Hour, slack: time.Minute},
		"body retry_after":          {body: `{"error":"rate limit exceeded","retry_after":42}`, after: 42 * time.Second},
		"body fraction":             {body: `{"error":"x","retry_after":1.5}`, after: 1500 * time.Millisecond},
		"garbage header, body":      {headers: []string{"Retry-After", "soon"}, body: `{"retry_after":7}`, after: 7 * time.Second},
		"reset header":              {headers: []string{"X-RateLimit-Reset", "30", "X-RateLimit-Limit", "10"}, limit: 10, after: 30 * time.Second},
		"body before reset header":  {headers: []string{"X-RateLimit-Reset", "30"}, body: `{"retry_after":5}`, after: 5 * time.Second},
		"reset as a unix time":      {headers: []string{"X-RateLimit-Reset", "1796155060"}},
		"negative body":             {body: `{"retry_after":-3}`},
		"body retry_after a string": {body: `{"retry_after":"3"}`},
		"html body":                 {headers: []string{"X-RateLimit-Limit", "ten"}, body: `<html>slow down</html>`},
		"nothing said":              {},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, jsonResponse(429, tc.body, tc.headers...))
			clock := clocktest.New(time.Now())
			c := newTestClient(t, s.URL, withClock(clock), func(c *Config) { c.MaxRetries = 0 })
			_, err := c.listTokens(context.Background())
			info, ok := rateLimited(err)
			if !ok || info == nil {
				t.Fatalf("rateLimited(%v) = %v, %v", err, info, ok)
			}
			if info.Limit != tc.limit {
				t.Errorf("Limit = %d, want %d", info.Limit, tc.limit)
			}
			if d := info.RetryAfter - tc.after; d < -tc.slack || d > tc.slack {
				t.Errorf("RetryAfter = %s, want %s", info.RetryAfter, tc.after)
			}
			switch {
			case tc.after == 0 && !info.ResetAt.IsZero():
				t.Errorf("ResetAt = %s without a wait", info.ResetAt)
			case tc.after != 0 && !info.ResetAt.Equal(clock.Now().Add(info.RetryAfter)):
				t.Errorf("ResetAt = %s, want the answer's time plus %s", info.ResetAt, info.RetryAfter)
			}
		})
	}
	if info, ok := rateLimited(errors.New("no")); ok || info != nil {
		t.Error("RateLimited accepts a plain error")
	}
	if _, ok := rateLimited(&APIError{StatusCode: 404}); ok {
		t.Error("RateLimited accepts a 404")
	}
	if info, ok := rateLimited(&APIError{StatusCode: 429}); !ok || info == nil || *info != (RateLimitInfo{}) {
		t.Errorf("a 429 without details = %+v, %v", info, ok)
	}
}
