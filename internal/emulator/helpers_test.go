package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	idPattern        = regexp.MustCompile(`^tok_[0-9A-HJKMNP-TV-Z]{20}$`)
	keyPattern       = regexp.MustCompile(`^mola_[a-z0-9]{26}$`)
	plaintextPattern = regexp.MustCompile(`mola_[a-z0-9]{20,}`)
	rfc3339UTC       = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// testAPI talks to one fresh emulator over real HTTP.
type testAPI struct {
	t   *testing.T
	emu *Server
	hc  *http.Client
}

func newTestAPI(t *testing.T, opts Options) *testAPI {
	t.Helper()
	emu := NewTestServer(t, opts)
	// No keep-alive: a dropped connection must surface as an error on the request that caused
	// it, never as a silent transport-level retry of the next one.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &testAPI{t: t, emu: emu, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (a *testAPI) send(ctx context.Context, method, path, token, body string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.emu.URL()+path, rd)
	if err != nil {
		return reply{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// call sends a request that must get an answer.
func (a *testAPI) call(method, path, token, body string) reply {
	a.t.Helper()
	r, err := a.send(context.Background(), method, path, token, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (a *testAPI) expect(want int, method, path, token, body string) reply {
	a.t.Helper()
	r := a.call(method, path, token, body)
	if r.status != want {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

type wireToken struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Key        string  `json:"key"`
	CreatedBy  string  `json:"created_by"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
}

func mintBody(name string) string {
	b, _ := json.Marshal(map[string]string{"name": name})
	return string(b)
}

func (a *testAPI) mint(token, name string) wireToken {
	a.t.Helper()
	r := a.expect(http.StatusCreated, http.MethodPost, "/org/tokens", token, mintBody(name))
	var tok wireToken
	decode(a.t, r.body, &tok)
	return tok
}

func (a *testAPI) list(token string) []wireToken {
	a.t.Helper()
	r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", token, "")
	var out struct {
		Tokens []wireToken `json:"tokens"`
	}
	decode(a.t, r.body, &out)
	return out.Tokens
}

func (a *testAPI) admin() string { return a.emu.AdminToken() }

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func errorMessage(t *testing.T, r reply) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error content type %q, want application/json", ct)
	}
	var e struct {
		Error string `json:"error"`
	}
	decode(t, r.body, &e)
	if e.Error == "" {
		t.Fatalf("error body %s has no message", r.body)
	}
	return e.Error
}

func ids(toks []wireToken) []string {
	out := make([]string, 0, len(toks))
	for _, tok := range toks {
		out = append(out, tok.ID)
	}
	return out
}

// fakeClock is a settable clock for one test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
