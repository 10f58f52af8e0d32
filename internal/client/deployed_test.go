package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Values in the deployed service's shapes: UUID ids and 43-character base64url keys with no
// fixed prefix. The credential deliberately looks like neither a guide key nor a test string.
const (
	deployedCredential = "YkM_DDFSUEPBdx6eeZ9hMg-Dv2U15WVmZDNOqng4wl4"
	deployedKey        = "UyJhAK6q4R_er9xO_F_vZ7vbnmzlOd6AgNPxlR6YEg0"
	deployedID         = "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"
)

// deployedMint is the deployed service's mint answer: no created_by, no created_at.
func deployedMint(id, name, key string) string {
	return fmt.Sprintf(`{"id":%q,"prefix":%q,"name":%q,"auth_token":%q,"warning":"copy this token now; it will not be shown again"}`,
		id, key[:PrefixLength], name, key)
}

// fakeService is the deployed org token API in memory, for tests that need state across
// requests: mint answers 200 with auth_token and without created_by/created_at; the list
// carries count, prefix, org_id and microsecond times, newest first, at most ServiceListMax
// keys; revoke answers 200 {"revoked": id}. Hooks replace the mint or list answer.
type fakeService struct {
	*httptest.Server
	admin string

	// Set before the server starts, read by its handlers.
	mintHook func(f *fakeService, w http.ResponseWriter, name, createdBy string)
	// listHook answers the n-th list request (from 1) given the keys live when it arrived.
	listHook func(f *fakeService, w http.ResponseWriter, n int, live []fakeKey)

	mu   sync.Mutex
	keys []fakeKey // live keys, newest first

	mints, lists, revokes atomic.Int32
}

type fakeKey struct {
	ID, Prefix, Name, CreatedBy, Plaintext string
	CreatedAt                              time.Time
	LastUsedAt                             *time.Time
}

