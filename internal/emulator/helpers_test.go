package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialects is every dialect, for tests of behaviour they share.
var dialects = []Dialect{DialectDeployed, DialectGuide}

// dialectSpec is what a client sees of one dialect, written out independently of the code.
type dialectSpec struct {
	id, key, timestamp *regexp.Regexp
	mintStatus         int
	revokeStatus       int
	contentType        string
	precision          time.Duration
}

var specs = map[Dialect]dialectSpec{
	DialectDeployed: {
		id:           regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
		key:          regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`),
		timestamp:    regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,5}[1-9])?Z$`),
		mintStatus:   http.StatusOK,
		revokeStatus: http.StatusOK,
		contentType:  "application/json; charset=utf-8",
		precision:    time.Microsecond,
	},
	DialectGuide: {
		id:           regexp.MustCompile(`^tok_[0-9A-HJKMNP-TV-Z]{20}$`),
		key:          regexp.MustCompile(`^mola_[a-z0-9]{26}$`),
		timestamp:    regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`),
		mintStatus:   http.StatusCreated,
		revokeStatus: http.StatusNoContent,
		contentType:  "application/json",
		precision:    time.Second,
	},
}

// guideKeyPattern finds a guide-shaped plaintext anywhere in a body. Deployed keys have no
// shape to search for, so leak checks look for the actual plaintexts as well.
var guideKeyPattern = regexp.MustCompile(`mola_[a-z0-9]{20,}`)

// forEachDialect runs f as a parallel subtest per dialect.
func forEachDialect(t *testing.T, f func(t *testing.T, d Dialect)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// testAPI talks to one fresh emulator over real HTTP.
type testAPI struct {
	t    *testing.T
	emu  *Server
	hc   *http.Client
	spec dialectSpec
}

func newTestAPI(t *testing.T, opts Options) *testAPI {
	t.Helper()
	return wrapServer(t, StartFor(t, aprilUnlessSet(opts)))
}

// aprilUnlessSet gives a test that names no build the April 2026 build. Most tests here mint
// with ADMIN_TOKEN to test what every build shares (shapes, limits, faults, state); on June
// and newer builds such a mint waits for a person's approval, and the tests of what June
// changed (approvals_test.go, tenant_test.go) name their build.
func aprilUnlessSet(opts Options) Options {
	if opts.Build == "" {
		opts.Build = BuildApril2026
	}
	return opts
}

func wrapServer(t *testing.T, emu *Server) *testAPI {
	t.Helper()
	// No keep-alive: a dropped connection must surface as an error on the request that caused
	// it, never as a silent transport-level retry of the next one.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &testAPI{t: t, emu: emu, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, spec: specs[emu.Dialect()]}
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

// wireToken is every field either dialect sends for a key; decoding rejects any other.
type wireToken struct {
	ID         string  `json:"id"`
	Prefix     string  `json:"prefix"`
	Name       string  `json:"name"`
	Key        string  `json:"key"`
	AuthToken  string  `json:"auth_token"`
	Warning    string  `json:"warning"`
	OrgID      string  `json:"org_id"`
	CreatedBy  string  `json:"created_by"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
	ExpiresAt  *string `json:"expires_at"`
}

// secret is the plaintext of a mint response, whichever field the dialect puts it in.
func (w wireToken) secret() string { return w.Key + w.AuthToken }

func mintBody(name string) string {
	b, _ := json.Marshal(map[string]string{"name": name})
	return string(b)
}

func (a *testAPI) mint(token, name string) wireToken {
	a.t.Helper()
	r := a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", token, mintBody(name))
	var tok wireToken
	decode(a.t, r.body, &tok)
	if a.emu.Dialect() == DialectDeployed && (tok.AuthToken == "" || tok.Key != "") ||
		a.emu.Dialect() == DialectGuide && (tok.Key == "" || tok.AuthToken != "") {
		a.t.Fatalf("mint response fields %v: the plaintext is not in the dialect's field", fields(a.t, r.body))
	}
	return tok
}

// list reads the list and checks its envelope: deployed has count == len(tokens), the guide
// has no count.
func (a *testAPI) list(token string) []wireToken {
	a.t.Helper()
	r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", token, "")
	var out struct {
		Count  *int        `json:"count"`
		Tokens []wireToken `json:"tokens"`
	}
	decode(a.t, r.body, &out)
	switch a.emu.Dialect() {
	case DialectDeployed:
		if out.Count == nil || *out.Count != len(out.Tokens) {
			a.t.Fatalf("deployed list count %v for %d tokens", out.Count, len(out.Tokens))
		}
	case DialectGuide:
		if out.Count != nil {
			a.t.Fatalf("guide list carries a count: %s", r.body)
		}
	}
	if out.Tokens == nil {
		a.t.Fatalf("list without a tokens array: %s", r.body)
	}
	return out.Tokens
}

// revoke revokes id over the API and checks the dialect's success answer.
func (a *testAPI) revoke(token, id string) {
	a.t.Helper()
	r := a.expect(a.spec.revokeStatus, http.MethodDelete, "/org/tokens/"+id, token, "")
	if a.emu.Dialect() == DialectGuide {
		if len(r.body) != 0 {
			a.t.Fatalf("204 with body %q", r.body)
		}
		return
	}
	var out struct {
		Revoked string `json:"revoked"`
	}
	decode(a.t, r.body, &out)
	if out.Revoked != id {
		a.t.Fatalf("revoke answered %s, want the id %s", r.body, id)
	}
}

// badRequestName is a name the dialect refuses with 400.
func badRequestName(d Dialect) string {
	if d == DialectDeployed {
		return strings.Repeat("n", 101)
	}
	return ""
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

// fields returns the names of a JSON object's members, to check what is absent.
func fields(t *testing.T, b []byte) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func errorMessage(t *testing.T, r reply) string {
	t.Helper()
	if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Fatalf("error content type %q, want application/json", r.header.Get("Content-Type"))
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

// sameIDs reports whether got and want hold the same ids, in any order.
func sameIDs(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func keyIDs(keys []Key) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

// assertNoPlaintext fails if body contains any of the plaintexts or a guide-shaped key.
func assertNoPlaintext(t *testing.T, what string, body []byte, plaintexts ...string) {
	t.Helper()
	if guideKeyPattern.Match(body) {
		t.Fatalf("%s leaks a plaintext key", what)
	}
	for _, p := range plaintexts {
		if bytes.Contains(body, []byte(p)) {
			t.Fatalf("%s leaks a plaintext key", what)
		}
	}
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
