package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzCanary is the credential every fuzzed client sends; no error or log line may contain it.
const fuzzCanary = "FuzzCanaryCredential-Zq8Xw3"

// leakedKey is what a plaintext key looks like; error bodies may echo one, errors must not.
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
	return c, st, log
}

// checkNoSecrets fails if err or the log holds the credential or anything shaped like a key.
func checkNoSecrets(t *testing.T, err error, log *recordingLogger) {
	t.Helper()
	texts := map[string]string{"log": log.String()}
	if err != nil {
		texts["error"] = err.Error()
	}
	for what, s := range texts {
		if strings.Contains(s, fuzzCanary) {
			t.Fatalf("%s contains the credential: %q", what, s)
		}
		if k := leakedKey.FindString(s); k != "" {
			t.Fatalf("%s contains a key-like string %q: %q", what, k, s)
		}
	}
}

// addSeeds adds the cases that derive from this package's constants, so they cannot drift.
func addSeeds(f *testing.F, statuses ...int) {
	echo := `{"error":"Bearer ` + fuzzCanary + ` cannot use mola_k7x9p2q4r8s1t3u5v6w0x2y3z"}`
	for _, status := range statuses {
		f.Add(status, "application/json", []byte(echo))
		f.Add(status, "text/html", []byte("<html><body>"+strings.Repeat("proxy error "+fuzzCanary+" ", 2000)+"</body></html>"))
	}
}

func FuzzListResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_01HZX3B7N8PQ9K4M5R6T","name":"claude-agent-prod",`+
		`"created_by":"session:user_01HZX","created_at":"2026-04-21T00:00:00Z","last_used_at":"2026-04-21T12:00:00Z"}]}`))
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_1","key":"mola_k7x9p2q4r8s1t3u5v6w0x2y3z","last_used_at":null}]}`))
	f.Add(200, "application/json", []byte(`{"tokens":[{"id":"tok_1","created_at":"`+fuzzCanary+`"}]}`))
	addSeeds(f, 200, 401, 503)
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType)
		tokens, err := c.List(context.Background())
		checkNoSecrets(t, err, log)
		if err != nil {
			return
		}
		if st.status != http.StatusOK {
			t.Fatalf("List succeeded on HTTP %d", st.status)
		}
		for i, tok := range tokens {
			if tok.ID == "" {
				t.Fatalf("token %d has no id: %+v", i, tok)
			}
		}
	})
}

func FuzzMintResponse(f *testing.F) {
	f.Add(201, "application/json", []byte(mintOK))
	f.Add(200, "application/json", []byte(`{"id":"tok_1","key":"mola_k7x9p2q4r8s1t3u5v6w0x2y3z","created_at":"`+fuzzCanary+`"}`))
	addSeeds(f, 201, 400, 429, 501, 502)
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType)
		m, err := c.Mint(context.Background(), "fuzz")
		checkNoSecrets(t, err, log)
		want := 1
		if st.status == http.StatusTooManyRequests {
			want = 2
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
		var unknown *MintOutcomeUnknownError
		if got, want := errors.As(err, &unknown), !refused(st.status); got != want {
			t.Fatalf("HTTP %d: *MintOutcomeUnknownError = %v, want %v: %v", st.status, got, want, err)
		}
	})
}

func FuzzErrorResponse(f *testing.F) {
	f.Add(404, "application/json", "", "", []byte(`{"error":"token not found"}`))
	f.Add(302, "", "https://login.example/?next=mola_k7x9p2q4r8s1t3u5v6w0x2y3z&t="+fuzzCanary, "", []byte(nil))
	f.Add(429, "application/json", "", "Fri, 31 Dec 1999 23:59:59 GMT", []byte(`{"message":"slow down"}`))
	f.Add(503, "text/html", "", "99999999999999999999", []byte("<html>"+fuzzCanary+"</html>"))
	f.Fuzz(func(t *testing.T, status int, contentType, location, retryAfter string, body []byte) {
		c, st, log := fuzzClient(t, status, body, "Content-Type", contentType, "Location", location, "Retry-After", retryAfter)
		err := c.Revoke(context.Background(), "tok_1")
		checkNoSecrets(t, err, log)
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
		if n := utf8.RuneCountInString(apiErr.Message); n > maxMessageRunes+1 || !utf8.ValidString(apiErr.Message) {
			t.Fatalf("message of %d runes (valid UTF-8: %v): %q", n, utf8.ValidString(apiErr.Message), apiErr.Message)
		}
		if strings.ContainsFunc(apiErr.Message, unicode.IsControl) {
			t.Fatalf("message contains control characters: %q", apiErr.Message)
		}
	})
}
