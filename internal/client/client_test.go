package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
)

const testCredential = "test-credential-0123"

// recordingLogger keeps every line so tests can assert what was, and was not, logged.
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) Debug(_ context.Context, msg string, f map[string]any) {
	l.add("DEBUG", msg, f)
}
func (l *recordingLogger) Warn(_ context.Context, msg string, f map[string]any) {
	l.add("WARN", msg, f)
}

func (l *recordingLogger) add(level, msg string, f map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %s %v", level, msg, f))
}

func (l *recordingLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *recordingLogger) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// testConfig is a client's configuration for tests, on a fake clock of its own: its waits
// (retries, the grace window after a lost answer) end at once, moving the clock.
func testConfig(endpoint string) Config {
	return Config{
		Endpoint:     endpoint,
		Token:        testCredential,
		UserAgent:    "client-test",
		MaxRetries:   3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		Clock:        clocktest.New(time.Now()),
	}
}

func withClock(clock Clock) func(*Config) { return func(c *Config) { c.Clock = clock } }

// realTime is for tests whose waits race real events (a person deciding an approval, mints of
// other goroutines).
func realTime(c *Config) { c.Clock = SystemClock{} }

// listTokens lists the keys, bypassing the shared snapshot.
func (c *Client) listTokens(ctx context.Context) ([]Token, error) {
	snap, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	return snap.Tokens, nil
}

func newTestClient(t *testing.T, endpoint string, edit ...func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(endpoint)
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// server answers with the scripted handlers in turn (the last one repeats) and counts requests.
type server struct {
	*httptest.Server
	n atomic.Int32
}

func newServer(t *testing.T, handlers ...http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(s.n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() int { return int(s.n.Load()) }

func respond(status int, contentType, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		// A failed write means the client hung up, which the test sees from the client side.
		_, _ = io.WriteString(w, body)
	}
}

func jsonResponse(status int, body string, headers ...string) http.HandlerFunc {
	return respond(status, "application/json", body, headers...)
}

// endless streams a body that never ends, until the client hangs up.
func endless(status int, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		chunk := []byte(strings.Repeat("x", 64<<10))
		if contentType == "application/json" {
			_, _ = io.WriteString(w, `{"tokens":[{"id":"tok_1","name":"`)
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// stall answers nothing until the client gives up. The body is drained first: only then does
// the server notice the client hanging up and cancel the request's context.
func stall(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// hangUp closes the connection without answering, after reading the request.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

const mintOK = `{"id":"tok_01HZX3B7N8PQ9K4M5R6T","name":"ci","key":"mola_TESTfakeKEYnotReal0000000",` +
	`"created_by":"admin-token","created_at":"2026-04-21T00:00:00Z"}`

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]http.Header{}
	record := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Method] = r.Header.Clone()
			mu.Unlock()
			next(w, r)
		}
	}
	s := newServer(t, record(jsonResponse(201, mintOK)), record(jsonResponse(200, `{"tokens":[]}`)), record(respond(204, "", "")))
	c := newTestClient(t, s.URL)
	ctx := context.Background()
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.listTokens(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "tok_1"); err != nil {
		t.Fatal(err)
	}
	for method, h := range seen {
		if got := h.Get("Authorization"); got != "Bearer "+testCredential {
			t.Errorf("%s Authorization = %q", method, got)
		}
		if got := h.Get("User-Agent"); got != "client-test" {
			t.Errorf("%s User-Agent = %q", method, got)
		}
		if got := h.Get("Accept"); got != "application/json" {
			t.Errorf("%s Accept = %q", method, got)
		}
		wantCT := ""
		if method == http.MethodPost {
			wantCT = "application/json"
		}
		if got := h.Get("Content-Type"); got != wantCT {
			t.Errorf("%s Content-Type = %q, want %q", method, got, wantCT)
		}
		if got, ok := h[OrgIDHeader]; ok {
			t.Errorf("%s sent %s %q without an OrgID configured", method, OrgIDHeader, got)
		}
		wantCache := ""
		if method == http.MethodGet {
			wantCache = "no-cache"
		}
		if got := h.Get("Cache-Control"); got != wantCache {
			t.Errorf("%s Cache-Control = %q, want %q", method, got, wantCache)
		}
	}
	if len(seen) != 3 {
		t.Errorf("saw methods %v", seen)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*Config){
		"no token":         func(c *Config) { c.Token = "" },
		"newline":          func(c *Config) { c.Token = testCredential + "\n" },
		"bad endpoint":     func(c *Config) { c.Endpoint = "http://example.com" },
		"negative":         func(c *Config) { c.MaxRetries = -1 },
		"min above max":    func(c *Config) { c.RetryWaitMin, c.RetryWaitMax = time.Second, time.Millisecond },
		"negative timeout": func(c *Config) { c.RequestTimeout = -time.Second },
		"org id slug":      func(c *Config) { c.OrgID = "acme" },
		"org id upper":     func(c *Config) { c.OrgID = "EA3CFCF1-CB9C-53B4-90FD-C53123569C4A" },
		"org id token":     func(c *Config) { c.OrgID = testCredential },
		"org id braces":    func(c *Config) { c.OrgID = "{ea3cfcf1-cb9c-53b4-90fd-c53123569c4a}" },
		"org id newline":   func(c *Config) { c.OrgID = "ea3cfcf1-cb9c-53b4-90fd-c53123569c4a\n" },
	} {
		cfg := testConfig("http://127.0.0.1:1")
		edit(&cfg)
		_, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), testCredential) {
			t.Errorf("%s: error echoes the credential: %v", name, err)
		}
	}
	// Only a maximum given: the default minimum yields to it.
	if _, err := New(Config{Endpoint: "http://127.0.0.1:1", Token: "t", RetryWaitMax: time.Millisecond}); err != nil {
		t.Errorf("New with only RetryWaitMax: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1", func(c *Config) { *c = Config{Endpoint: c.Endpoint, Token: c.Token} })
	if c.maxRetries != 0 || c.http.Timeout != DefaultRequestTimeout || c.waitMin != 500*time.Millisecond ||
		c.waitMax != 30*time.Second || c.maxRetryAfter != time.Minute || c.listLimit != 2<<20 || c.userAgent == "" {
		t.Error("defaults not applied")
	}
	tr := defaultTransport()
	if tr.MaxIdleConnsPerHost < 64 || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("transport: MaxIdleConnsPerHost=%d proxy=%v http2=%v", tr.MaxIdleConnsPerHost, tr.Proxy != nil, tr.ForceAttemptHTTP2)
	}
	if tr == http.DefaultTransport {
		t.Error("the default transport must be a clone, not the shared one")
	}
}

