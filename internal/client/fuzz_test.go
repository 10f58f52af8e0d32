package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// fuzzCanary is the credential every fuzzed client sends; no error or log line may contain it.
	fuzzCanary = "FuzzCanaryCredential-Zq8Xw3"
	// fuzzKnownKey is a deployed-shape plaintext every fuzzed client has received before, as if
	// minted earlier in the process: only redaction by value can recognize it.
	fuzzKnownKey = "1_jqiYSzWIQ11MGXG8U1oFLvwP9_FchayyliOS_ZI5o"
	// minCheckedSecret is the shortest secret the invariants look for: the fuzzer may make a
	// key of a few characters, which the client's own words ("map", "POST") contain anyway.
	minCheckedSecret = 20
)

// leakedKey is what a guide-shape plaintext looks like; error bodies may echo one, errors must not.
var leakedKey = regexp.MustCompile(`mola_[a-z0-9]{20,}`)

// stubTransport answers every request with the same response, so the real client code path runs
// without a network.
type stubTransport struct {
	status   int
	header   http.Header
	body     []byte
	requests int
}

func (s *stubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.requests++
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		Status:        http.StatusText(s.status),
		StatusCode:    s.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        s.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(s.body)),
		ContentLength: int64(len(s.body)),
		Request:       req,
	}, nil
}

// fuzzStatus maps any int onto the three-digit codes a real transport can deliver, keeping the
// seeds' real statuses as they are.
func fuzzStatus(n int) int {
	if n < 100 || n > 999 {
		n = 100 + int(uint(n)%900)
	}
	return n
}

// fuzzClient returns a client whose every answer is status, headers and body. One retry with
// nanosecond waits exercises the retry path without slowing the fuzzer.
func fuzzClient(t *testing.T, status int, body []byte, headers ...string) (*Client, *stubTransport, *recordingLogger) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			h.Set(headers[i], headers[i+1])
		}
	}
	st := &stubTransport{status: fuzzStatus(status), header: h, body: body}
	log := &recordingLogger{}
	c, err := New(Config{
		Endpoint:      "https://acme.moleculesai.app",
		Token:         fuzzCanary,
		MaxRetries:    1,
		RetryWaitMin:  time.Nanosecond,
		RetryWaitMax:  time.Nanosecond,
		MaxRetryAfter: time.Nanosecond,
		Logger:        log,
		Transport:     st,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.listLimit = 1 << 20
	c.secrets.add(fuzzKnownKey)
	return c, st, log
}

// checkNoSecrets fails if err or the log holds a secret the client knows (the credential, the
// key it received before, any plaintext the fuzzed answer gave it) or anything shaped like a key.
func checkNoSecrets(t *testing.T, c *Client, err error, log *recordingLogger) {
	t.Helper()
	texts := map[string]string{"log": log.String()}
	if err != nil {
		texts["error"] = err.Error()
	}
	for what, s := range texts {
		for _, secret := range c.secrets.snapshot() {
			if len(secret) >= minCheckedSecret && strings.Contains(s, secret) {
				t.Fatalf("%s contains the secret %q: %q", what, secret, s)
			}
		}
		if k := leakedKey.FindString(s); k != "" {
			t.Fatalf("%s contains a key-like string %q: %q", what, k, s)
		}
	}
	if !slices.Contains(c.secrets.snapshot(), fuzzCanary) || !slices.Contains(c.secrets.snapshot(), fuzzKnownKey) {
		t.Fatalf("the client forgot a secret: %q", c.secrets.snapshot())
	}
}

// addSeeds adds the cases that derive from this package's constants, so they cannot drift.
func addSeeds(f *testing.F, statuses ...int) {
	echo := `{"error":"Bearer ` + fuzzCanary + ` cannot use mola_TESTfakeKEYnotReal0000000 or ` + fuzzKnownKey + `"}`
	for _, status := range statuses {
		f.Add(status, "application/json", []byte(echo))
		f.Add(status, "text/html", []byte("<html><body>"+strings.Repeat("proxy error "+fuzzCanary+" "+fuzzKnownKey+" ", 2000)+"</body></html>"))
	}
}

func FuzzListResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_01HZX3B7N8PQ9K4M5R6T","name":"claude-agent-prod",`+
		`"created_by":"session:user_01HZX","created_at":"2026-04-21T00:00:00Z","last_used_at":"2026-04-21T12:00:00Z"}]}`))
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_1","key":"mola_TESTfakeKEYnotReal0000000","last_used_at":null}]}`))
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_1","created_at":"`+fuzzCanary+`"}]}`))
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_1","created_at":"`+fuzzKnownKey+`"}]}`))
	f.Add(200, "application/json; charset=utf-8", []byte(fmt.Sprintf(`{"count":%d,"tokens":%s}`, ServiceListMax, tokensJSON(ServiceListMax))))
	f.Add(200, "application/json; charset=utf-8", []byte(fmt.Sprintf(`{"count":%d,"tokens":%s}`, ServiceListMax-1, tokensJSON(ServiceListMax-1))))
	addSeeds(f, 200, 401, 429, 503)
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType)
		snap, err := c.list(context.Background())
		checkNoSecrets(t, c, err, log)
		if err != nil {
			return
		}
		if st.status != http.StatusOK {
			t.Fatalf("List succeeded on HTTP %d", st.status)
		}
		for i, tok := range snap.Tokens {
			if tok.ID == "" {
				t.Fatalf("token %d has no id: %+v", i, tok)
			}
			if got, ok := snap.Lookup(tok.ID); !ok || got.ID != tok.ID {
				t.Fatalf("Lookup(%q) = %+v, %v", tok.ID, got, ok)
			}
		}
		// A list cut at the service's maximum proves nothing about absent keys.
		if len(snap.Tokens) >= ServiceListMax && snap.Incomplete == "" {
			t.Fatalf("a list of %d keys is reported complete", len(snap.Tokens))
		}
	})
}