func newFakeService(t *testing.T, setup ...func(*fakeService)) *fakeService {
	t.Helper()
	f := &fakeService{admin: deployedCredential}
	for _, s := range setup {
		s(f)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// create commits a key as the service does: microsecond precision, newest first.
func (f *fakeService) create(name, createdBy string) fakeKey {
	plaintext := randomKey()
	k := fakeKey{ID: randomUUID(), Prefix: plaintext[:PrefixLength], Name: name, CreatedBy: createdBy,
		Plaintext: plaintext, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	f.mu.Lock()
	f.keys = append([]fakeKey{k}, f.keys...)
	f.mu.Unlock()
	return k
}

func (f *fakeService) live() []fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeKey(nil), f.keys...)
}

func (f *fakeService) key(id string) (fakeKey, bool) {
	for _, k := range f.live() {
		if k.ID == id {
			return k, true
		}
	}
	return fakeKey{}, false
}

func (f *fakeService) liveNamed(name string) []string {
	var ids []string
	for _, k := range f.live() {
		if k.Name == name {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// caller is the created_by the service records for the request's credential, or "".
func (f *fakeService) caller(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || token == "":
		return ""
	case token == f.admin:
		return "admin-token"
	}
	for _, k := range f.live() {
		if k.Plaintext == token {
			return "org-token:" + k.Prefix
		}
	}
	return ""
}

func (f *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	createdBy := f.caller(r)
	if createdBy == "" {
		jsonResponse(401, `{"error":"invalid admin auth token"}`)(w, r)
		return
	}
	switch id, isKey := strings.CutPrefix(r.URL.Path, tokensPath+"/"); {
	case r.URL.Path == tokensPath && r.Method == http.MethodPost:
		f.mints.Add(1)
		var req struct {
			Name string `json:"name"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			jsonResponse(400, `{"error":"invalid request body"}`)(w, r)
			return
		}
		if len(req.Name) > MaxNameBytes {
			jsonResponse(400, `{"error":"name too long (max 100 chars)"}`)(w, r)
			return
		}
		if f.mintHook != nil {
			f.mintHook(f, w, req.Name, createdBy)
			return
		}
		f.answerMint(w, f.create(req.Name, createdBy))
	case r.URL.Path == tokensPath && r.Method == http.MethodGet:
		n := int(f.lists.Add(1))
		live := f.live()
		if f.listHook != nil {
			f.listHook(f, w, n, live)
			return
		}
		f.writeList(w, live)
	case isKey && r.Method == http.MethodDelete:
		f.revokes.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, k := range f.keys {
			if k.ID == id {
				f.keys = append(f.keys[:i:i], f.keys[i+1:]...)
				jsonResponse(200, fmt.Sprintf(`{"revoked":%q}`, id))(w, r)
				return
			}
		}
		jsonResponse(404, `{"error":"token not found or already revoked"}`)(w, r)
	default:
		jsonResponse(404, `{"error":"not found"}`)(w, r)
	}
}

func (f *fakeService) answerMint(w http.ResponseWriter, k fakeKey) {
	body := map[string]string{"id": k.ID, "prefix": k.Prefix, "auth_token": k.Plaintext,
		"warning": "copy this token now; it will not be shown again"}
	if k.Name != "" {
		body["name"] = k.Name
	}
	writeJSON(w, 200, body)
}

// writeList answers a list as the service does: name, org_id, created_by and last_used_at
// omitted when empty, times with trailing zeros dropped.
func (f *fakeService) writeList(w http.ResponseWriter, keys []fakeKey) {
	type wire struct {
		ID         string `json:"id"`
		Prefix     string `json:"prefix"`
		Name       string `json:"name,omitempty"`
		OrgID      string `json:"org_id,omitempty"`
		CreatedBy  string `json:"created_by,omitempty"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at,omitempty"`
	}
	keys = keys[:min(len(keys), ServiceListMax)]
	out := make([]wire, len(keys))
	for i, k := range keys {
		out[i] = wire{ID: k.ID, Prefix: k.Prefix, Name: k.Name, OrgID: "ws-0001", CreatedBy: k.CreatedBy,
			CreatedAt: k.CreatedAt.Format(time.RFC3339Nano)}
		if k.LastUsedAt != nil {
			out[i].LastUsedAt = k.LastUsedAt.Format(time.RFC3339Nano)
		}
	}
	writeJSON(w, 200, map[string]any{"count": len(out), "tokens": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func withCredential(token string) func(*Config) { return func(c *Config) { c.Token = token } }

func TestMintResponseShapes(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		status                         int
		body                           string
		id, name, prefix, key, by, org string
		createdAt                      time.Time
	}{
		"deployed": {status: 200, body: deployedMint(deployedID, "claude-agent-prod", deployedKey),
			id: deployedID, name: "claude-agent-prod", prefix: "UyJhAK6q", key: deployedKey},
		"deployed without prefix or name": {status: 200, body: `{"id":"` + deployedID + `","auth_token":"` + deployedKey + `"}`,
			id: deployedID, name: "requested", prefix: "UyJhAK6q", key: deployedKey},
		// The service's own prefix is what Canvas shows, so it wins over one derived here.
		"deployed prefix as the service says": {status: 200, body: `{"id":"k1","prefix":"SERVICE1","auth_token":"` + deployedKey + `"}`,
			id: "k1", name: "requested", prefix: "SERVICE1", key: deployedKey},
		"deployed with unknown fields": {status: 200, body: `{"id":"k1","auth_token":"` + deployedKey + `","role":"admin","scopes":["x"],"org_id":"ws"}`,
			id: "k1", name: "requested", prefix: "UyJhAK6q", key: deployedKey, org: "ws"},
		"guide": {status: 201, body: mintOK, id: "tok_01HZX3B7N8PQ9K4M5R6T", name: "ci", prefix: "mola_TES",
			key: "mola_TESTfakeKEYnotReal0000000", by: "admin-token", createdAt: time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)},
		"guide answered 200": {status: 200, body: mintOK, id: "tok_01HZX3B7N8PQ9K4M5R6T", name: "ci", prefix: "mola_TES",
			key: "mola_TESTfakeKEYnotReal0000000", by: "admin-token", createdAt: time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)},
		"plaintext shorter than a prefix": {status: 200, body: `{"id":"k1","auth_token":"short"}`,
			id: "k1", name: "requested", key: "short"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, jsonResponse(tc.status, tc.body))
			c := newTestClient(t, s.URL)
			m, err := c.mint(context.Background(), "requested", MintOptions{})
			if err != nil {
				t.Fatalf("mint: %v", err)
			}
			want := Token{ID: tc.id, Name: tc.name, Prefix: tc.prefix, CreatedBy: tc.by, OrgID: tc.org, CreatedAt: tc.createdAt}
			if m.Token != want || m.Key != tc.key || m.MetadataErr != nil {
				t.Errorf("minted %+v (key %q), want %+v (key %q)", m.Token, m.Key, want, tc.key)
			}
			if secrets := c.secrets.snapshot(); len(secrets) != 2 || secrets[0] != testCredential || secrets[1] != tc.key {
				t.Errorf("Secrets() = %q, want the credential and the plaintext", secrets)
			}
		})
	}
}

func TestListDeployedShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(200, `{"count":3,"tokens":[`+
		`{"id":"`+deployedID+`","prefix":"UyJhAK6q","name":"claude-agent-prod","org_id":"ws-1","created_by":"admin-token",`+
		`"created_at":"2026-12-01T19:57:40.530397Z","last_used_at":"2026-12-01T20:03:11.1Z"},`+
		`{"id":"3594af1f-3459-48f4-9901-f78d695455c5","prefix":"LcUSBDPu","org_id":"ws-1","created_by":"org-token:UyJhAK6q",`+
		`"created_at":"2026-12-01T19:57:38Z"},`+
		`{"id":"3093bc55-cd8f-467c-9f2f-94906863b0be","prefix":"nVT_IxpB","created_at":"2026-12-01T19:50:00.03326Z"}]}`))
	c := newTestClient(t, s.URL)
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	used := time.Date(2026, 12, 1, 20, 3, 11, 100_000_000, time.UTC)
	want := []Token{
		{ID: deployedID, Name: "claude-agent-prod", Prefix: "UyJhAK6q", CreatedBy: "admin-token",
			CreatedAt: time.Date(2026, 12, 1, 19, 57, 40, 530_397_000, time.UTC), LastUsedAt: &used},
		{ID: "3594af1f-3459-48f4-9901-f78d695455c5", Prefix: "LcUSBDPu", CreatedBy: "org-token:UyJhAK6q",
			CreatedAt: time.Date(2026, 12, 1, 19, 57, 38, 0, time.UTC)},
		{ID: "3093bc55-cd8f-467c-9f2f-94906863b0be", Prefix: "nVT_IxpB",
			CreatedAt: time.Date(2026, 12, 1, 19, 50, 0, 33_260_000, time.UTC)},
	}
	if len(snap.Tokens) != len(want) {
		t.Fatalf("got %d tokens, want %d", len(snap.Tokens), len(want))
	}
	for i, got := range snap.Tokens {
		w := want[i]
		if got.ID != w.ID || got.Name != w.Name || got.Prefix != w.Prefix || got.CreatedBy != w.CreatedBy ||
			!got.CreatedAt.Equal(w.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
			(got.LastUsedAt == nil) != (w.LastUsedAt == nil) || got.LastUsedAt != nil && !got.LastUsedAt.Equal(*w.LastUsedAt) {
			t.Errorf("token %d = %+v, want %+v", i, got, w)
		}
	}
	if snap.Incomplete != "" {
		t.Errorf("a complete list is reported incomplete: %s", snap.Incomplete)
	}
	if tok, ok := snap.Lookup("3594af1f-3459-48f4-9901-f78d695455c5"); !ok || tok.Prefix != "LcUSBDPu" {
		t.Errorf("Lookup = %+v, %v", tok, ok)
	}
}

// tokensJSON renders n minimal deployed-shape entries.
func tokensJSON(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","prefix":"p%07d","created_at":"2026-12-01T19:57:40.530397Z"}`, i, i)
	}
	return "[" + strings.Join(entries, ",") + "]"
}