func TestDecodeSuccessResponses(t *testing.T) {
	t.Parallel()
	s := newServer(t,
		jsonResponse(200, `{"tokens":[{"id":"tok_A","name":"a","created_by":"session:u","created_at":"2026-04-21T02:00:00+02:00",`+
			`"last_used_at":"2026-04-21T12:00:00Z","role":"admin","scopes":["x"],"key":"mola_shouldnotbeexposed0000000"},`+
			`{"id":"tok_B","name":"b","created_at":"2026-04-21T00:00:00Z","last_used_at":null},{"id":"tok_C"}],"next":null}`),
		jsonResponse(200, `{"id":"tok_M","key":"mola_TESTfakeKEYnotReal0000000","created_at":"2026-04-21T00:00:00Z","extra":{"a":[1,2]}}`))
	c := newTestClient(t, s.URL)
	tokens, err := c.listTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 3 {
		t.Fatalf("got %d tokens", len(tokens))
	}
	a := tokens[0]
	if a.ID != "tok_A" || a.Name != "a" || a.CreatedBy != "session:u" || a.LastUsedAt == nil ||
		!a.CreatedAt.Equal(time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("token A = %+v", a)
	}
	if tokens[1].LastUsedAt != nil || tokens[2].LastUsedAt != nil || !tokens[2].CreatedAt.IsZero() {
		t.Errorf("never-used tokens: %+v %+v", tokens[1], tokens[2])
	}

	m, err := c.mint(context.Background(), "requested-name", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "tok_M" || m.Key != "mola_TESTfakeKEYnotReal0000000" || m.Name != "requested-name" {
		t.Errorf("minted = %+v", m.Token)
	}
}

func TestMalformedListResponses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		want string
	}{
		"empty body":        {respond(200, "application/json", ""), "cannot understand"},
		"truncated":         {jsonResponse(200, `{"tokens":[{"id":"tok_1"`), "cannot understand"},
		"html":              {respond(200, "text/html; charset=utf-8", "<html><body>login</body></html>"), "text/html"},
		"no tokens":         {jsonResponse(200, `{"keys":[]}`), `no "tokens" array`},
		"null tokens":       {jsonResponse(200, `{"tokens":null}`), `no "tokens" array`},
		"not an object":     {jsonResponse(200, `[1,2]`), "cannot understand"},
		"tokens object":     {jsonResponse(200, `{"tokens":{"id":"tok_1"}}`), "cannot understand"},
		"id number":         {jsonResponse(200, `{"tokens":[{"id":5}]}`), "cannot understand"},
		"bad time":          {jsonResponse(200, `{"tokens":[{"id":"tok_1","created_at":"yesterday"}]}`), "cannot understand"},
		"missing id":        {jsonResponse(200, `{"tokens":[{"id":"tok_1"},{"name":"x"}]}`), `entry 2 of "tokens" has no "id"`},
		"unexpected status": {respond(204, "", ""), "unexpected HTTP 204"},
		"huge":              {endless(200, "application/json"), "larger than 2 MiB"},
		"too many keys":     {jsonResponse(200, `{"tokens":[`+strings.Repeat(`{"id":"x"},`, maxListEntries)+`{"id":"x"}]}`), "lists more than 10000 keys"},
		"tokens null":       {jsonResponse(200, `{"tokens":null,"count":0}`), `it has no "tokens" array`},
		"count alone":       {jsonResponse(200, `{"count":0}`), `it has no "tokens" array`},
		"trailing garbage":  {jsonResponse(200, `{"tokens":[]`), "cannot understand"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.h)
			c := newTestClient(t, s.URL)
			_, err := c.listTokens(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("List() error = %v, want it to mention %q", err, tc.want)
			}
			if s.requests() != 1 {
				t.Errorf("a malformed 200 must not be retried; got %d requests", s.requests())
			}
		})
	}
}