func FuzzMintResponse(f *testing.F) {
	f.Add(201, "application/json", []byte(mintOK))
	f.Add(200, "application/json", []byte(`{"id":"tok_1","key":"mola_TESTfakeKEYnotReal0000000","created_at":"`+fuzzCanary+`"}`))
	f.Add(200, "application/json; charset=utf-8", []byte(deployedMint(deployedID, "claude-agent-prod", deployedKey)))
	f.Add(200, "application/json", []byte(`{"id":"`+deployedID+`","auth_token":"`+deployedKey+`","created_at":"`+deployedKey+`"}`))
	f.Add(200, "application/json", []byte(`{"id":"`+deployedID+`","auth_token":"`+fuzzKnownKey+`"}`))
	addSeeds(f, 200, 201, 400, 429, 501, 502)
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType)
		m, err := c.mint(context.Background(), "fuzz", MintOptions{})
		checkNoSecrets(t, c, err, log)
		// Whatever became of the answer, a plaintext it carried is a live secret from now on.
		var carried struct {
			AuthToken string `json:"auth_token"`
			Key       string `json:"key"`
		}
		if (st.status == http.StatusOK || st.status == http.StatusCreated) && json.Unmarshal(body, &carried) == nil {
			for _, secret := range []string{carried.AuthToken, carried.Key} {
				if secret != "" && !slices.Contains(c.secrets.snapshot(), secret) {
					t.Fatalf("HTTP %d: the answer carried %q, which the client does not mask", st.status, secret)
				}
			}
		}
		// A 429 is retried once, unless its body asks to wait longer than the client allows (its
		// retry_after, when there is no Retry-After) or is the organization's ceiling.
		want := 1
		if st.status == http.StatusTooManyRequests {
			if d, ok := bodyRetryAfter(body); !(ok && d > time.Nanosecond) && !isCeiling(st.status, body) {
				want = 2
			}
		}
		if st.requests != want {
			t.Fatalf("HTTP %d: mint sent %d times, want %d", st.status, st.requests, want)
		}
		if err == nil {
			if st.status != http.StatusOK && st.status != http.StatusCreated {
				t.Fatalf("Mint succeeded on HTTP %d", st.status)
			}
			if m.ID == "" || m.Key == "" || m.Name == "" {
				t.Fatalf("Mint returned an incomplete key: id %q, name %q, key empty: %v", m.ID, m.Name, m.Key == "")
			}
			return
		}
		var pending *ApprovalPendingError
		if errors.As(err, &pending) {
			if st.status != http.StatusAccepted {
				t.Fatalf("HTTP %d read as a pending approval: %v", st.status, err)
			}
			return
		}
		var unknown *outcomeUnknownError
		if got, want := errors.As(err, &unknown), !refused(st.status); got != want {
			t.Fatalf("HTTP %d: *outcomeUnknownError = %v, want %v: %v", st.status, got, want, err)
		}
	})
}