func TestSnapshotIncomplete(t *testing.T) {
	t.Parallel()
	two := tokensJSON(2)
	for name, tc := range map[string]struct {
		body string
		link string
		want string // a part of the reason, or "" for a complete list
	}{
		"service maximum":         {body: fmt.Sprintf(`{"count":%d,"tokens":%s}`, ServiceListMax, tokensJSON(ServiceListMax)), want: "at most 500"},
		"above the maximum":       {body: fmt.Sprintf(`{"tokens":%s}`, tokensJSON(ServiceListMax+1)), want: "returned 501"},
		"one below the maximum":   {body: fmt.Sprintf(`{"count":%d,"tokens":%s}`, ServiceListMax-1, tokensJSON(ServiceListMax-1))},
		"count above the tokens":  {body: `{"count":3,"tokens":` + two + `}`, want: "counted 3 keys but returned 2"},
		"count equal":             {body: `{"count":2,"tokens":` + two + `}`},
		"count below the tokens":  {body: `{"count":1,"tokens":` + two + `}`},
		"guide shape, no count":   {body: `{"tokens":` + two + `}`},
		"next":                    {body: `{"tokens":` + two + `,"next":"/org/tokens?after=x"}`, want: "next page"},
		"next null":               {body: `{"tokens":` + two + `,"next":null}`},
		"next empty":              {body: `{"tokens":` + two + `,"next":""}`},
		"next object":             {body: `{"tokens":` + two + `,"next":{"cursor":"c"}}`, want: "next page"},
		"next_cursor":             {body: `{"tokens":` + two + `,"next_cursor":"c2"}`, want: "next page"},
		"next_cursor empty":       {body: `{"tokens":` + two + `,"next_cursor":""}`},
		"has_more true":           {body: `{"tokens":` + two + `,"has_more":true}`, want: "has more"},
		"has_more false":          {body: `{"tokens":` + two + `,"has_more":false}`},
		"link next":               {body: `{"tokens":` + two + `}`, link: `<https://acme.moleculesai.app/org/tokens?page=2>; rel="next"`, want: `rel="next"`},
		"link next unquoted":      {body: `{"tokens":` + two + `}`, link: `<https://x/org/tokens?page=2>;rel=next`, want: `rel="next"`},
		"link among others":       {body: `{"tokens":` + two + `}`, link: `<https://x/?page=1>; rel="prev", <https://x/?page=3>; rel="last next"`, want: `rel="next"`},
		"link prev only":          {body: `{"tokens":` + two + `}`, link: `<https://x/org/tokens?page=1>; rel="prev"`},
		"link next in the target": {body: `{"tokens":` + two + `}`, link: `<https://x/org/tokens?rel=next>; rel="first"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var headers []string
			if tc.link != "" {
				headers = []string{"Link", tc.link}
			}
			s := newServer(t, jsonResponse(200, tc.body, headers...))
			snap, err := newTestClient(t, s.URL).Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && snap.Incomplete != "":
				t.Errorf("Incomplete = %q, want a complete list", snap.Incomplete)
			case tc.want != "" && !strings.Contains(snap.Incomplete, tc.want):
				t.Errorf("Incomplete = %q, want it to mention %q", snap.Incomplete, tc.want)
			}
		})
	}
}

func TestRevokeAnswers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		h       http.HandlerFunc
		wantErr func(error) bool
	}{
		"deployed 200":          {h: jsonResponse(200, `{"revoked":"`+deployedID+`"}`)},
		"guide 204":             {h: respond(204, "", "")},
		"200 without a body":    {h: respond(200, "", "")},
		"deployed 404":          {h: jsonResponse(404, `{"error":"token not found or already revoked"}`), wantErr: IsKeyNotLive},
		"201 is not an answer":  {h: jsonResponse(201, `{}`), wantErr: func(err error) bool { return strings.Contains(err.Error(), "unexpected HTTP 201") }},
		"deployed 500 non-uuid": {h: jsonResponse(500, `{"error":"failed to revoke"}`), wantErr: func(err error) bool { return hasStatus(err, 500) }},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.h)
			err := newTestClient(t, s.URL).Revoke(context.Background(), deployedID)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && (err == nil || !tc.wantErr(err)) {
				t.Errorf("Revoke() = %v", err)
			}
		})
	}
}

func TestRevokeSendsOpaqueIDs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI)
		mu.Unlock()
		jsonResponse(200, `{"revoked":"x"}`)(w, r)
	})
	c := newTestClient(t, s.URL)
	ids := map[string]string{
		deployedID:                 "/org/tokens/" + deployedID,
		"tok_01HZX3B7N8PQ9K4M5R6T": "/org/tokens/tok_01HZX3B7N8PQ9K4M5R6T",
		"weird id/with slash":      "/org/tokens/weird%20id%2Fwith%20slash",
		"tok/../x":                 "/org/tokens/tok%2F..%2Fx",
		"?#%":                      "/org/tokens/%3F%23%25",
		// Shaped like a guide key but not one this client knows: ids are opaque, so it is sent.
		"mola_TESTfakeKEYnotReal0000000": "/org/tokens/mola_TESTfakeKEYnotReal0000000",
	}
	var want []string
	for id, path := range ids {
		if err := c.Revoke(context.Background(), id); err != nil {
			t.Errorf("Revoke(%q): %v", id, err)
		}
		want = append(want, "DELETE "+path)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// A round trip in the deployed shape: mint, mint with the new key as credential, list, revoke,
// and the revoked key refused at once.
func TestDeployedRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFakeService(t)
	c := newTestClient(t, f.URL, withCredential(f.admin))
	ctx := context.Background()
	m, err := c.mint(ctx, "a", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Key) != 43 || strings.HasPrefix(m.Key, "mola_") || !m.CreatedAt.IsZero() || m.CreatedBy != "" || m.Prefix != m.Key[:8] {
		t.Errorf("mint = %+v", m.Token)
	}
	if _, err := newTestClient(t, f.URL, withCredential(m.Key)).mint(ctx, "b", MintOptions{}); err != nil {
		t.Fatalf("minting with a key: %v", err)
	}
	tokens, err := c.listTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 2 || tokens[0].Name != "b" || tokens[0].CreatedBy != "org-token:"+m.Prefix || tokens[1].CreatedBy != "admin-token" {
		t.Errorf("list = %+v", tokens)
	}
	if err := c.Revoke(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, m.ID); !IsKeyNotLive(err) {
		t.Errorf("second revoke = %v", err)
	}
	if _, err := newTestClient(t, f.URL, withCredential(m.Key)).listTokens(ctx); !IsUnauthorized(err) {
		t.Errorf("a revoked key still authenticates: %v", err)
	}
	if _, err := c.mint(ctx, strings.Repeat("x", MaxNameBytes), MintOptions{}); err != nil {
		t.Errorf("a 100-byte name: %v", err)
	}
}