func TestMalformedMintResponses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		want string
	}{
		"empty body":         {respond(201, "", ""), "cannot understand"},
		"truncated":          {jsonResponse(201, mintOK[:40]), "cannot understand"},
		"html":               {respond(201, "text/html", "<html></html>"), "text/html"},
		"no key":             {jsonResponse(201, `{"id":"tok_1","name":"ci"}`), `no "id" or no secret`},
		"no id":              {jsonResponse(200, `{"key":"mola_TESTfakeKEYnotReal0000000"}`), `no "id" or no secret`},
		"deployed no id":     {jsonResponse(200, `{"prefix":"UyJhAK6q","auth_token":"UyJhAK6q4R_er9xO_F_vZ7vbnmzlOd6AgNPxlR6YEg0"}`), `no "id" or no secret`},
		"deployed no secret": {jsonResponse(200, `{"id":"a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e","prefix":"UyJhAK6q"}`), `no "id" or no secret`},
		"key number":         {jsonResponse(201, `{"id":"tok_1","key":123}`), "cannot understand"},
		"huge":               {endless(201, "text/plain"), "larger than 1 MiB"},
		"202":                {respond(202, "", ""), "unexpected HTTP 202"},
		"dropped answer":     {hangUp, "EOF"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.h)
			_, err := newTestClient(t, s.URL).mint(context.Background(), "ci", MintOptions{})
			var unknown *outcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("Mint() error = %v, want *outcomeUnknownError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "may have been created") {
				t.Errorf("Mint() error = %q, want it to mention %q", err, tc.want)
			}
			if unknown.Name != "ci" || unknown.Started.IsZero() || unknown.Cause == nil || errors.Unwrap(err) != unknown.Cause { //nolint:errorlint // Unwrap must return the cause itself
				t.Errorf("unknown = %+v", unknown)
			}
			if strings.Contains(err.Error(), "mola_TESTfake") || strings.Contains(err.Error(), "4R_er9xO") {
				t.Errorf("error leaks the key: %v", err)
			}
			if s.requests() != 1 {
				t.Errorf("mint sent %d times", s.requests())
			}
		})
	}
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("long message ", 100)
	for name, tc := range map[string]struct {
		h       http.HandlerFunc
		status  int
		message string // exact, or prefix when it ends in "*"
		is      func(error) bool
	}{
		"error field":   {jsonResponse(404, `{"error":"token not found"}`), 404, "token not found", IsKeyNotLive},
		"message field": {jsonResponse(403, `{"message":"forbidden for org keys","code":7}`), 403, "forbidden for org keys", IsForbidden},
		"nested":        {jsonResponse(400, `{"error":{"message":"bad name"}}`), 400, "bad name", nil},
		"empty body":    {respond(401, "", ""), 401, "", IsUnauthorized},
		"json no msg":   {jsonResponse(409, `{"code":409}`), 409, "JSON response without an error message (12 bytes)", nil},
		"html":          {respond(400, "text/html; charset=utf-8", "<html><title>Bad</title></html>"), 400, "non-JSON response (text/html, 31 bytes)", nil},
		"plain text":    {respond(404, "", "nope"), 404, "non-JSON response (text/plain, 4 bytes)", IsRoutingFailure},
		"huge html":     {endless(418, "text/html"), 418, "non-JSON response (text/html, more than 1048576 bytes)", nil},
		"long message":  {jsonResponse(400, `{"error":"`+long+`"}`), 400, "long message long*", nil},
		"control chars": {jsonResponse(400, `{"error":"bad\n\tname\u0000 here"}`), 400, "bad name here", nil},
		"redirect":      {respond(302, "", "", "Location", "https://elsewhere.example/login"), 302, "redirect to https://elsewhere.example/login was not followed; check the endpoint URL", nil},
		"not impl":      {jsonResponse(501, `{"error":"not implemented"}`), 501, "not implemented", nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.h)
			err := newTestClient(t, s.URL).Revoke(context.Background(), "tok_1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Revoke() error = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Method != http.MethodDelete || apiErr.Path != "/org/tokens/tok_1" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if prefix, ok := strings.CutSuffix(tc.message, "*"); ok {
				if !strings.HasPrefix(apiErr.Message, prefix) || len([]rune(apiErr.Message)) > maxMessageRunes+1 {
					t.Errorf("Message = %q (%d runes), want a truncated %q…", apiErr.Message, len([]rune(apiErr.Message)), prefix)
				}
			} else if apiErr.Message != tc.message {
				t.Errorf("Message = %q, want %q", apiErr.Message, tc.message)
			}
			if tc.is != nil && !tc.is(err) {
				t.Errorf("%v: classification helper returned false", err)
			}
			if s.requests() != 1 {
				t.Errorf("%d is not retryable but got %d requests", tc.status, s.requests())
			}
		})
	}
}