func FuzzErrorResponse(f *testing.F) {
	f.Add(404, "application/json", "", "", []byte(`{"error":"token not found"}`))
	f.Add(302, "", "https://login.example/?next=mola_TESTfakeKEYnotReal0000000&t="+fuzzCanary, "", []byte(nil))
	f.Add(429, "application/json", "", "Fri, 31 Dec 1999 23:59:59 GMT", []byte(`{"message":"slow down"}`))
	f.Add(503, "text/html", "", "99999999999999999999", []byte("<html>"+fuzzCanary+"</html>"))
	f.Add(302, "", "https://login.example/?k="+fuzzKnownKey, "", []byte(nil))
	f.Add(302, "", "%zz"+fuzzKnownKey, "", []byte(nil))
	f.Add(400, "application/json", "", "", []byte(`{"error":"key `+fuzzKnownKey+` is not an id"}`))
	f.Fuzz(func(t *testing.T, status int, contentType, location, retryAfter string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType, "Location", location, "Retry-After", retryAfter)
		err := c.Revoke(context.Background(), deployedID)
		checkNoSecrets(t, c, err, log)
		// A wait longer than the longest allowed (a nanosecond here) is reported at once.
		if d, ok := parseRetryAfter(retryAfter, time.Now()); ok && d > time.Minute &&
			(st.status == http.StatusTooManyRequests || st.status == http.StatusServiceUnavailable) {
			if st.requests != 1 || err == nil || !strings.Contains(err.Error(), "not retrying") {
				t.Fatalf("HTTP %d with Retry-After %q: %d requests, error %v", st.status, retryAfter, st.requests, err)
			}
		}
		switch {
		case st.status == http.StatusOK || st.status == http.StatusNoContent:
			if err != nil {
				t.Fatalf("HTTP %d: Revoke = %v", st.status, err)
			}
			return
		case err == nil:
			t.Fatalf("Revoke succeeded on HTTP %d", st.status)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			// Other 2xx are reported as unexpected, and net/http refuses a redirect whose
			// Location it cannot parse before the client sees the response.
			if st.status/100 == 2 || st.status/100 == 3 && location != "" {
				return
			}
			t.Fatalf("HTTP %d: Revoke = %v, want *APIError", st.status, err)
		}
		if apiErr.StatusCode != st.status {
			t.Fatalf("APIError status %d, answered %d", apiErr.StatusCode, st.status)
		}
		info, limited := rateLimited(err)
		if limited != (st.status == http.StatusTooManyRequests) || (apiErr.RateLimit != nil) != limited {
			t.Fatalf("HTTP %d: RateLimited = %v, APIError.RateLimit = %+v", st.status, limited, apiErr.RateLimit)
		}
		if limited && (info.RetryAfter < 0 || info.Limit < 0 || !info.ResetAt.IsZero() && info.RetryAfter == 0) {
			t.Fatalf("rate limit details %+v", info)
		}
		if n := utf8.RuneCountInString(apiErr.Message); n > maxMessageRunes+1 || !utf8.ValidString(apiErr.Message) {
			t.Fatalf("message of %d runes (valid UTF-8: %v): %q", n, utf8.ValidString(apiErr.Message), apiErr.Message)
		}
		if strings.ContainsFunc(apiErr.Message, unicode.IsControl) {
			t.Fatalf("message contains control characters: %q", apiErr.Message)
		}
	})
}