func TestUnauthorizedMessageHelps(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(401, `{"error":"invalid credential"}`))
	_, err := newTestClient(t, s.URL).listTokens(context.Background())
	if !IsUnauthorized(err) || !strings.Contains(err.Error(), "the token was rejected; it may have been revoked or mistyped") {
		t.Errorf("List() error = %v", err)
	}
	if IsKeyNotLive(err) || IsRoutingFailure(err) || IsForbidden(err) || IsRateLimited(err) || IsKeyNotLive(nil) || IsRoutingFailure(nil) {
		t.Error("classification helpers overlap")
	}
}

func TestSanitizeRedactsSecrets(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(400, `{"error":"credential `+testCredential+` cannot mint mola_AbC123xyz; try Bearer `+testCredential+`"}`))
	err := newTestClient(t, s.URL).Revoke(context.Background(), "tok_1")
	msg := err.Error()
	if strings.Contains(msg, testCredential) || strings.Contains(msg, "AbC123xyz") {
		t.Errorf("error leaks a secret: %s", msg)
	}
	if !strings.Contains(msg, "[redacted]") || !strings.Contains(msg, "mola_[redacted]") {
		t.Errorf("error = %s", msg)
	}
}

// Ids are opaque: only an empty id and a value this client knows as a secret are refused, and
// neither reaches the service nor is echoed.
func TestRevokeRefusesBadIDs(t *testing.T) {
	t.Parallel()
	var sent atomic.Int32
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			jsonResponse(200, deployedMint(deployedID, "ci", deployedKey))(w, r)
			return
		}
		sent.Add(1)
		jsonResponse(200, `{"revoked":"x"}`)(w, r)
	})
	c := newTestClient(t, s.URL, withCredential(deployedCredential))
	ctx := context.Background()
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{
		"empty":          "",
		"spaces":         "  ",
		"whitespace":     "\t\n ",
		"the credential": deployedCredential,
		"a minted key":   deployedKey,
	} {
		err := c.Revoke(ctx, id)
		if err == nil {
			t.Errorf("%s: Revoke succeeded", name)
			continue
		}
		if id != "" && strings.TrimSpace(id) != "" && strings.Contains(err.Error(), id[PrefixLength:]) {
			t.Errorf("%s: the refusal echoes the value: %v", name, err)
		}
	}
	if sent.Load() != 0 {
		t.Errorf("refused ids reached the server %d times", sent.Load())
	}
	for _, id := range []string{deployedID, "tok_01HZX3B7N8PQ9K4M5R6T", "weird id/with slash", "tok/../x",
		"mola_TESTfakeKEYnotReal0000000", deployedKey[:PrefixLength], deployedKey + "x"} {
		if err := c.Revoke(ctx, id); err != nil {
			t.Errorf("Revoke(%q) = %v; an id of any shape must be sent", id, err)
		}
	}
	if sent.Load() != 7 {
		t.Errorf("%d ids sent, want 7", sent.Load())
	}
}

func TestRetriesIdempotentRequests(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			fail := jsonResponse(status, `{"error":"try later"}`)
			s := newServer(t, fail, fail, jsonResponse(200, `{"tokens":[]}`))
			log := &recordingLogger{}
			c := newTestClient(t, s.URL, func(c *Config) { c.Logger = log })
			if _, err := c.listTokens(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s.requests() != 3 {
				t.Errorf("got %d requests, want 3", s.requests())
			}
			if log.count("DEBUG Molecule API request") != 3 || log.count("WARN Retrying") != 2 {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}

func TestRetriesExhaustedKeepLastAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(503, `{"error":"first"}`), jsonResponse(429, `{"error":"slow down"}`))
	err := newTestClient(t, s.URL).Revoke(context.Background(), "tok_1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Message != "slow down" || !IsRateLimited(err) {
		t.Fatalf("Revoke() error = %v", err)
	}
	if !strings.Contains(err.Error(), "after 4 attempts") || s.requests() != 4 {
		t.Errorf("error = %v after %d requests", err, s.requests())
	}
}

func TestMaxRetriesZero(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(503, `{"error":"down"}`))
	_, err := newTestClient(t, s.URL, func(c *Config) { c.MaxRetries = 0 }).listTokens(context.Background())
	if err == nil || s.requests() != 1 {
		t.Errorf("error %v after %d requests", err, s.requests())
	}
}

func TestIdempotentRequestRetriedAfterTimeoutAndDrop(t *testing.T) {
	t.Parallel()
	s := newServer(t, stall, hangUp, jsonResponse(200, `{"tokens":[]}`))
	c := newTestClient(t, s.URL, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
	if _, err := c.listTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.requests() != 3 {
		t.Errorf("got %d requests, want 3", s.requests())
	}
}

func TestMintIsNotResentAfterItMayHaveArrived(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"500":     jsonResponse(500, `{"error":"boom"}`),
		"502":     respond(502, "text/html", "<html>bad gateway</html>"),
		"503":     jsonResponse(503, `{"error":"unavailable"}`, "Retry-After", "0"),
		"504":     respond(504, "text/plain", "upstream request timeout"),
		"599":     respond(599, "", ""),
		"timeout": stall,
		"drop":    hangUp,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, h, jsonResponse(201, mintOK))
			c := newTestClient(t, s.URL, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
			_, err := c.mint(context.Background(), "ci", MintOptions{})
			var unknown *outcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("Mint() error = %v, want *outcomeUnknownError", err)
			}
			if s.requests() != 1 {
				t.Errorf("mint sent %d times", s.requests())
			}
		})
	}
}

func TestMintRefusedIsNotUnknown(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 400, 403, 409, 501} {
		s := newServer(t, jsonResponse(status, `{"error":"refused"}`))
		_, err := newTestClient(t, s.URL).mint(context.Background(), "ci", MintOptions{})
		var unknown *outcomeUnknownError
		var apiErr *APIError
		if errors.As(err, &unknown) || !errors.As(err, &apiErr) || apiErr.StatusCode != status || s.requests() != 1 {
			t.Errorf("HTTP %d: Mint() error = %v after %d requests", status, err, s.requests())
		}
	}
	s := newServer(t, jsonResponse(201, mintOK))
	if _, err := newTestClient(t, s.URL).mint(context.Background(), "bad\nname", MintOptions{}); err == nil || s.requests() != 0 {
		t.Errorf("an invalid name must fail before sending: %v", err)
	}
}

func TestMintRetriedOn429(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(429, `{"error":"slow down"}`, "Retry-After", "0"), jsonResponse(201, mintOK))
	m, err := newTestClient(t, s.URL).mint(context.Background(), "ci", MintOptions{})
	if err != nil || m.ID != "tok_01HZX3B7N8PQ9K4M5R6T" || s.requests() != 2 {
		t.Errorf("Mint() = %v, %v after %d requests", m, err, s.requests())
	}
}

// refusingFirstDial makes the first connection attempt fail with a real "connection refused"
// (dialling a port nobody listens on) and lets later ones through.
func refusingFirstDial(t *testing.T) (*http.Transport, *atomic.Int32) {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	var dials atomic.Int32
	var d net.Dialer
	tr := defaultTransport()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			addr = closed
		}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, &dials
}

func TestMintRetriedWhenConnectionRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(201, mintOK))
	tr, dials := refusingFirstDial(t)
	log := &recordingLogger{}
	c := newTestClient(t, s.URL, func(c *Config) { c.Transport, c.Logger = tr, log })
	if _, err := c.mint(context.Background(), "ci", MintOptions{}); err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if dials.Load() != 2 || s.requests() != 1 || !strings.Contains(log.String(), "connection refused") {
		t.Errorf("dials=%d requests=%d log:\n%s", dials.Load(), s.requests(), log)
	}
}

func TestMintConnectionRefusedIsKnownFailure(t *testing.T) {
	t.Parallel()
	l, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	log := &recordingLogger{}
	_, err = newTestClient(t, url, func(c *Config) { c.Logger = log }).mint(context.Background(), "ci", MintOptions{})
	var unknown *outcomeUnknownError
	if err == nil || errors.As(err, &unknown) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("Mint() error = %v", err)
	}
	if n := log.count("DEBUG"); n != 4 {
		t.Errorf("%d attempts logged, want 4", n)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for name, tc := range map[string]struct {
		header   string
		maxAfter time.Duration
		deadline time.Duration // 0 => none
		wantWait string        // the logged wait_ms, or "" to only require success
		wantErr  string
	}{
		"seconds past deadline":  {header: "30", deadline: 5 * time.Second, wantErr: "due in 30s"},
		"date past deadline":     {header: future, maxAfter: 2 * time.Hour, deadline: 5 * time.Second, wantErr: "due in 59m"},
		"huge fails at once":     {header: "99999999999999999999999", maxAfter: 20 * time.Millisecond, wantErr: "longer than the longest wait allowed (20ms"},
		"too long fails at once": {header: "7200", maxAfter: 30 * time.Millisecond, wantErr: "asked to wait 2h0m0s, longer than the longest wait allowed (30ms"},
		// No wait asked for is the minimum backoff (1ms here), never an immediate retry.
		"within the cap":   {header: "0", maxAfter: 30 * time.Millisecond, wantWait: "wait_ms:1]"},
		"past date":        {header: past, wantWait: "wait_ms:1]"},
		"negative ignored": {header: "-5", deadline: 5 * time.Second},
		"garbage ignored":  {header: "soon", deadline: 5 * time.Second},
		"fraction ignored": {header: "1.5", deadline: 5 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, jsonResponse(429, `{"error":"slow down"}`, "Retry-After", tc.header), jsonResponse(200, `{"tokens":[]}`))
			log := &recordingLogger{}
			clock := clocktest.New(time.Now())
			c := newTestClient(t, s.URL, withClock(clock), func(c *Config) { c.Logger, c.MaxRetryAfter = log, tc.maxAfter })
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := clock.Now()
			_, err := c.listTokens(ctx)
			waited := clock.Now().Sub(start)
			if tc.wantErr != "" {
				if !IsRateLimited(err) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "not retrying") {
					t.Fatalf("List() error = %v, want a rate-limit error mentioning %q", err, tc.wantErr)
				}
				if waited != 0 || s.requests() != 1 {
					t.Errorf("should fail at once: waited %s, %d requests", waited, s.requests())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantWait != "" && !strings.Contains(log.String(), tc.wantWait) {
				t.Errorf("want %s in log:\n%s", tc.wantWait, log)
			}
			if waited > 5*time.Millisecond {
				t.Errorf("waited %s, more than the longest backoff", waited)
			}
		})
	}
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(503, `{"error":"busy"}`, "Retry-After", "1"), jsonResponse(200, `{"tokens":[]}`))
	clock := clocktest.New(time.Now())
	start := clock.Now()
	if _, err := newTestClient(t, s.URL, withClock(clock)).listTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := clock.Now().Sub(start); d != time.Second {
		t.Errorf("retried after %s, want the 1s Retry-After", d)
	}
}

func TestCancelDuringRetryWait(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"list", "mint"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, jsonResponse(429, `{"error":"slow down"}`, "Retry-After", "60"))
			clock := clocktest.New(time.Now())
			clock.Hold()
			c := newTestClient(t, s.URL, withClock(clock))
			ctx, cancel := context.WithCancel(context.Background())
			// Ctrl-C while the client waits out the Retry-After.
			go func() {
				<-clock.Waiting(1)
				cancel()
			}()
			var err error
			if method == "list" {
				_, err = c.listTokens(ctx)
			} else {
				_, err = c.mint(ctx, "ci", MintOptions{})
			}
			if s.requests() != 1 {
				t.Errorf("%d requests, want 1", s.requests())
			}
			var unknown *outcomeUnknownError
			if !errors.Is(err, context.Canceled) || errors.As(err, &unknown) {
				t.Errorf("error = %v, want a plain context.Canceled", err)
			}
		})
	}
}

func TestCancelInFlight(t *testing.T) {
	t.Parallel()
	s := newServer(t, stall)
	c := newTestClient(t, s.URL)
	for _, method := range []string{"list", "mint"} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		var err error
		if method == "list" {
			_, err = c.listTokens(ctx)
		} else {
			_, err = c.mint(ctx, "ci", MintOptions{})
			// The POST reached the service before the cancellation: its outcome is unknown.
			var unknown *outcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Errorf("mint error = %v, want *outcomeUnknownError", err)
			}
		}
		if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
			t.Errorf("%s: error = %v after %s", method, err, time.Since(start))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := s.requests()
	if _, err := c.mint(ctx, "ci", MintOptions{}); !errors.Is(err, context.Canceled) || errors.As(err, new(*outcomeUnknownError)) {
		t.Errorf("mint with a canceled context = %v", err)
	}
	if s.requests() != before {
		t.Error("a canceled context must not send anything")
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1", func(c *Config) { c.RetryWaitMin, c.RetryWaitMax = 10*time.Millisecond, 80*time.Millisecond })
	for attempt := 1; attempt <= 10; attempt++ {
		ceiling := min(10*time.Millisecond<<(attempt-1), 80*time.Millisecond)
		for range 50 {
			if d := c.nextWait(attempt, nil); d < 10*time.Millisecond || d > ceiling {
				t.Fatalf("attempt %d: wait %s outside [10ms, %s]", attempt, d, ceiling)
			}
		}
	}
}
