package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		msg    string // deployed 401s only; the guide has one message for every refusal
	}
	cases := []struct {
		name            string
		header          func(admin, key string) string
		deployed, guide want
	}{
		{"missing", func(string, string) string { return "" }, want{401, msgAuthRequired}, want{401, ""}},
		{"empty bearer", func(string, string) string { return "Bearer " }, want{401, msgAuthRequired}, want{401, ""}},
		{"basic scheme", func(a, _ string) string { return "Basic " + a }, want{401, msgAuthRequired}, want{401, ""}},
		{"bare token", func(a, _ string) string { return a }, want{401, msgAuthRequired}, want{401, ""}},
		{"admin", func(a, _ string) string { return "Bearer " + a }, want{200, ""}, want{200, ""}},
		{"admin padded", func(a, _ string) string { return "Bearer   " + a + " " }, want{200, ""}, want{200, ""}},
		{"admin lower-case scheme", func(a, _ string) string { return "bearer " + a }, want{401, msgAuthRequired}, want{200, ""}},
		{"admin upper-case scheme", func(a, _ string) string { return "BEARER " + a }, want{401, msgAuthRequired}, want{200, ""}},
		{"admin prefix only", func(a, _ string) string { return "Bearer " + a[:len(a)-1] }, want{401, msgAuthInvalid}, want{401, ""}},
		{"admin with suffix", func(a, _ string) string { return "Bearer " + a + "x" }, want{401, msgAuthInvalid}, want{401, ""}},
		{"org key", func(_, k string) string { return "Bearer " + k }, want{200, ""}, want{200, ""}},
		{"org key lower-case scheme", func(_, k string) string { return "bearer " + k }, want{401, msgAuthRequired}, want{200, ""}},
		{"unknown org key", func(string, string) string { return "Bearer " + newDeployedKey() }, want{401, msgAuthInvalid}, want{401, ""}},
		{"unknown guide key", func(string, string) string { return "Bearer " + newPlaintextKey() }, want{401, msgAuthInvalid}, want{401, ""}},
		{"session", func(string, string) string { return "Bearer canvas-session-1" }, want{200, ""}, want{200, ""}},
		{"unknown session", func(string, string) string { return "Bearer canvas-session-2" }, want{401, msgAuthInvalid}, want{401, ""}},
	}
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d, RequestLimit: NoLimit})
		a.emu.AddSession("canvas-session-1", "user_01HZX")
		_, seeded := a.emu.Seed(SeedKey{Name: "seeded"})
		for _, tc := range cases {
			want := tc.guide
			if d == DialectDeployed {
				want = tc.deployed
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.emu.URL()+"/org/tokens", nil)
			if err != nil {
				t.Fatal(err)
			}
			if h := tc.header(a.admin(), seeded); h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := a.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r := reply{status: resp.StatusCode, header: resp.Header}
			r.body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if r.status != want.status {
				t.Errorf("%s: status %d, want %d", tc.name, r.status, want.status)
				continue
			}
			if r.status != http.StatusUnauthorized {
				continue
			}
			msg := errorMessage(t, r)
			challenge := r.header.Get("WWW-Authenticate")
			switch d {
			case DialectDeployed:
				// The service sends neither a challenge nor anything beyond the two messages.
				if msg != want.msg || challenge != "" {
					t.Errorf("%s: 401 %q challenge %q, want %q and no challenge", tc.name, msg, challenge, want.msg)
				}
			case DialectGuide:
				if msg != unauthorizedMsg || !strings.HasPrefix(challenge, "Bearer") {
					t.Errorf("%s: 401 %q challenge %q", tc.name, msg, challenge)
				}
			}
		}
	})
}

func TestUnauthorizedBodyNeverEchoesTheCredential(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		k, key := a.emu.Seed(SeedKey{Name: "soon revoked"})
		a.emu.Revoke(k.ID)
		r := a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", key, "")
		errorMessage(t, r)
		assertNoPlaintext(t, "401 body", r.body, key, key[:keyPrefixLen])
	})
}

func TestRevokedKeyFailsOnTheVeryNextRequest(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, a *testAPI, id, key string){
		"revoked by admin": func(_ *testing.T, a *testAPI, id, _ string) {
			a.revoke(a.admin(), id)
		},
		"revoked by itself": func(_ *testing.T, a *testAPI, id, key string) {
			a.revoke(key, id)
		},
		"revoked by another org key": func(_ *testing.T, a *testAPI, id, _ string) {
			_, other := a.emu.Seed(SeedKey{Name: "other"})
			a.revoke(other, id)
		},
		"revoked out of band": func(t *testing.T, a *testAPI, id, _ string) {
			if !a.emu.Revoke(id) {
				t.Error("Revoke of a live key returned false")
			}
		},
	}
	forEachDialect(t, func(t *testing.T, d Dialect) {
		for name, revoke := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				a := newTestAPI(t, Options{Dialect: d})
				minted := a.mint(a.admin(), "victim")
				a.expect(http.StatusOK, http.MethodGet, "/org/tokens", minted.secret(), "")
				revoke(t, a, minted.ID, minted.secret())
				a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", minted.secret(), "")
				a.expect(http.StatusUnauthorized, http.MethodPost, "/org/tokens", minted.secret(), mintBody("x"))
				if n := len(a.emu.LiveKeys()); n > 1 {
					t.Fatalf("a revoked key minted something: %d live keys", n)
				}
			})
		}
	})
}

func TestCreatedByAttribution(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddSession("canvas-session", "user_01HZX")

		byAdmin := a.mint(a.admin(), "by admin")
		bySession := a.mint("canvas-session", "by session")
		byKey := a.mint(byAdmin.secret(), "by key")
		byKeyOfKey := a.mint(byKey.secret(), "by key of key")

		session := "session:user_01HZX"
		if d == DialectDeployed {
			session = "session" // the service does not know the user
		}
		want := map[string]string{
			byAdmin.ID:    "admin-token",
			bySession.ID:  session,
			byKey.ID:      "org-token:" + byAdmin.secret()[:8],
			byKeyOfKey.ID: "org-token:" + byKey.secret()[:8],
		}
		// Only the guide's mint response says who minted; the service's says it in the list.
		if d == DialectGuide && byKey.CreatedBy != want[byKey.ID] {
			t.Fatalf("mint response created_by %q, want %q", byKey.CreatedBy, want[byKey.ID])
		}
		if d == DialectDeployed && byKey.CreatedBy != "" {
			t.Fatalf("deployed mint response carries created_by %q", byKey.CreatedBy)
		}
		listed := a.list(a.admin())
		if len(listed) != len(want) {
			t.Fatalf("listed %d keys, want %d", len(listed), len(want))
		}
		for _, tok := range listed {
			if tok.CreatedBy != want[tok.ID] {
				t.Errorf("%s: created_by %q, want %q", tok.Name, tok.CreatedBy, want[tok.ID])
			}
			if k, _ := a.emu.Key(tok.ID); k.CreatedBy != want[tok.ID] {
				t.Errorf("%s: Key().CreatedBy %q, want %q", tok.Name, k.CreatedBy, want[tok.ID])
			}
		}
	})
}

func TestLastUsedAtFollowsUse(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now})
		minted := a.mint(a.admin(), "worker")

		r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		switch d {
		case DialectDeployed:
			if strings.Contains(string(r.body), "last_used_at") {
				t.Fatalf("a never-used key must list no last_used_at: %s", r.body)
			}
		case DialectGuide:
			if !strings.Contains(string(r.body), `"last_used_at":null`) {
				t.Fatalf("a never-used key must list last_used_at null: %s", r.body)
			}
		}
		if k, _ := a.emu.Key(minted.ID); k.LastUsedAt != nil {
			t.Fatalf("LastUsedAt %v before any use", k.LastUsedAt)
		}

		clock.Advance(90*time.Minute + 400*time.Millisecond + 700*time.Nanosecond)
		a.call(http.MethodGet, "/org/tokens", minted.secret(), "")
		first := clock.Now().Truncate(a.spec.precision)
		if k, _ := a.emu.Key(minted.ID); k.LastUsedAt == nil || !k.LastUsedAt.Equal(first) {
			t.Fatalf("LastUsedAt %v, want %v", k.LastUsedAt, first)
		}

		clock.Advance(time.Hour)
		a.mint(minted.secret(), "child")
		second := clock.Now().Truncate(a.spec.precision)
		wantText := map[Dialect]string{DialectDeployed: "2026-04-21T02:30:00.4Z", DialectGuide: "2026-04-21T02:30:00Z"}[d]
		found := false
		for _, tok := range a.list(a.admin()) {
			if tok.ID != minted.ID {
				continue
			}
			found = true
			if tok.LastUsedAt == nil || *tok.LastUsedAt != wantText {
				t.Fatalf("listed last_used_at %v, want %s", tok.LastUsedAt, wantText)
			}
		}
		if !found {
			t.Fatal("the used key is not listed")
		}

		// The admin token and a session are not org keys and leave every key untouched.
		a.emu.AddSession("s", "u")
		clock.Advance(time.Hour)
		a.list(a.admin())
		a.list("s")
		if k, _ := a.emu.Key(minted.ID); !k.LastUsedAt.Equal(second) {
			t.Fatalf("LastUsedAt moved to %v without use of the key", k.LastUsedAt)
		}
	})
}

func TestGuideControlPlaneIsOutOfReach(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Dialect: DialectGuide})
	a.emu.AddSession("canvas", "user_1")
	_, key := a.emu.Seed(SeedKey{Name: "org key"})
	for _, path := range []string{"/cp/admin", "/cp/admin/orgs", "/cp/admin/orgs/acme/tokens"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			a.expect(http.StatusForbidden, method, path, key, "")
			a.expect(http.StatusForbidden, method, path, "canvas", "")
			a.expect(http.StatusUnauthorized, method, path, "", "")
			a.expect(http.StatusUnauthorized, method, path, newPlaintextKey(), "")
		}
	}
	// Not the control plane, merely a similar path.
	a.expect(http.StatusNotFound, http.MethodGet, "/cp/administrator", key, "")
	a.expect(http.StatusNotFound, http.MethodGet, "/cp/admin/orgs", a.admin(), "")
}

func TestGuideNameValidation(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Dialect: DialectGuide, MintLimit: NoLimit})
	cases := []struct {
		name string
		ok   bool
	}{
		{"", false},
		{" ", false},
		{" \t\u00a0\u2003 ", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("é", 128), true},
		{strings.Repeat("🔑", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("é", 129), false},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"  padded  ", true},
		{"claude-agent-prod", true},
		{"日本語のキー", true},
	}
	for _, tc := range cases {
		r := a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody(tc.name))
		switch {
		case tc.ok && r.status != http.StatusCreated:
			t.Errorf("name %q: status %d, want 201 (%s)", tc.name, r.status, r.body)
		case !tc.ok && r.status != http.StatusBadRequest:
			t.Errorf("name %q: status %d, want 400", tc.name, r.status)
		case !tc.ok:
			errorMessage(t, r)
		}
	}
	// Names are stored as sent, not trimmed, so what Terraform wrote is what it reads back.
	names := map[string]bool{}
	for _, tok := range a.list(a.admin()) {
		names[tok.Name] = true
	}
	if !names["  padded  "] {
		t.Fatalf("padded name not kept verbatim: %v", names)
	}
}

func TestDeployedNames(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{MintLimit: NoLimit})
	cases := []struct {
		name   string
		status int
		msg    string
	}{
		{strings.Repeat("a", 100), http.StatusOK, ""},
		{strings.Repeat("a", 101), http.StatusBadRequest, msgNameTooLong},
		// The limit counts bytes: 50 two-byte characters fit, 51 do not.
		{strings.Repeat("é", 50), http.StatusOK, ""},
		{strings.Repeat("é", 51), http.StatusBadRequest, msgNameTooLong},
		{strings.Repeat("🔑", 26), http.StatusBadRequest, msgNameTooLong},
		// No other rule: whatever the guide refuses, the service stores.
		{" ", http.StatusOK, ""},
		{"tab\there\n", http.StatusOK, ""},
		{"c1\u0085 del\x7f", http.StatusOK, ""},
		{"  padded  ", http.StatusOK, ""},
		{"日本語のキー", http.StatusOK, ""},
		// Postgres refuses NUL in text; the service reports the failed insert.
		{"nul\x00", http.StatusInternalServerError, msgMintFailed},
	}
	want := map[string]bool{}
	for _, tc := range cases {
		r := a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody(tc.name))
		if r.status != tc.status {
			t.Errorf("name %q: status %d, want %d (%s)", tc.name, r.status, tc.status, r.body)
			continue
		}
		if tc.status != http.StatusOK {
			if msg := errorMessage(t, r); msg != tc.msg {
				t.Errorf("name %q: message %q, want %q", tc.name, msg, tc.msg)
			}
			continue
		}
		var tok wireToken
		decode(t, r.body, &tok)
		if tok.Name != tc.name {
			t.Errorf("mint answered name %q, want %q", tok.Name, tc.name)
		}
		want[tc.name] = true
	}
	got := map[string]bool{}
	for _, tok := range a.list(a.admin()) {
		got[tok.Name] = true
	}
	for name := range want {
		if !got[name] {
			t.Errorf("name %q not listed verbatim", name)
		}
	}
	if n := len(a.emu.LiveKeys()); n != len(want) {
		t.Fatalf("%d keys live, want %d: a refused mint was committed", n, len(want))
	}
}

func TestGuideMalformedMintRequests(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Dialect: DialectGuide, MintLimit: NoLimit})
	cases := []struct {
		body string
		want int
	}{
		{"", http.StatusBadRequest},
		{"not json", http.StatusBadRequest},
		{`["name"]`, http.StatusBadRequest},
		{`{"name": 5}`, http.StatusBadRequest},
		{`{}`, http.StatusBadRequest},
		{`null`, http.StatusBadRequest},
		{`{"name":"a"} {"name":"b"}`, http.StatusBadRequest},
		{`{"name":"a"`, http.StatusBadRequest},
		{`{"name":"` + strings.Repeat("a", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
		{`{"name":"roles soon", "role": "read-only"}`, http.StatusCreated},
		{"{\"name\":\"trailing space\"}\n  ", http.StatusCreated},
	}
	for _, tc := range cases {
		r := a.call(http.MethodPost, "/org/tokens", a.admin(), tc.body)
		if r.status != tc.want {
			t.Errorf("body %.40q: status %d, want %d (%s)", tc.body, r.status, tc.want, r.body)
		}
		if r.status >= 400 {
			errorMessage(t, r)
		}
	}
	if n := len(a.emu.LiveKeys()); n != 2 {
		t.Fatalf("%d keys minted, want 2", n)
	}
}

// TestDeployedMintBodies follows the service, which ignores every decoding error: whatever
// the body, it mints, named only when the first JSON value has a string "name".
func TestDeployedMintBodies(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{MintLimit: NoLimit})
	cases := []struct {
		body string
		want int
		name string
	}{
		{"", http.StatusOK, ""},
		{"not json", http.StatusOK, ""},
		{`["name"]`, http.StatusOK, ""},
		{`{"name": 5}`, http.StatusOK, ""},
		{`{"other": 5, "name": "after a stranger"}`, http.StatusOK, "after a stranger"},
		{`{}`, http.StatusOK, ""},
		{`{"name": ""}`, http.StatusOK, ""},
		{`null`, http.StatusOK, ""},
		{`{"name":"first"} {"name":"second"}`, http.StatusOK, "first"},
		{`{"name":"first"} trailing garbage`, http.StatusOK, "first"},
		{`{"name":"cut short"`, http.StatusOK, ""},
		{`{"name":"raw	tab"}`, http.StatusOK, ""},
		{`{"name":"roles soon", "role": "read-only"}`, http.StatusOK, "roles soon"},
		{`{"name":"` + strings.Repeat("a", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, ""},
	}
	for _, tc := range cases {
		r := a.call(http.MethodPost, "/org/tokens", a.admin(), tc.body)
		if r.status != tc.want {
			t.Errorf("body %.40q: status %d, want %d (%s)", tc.body, r.status, tc.want, r.body)
			continue
		}
		if r.status != http.StatusOK {
			errorMessage(t, r)
			continue
		}
		var tok wireToken
		decode(t, r.body, &tok)
		if tok.Name != tc.name {
			t.Errorf("body %.40q: named %q, want %q", tc.body, tok.Name, tc.name)
		}
		if got := fields(t, r.body)["name"]; got != (tc.name != "") {
			t.Errorf("body %.40q: name present %v, want it only when not empty", tc.body, got)
		}
		if k, _ := a.emu.Key(tok.ID); k.Name != tc.name {
			t.Errorf("body %.40q: stored name %q", tc.body, k.Name)
		}
	}
	// No body at all, not even a Content-Type.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.emu.URL()+"/org/tokens", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.admin())
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bodiless mint: %d", resp.StatusCode)
	}
}

func TestMintResponseAndFormats(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d, MintLimit: NoLimit})
		before := time.Now().UTC().Truncate(time.Second)
		seen := map[string]bool{}
		var plaintexts []string
		for range 20 {
			r := a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("fmt"))
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("mint Cache-Control %q, want no-store", cc)
			}
			if ct := r.header.Get("Content-Type"); ct != a.spec.contentType {
				t.Fatalf("mint Content-Type %q, want %q", ct, a.spec.contentType)
			}
			var tok wireToken
			decode(t, r.body, &tok)
			key := tok.secret()
			plaintexts = append(plaintexts, key)
			if !a.spec.id.MatchString(tok.ID) {
				t.Fatalf("id %q does not match %s", tok.ID, a.spec.id)
			}
			if !a.spec.key.MatchString(key) {
				t.Fatalf("key does not match %s", a.spec.key)
			}
			got := fields(t, r.body)
			switch d {
			case DialectDeployed:
				for _, f := range []string{"id", "prefix", "name", "auth_token", "warning"} {
					if !got[f] {
						t.Fatalf("deployed mint response lacks %s: %v", f, got)
					}
				}
				if len(got) != 5 {
					t.Fatalf("deployed mint response has fields %v, want only id, prefix, name, auth_token, warning", got)
				}
				if tok.Prefix != key[:8] || tok.Warning != "copy this token now; it will not be shown again" || tok.Name != "fmt" {
					t.Fatalf("deployed mint response: prefix %q name %q warning %q", tok.Prefix, tok.Name, tok.Warning)
				}
			case DialectGuide:
				if len(got) != 5 || !got["key"] || !got["created_by"] || !got["created_at"] {
					t.Fatalf("guide mint response has fields %v", got)
				}
				if !a.spec.timestamp.MatchString(tok.CreatedAt) {
					t.Fatalf("created_at %q is not RFC 3339 UTC", tok.CreatedAt)
				}
				created, _ := time.Parse(time.RFC3339, tok.CreatedAt)
				if created.Before(before) || created.After(time.Now().Add(time.Second)) {
					t.Fatalf("created_at %s is not now", tok.CreatedAt)
				}
				if tok.Name != "fmt" || tok.CreatedBy != "admin-token" || tok.LastUsedAt != nil {
					t.Fatalf("unexpected guide mint response fields: name %q created_by %q", tok.Name, tok.CreatedBy)
				}
			}
			if k, _ := a.emu.Key(tok.ID); k.Prefix != key[:8] {
				t.Fatalf("Key().Prefix %q is not the plaintext's first 8 characters", k.Prefix)
			}
			if seen[tok.ID] || seen[key] {
				t.Fatal("duplicate id or key")
			}
			seen[tok.ID], seen[key] = true, true
		}

		r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		if ct := r.header.Get("Content-Type"); ct != a.spec.contentType {
			t.Fatalf("list Content-Type %q, want %q", ct, a.spec.contentType)
		}
		for _, tok := range a.list(a.admin()) {
			if !a.spec.timestamp.MatchString(tok.CreatedAt) {
				t.Fatalf("listed created_at %q does not match %s", tok.CreatedAt, a.spec.timestamp)
			}
			if created, err := time.Parse(time.RFC3339Nano, tok.CreatedAt); err != nil || created.Before(before) {
				t.Fatalf("listed created_at %q is not now", tok.CreatedAt)
			}
			if d == DialectDeployed && (tok.Prefix == "" || tok.OrgID != "") {
				t.Fatalf("deployed entry prefix %q org_id %q", tok.Prefix, tok.OrgID)
			}
			if d == DialectGuide && tok.Prefix != "" {
				t.Fatalf("guide entry carries a prefix")
			}
		}

		// The plaintext appears in the mint response and never again.
		for _, path := range []string{"/org/tokens", "/_emulator/keys"} {
			r := a.expect(http.StatusOK, http.MethodGet, path, a.admin(), "")
			assertNoPlaintext(t, path, r.body, plaintexts...)
		}
	})
}

func TestDeployedListEntries(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
	a.emu.AddSession("canvas", "user_1")
	named := a.mint(a.admin(), "named")
	clock.Advance(1500 * time.Microsecond)
	unnamedReply := a.expect(http.StatusOK, http.MethodPost, "/org/tokens", "canvas", "")
	var unnamed wireToken
	decode(t, unnamedReply.body, &unnamed)
	clock.Advance(time.Second)
	a.emu.Touch(named.ID, clock.Now().Add(250*time.Nanosecond))
	seeded, _ := a.emu.Seed(SeedKey{CreatedBy: "", CreatedAt: clock.Now().Add(-time.Hour), OrgID: "9a1c2b0e-org"})

	r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
	var out struct {
		Count  int                          `json:"count"`
		Tokens []map[string]json.RawMessage `json:"tokens"`
	}
	decode(t, r.body, &out)
	want := []struct {
		id     string
		fields []string
		text   map[string]string
	}{
		{unnamed.ID, []string{"id", "prefix", "created_by", "created_at"}, map[string]string{"created_by": `"session"`, "created_at": `"2026-04-21T00:00:00.0015Z"`}},
		{named.ID, []string{"id", "prefix", "name", "created_by", "created_at", "last_used_at"}, map[string]string{"name": `"named"`, "created_at": `"2026-04-21T00:00:00Z"`, "last_used_at": `"2026-04-21T00:00:01.0015Z"`}},
		{seeded.ID, []string{"id", "prefix", "org_id", "created_by", "created_at"}, map[string]string{"created_by": `"admin-token"`, "org_id": `"9a1c2b0e-org"`, "created_at": `"2026-04-20T23:00:01.0015Z"`}},
	}
	if out.Count != len(want) || len(out.Tokens) != len(want) {
		t.Fatalf("count %d, %d tokens, want %d", out.Count, len(out.Tokens), len(want))
	}
	for i, w := range want {
		got := out.Tokens[i]
		if string(got["id"]) != `"`+w.id+`"` {
			t.Fatalf("entry %d is %s, want %s (newest first)", i, got["id"], w.id)
		}
		if len(got) != len(w.fields) {
			t.Errorf("entry %d has %d fields, want %v", i, len(got), w.fields)
		}
		for _, f := range w.fields {
			if _, ok := got[f]; !ok {
				t.Errorf("entry %d lacks %s", i, f)
			}
		}
		for f, v := range w.text {
			if string(got[f]) != v {
				t.Errorf("entry %d %s = %s, want %s", i, f, got[f], v)
			}
		}
	}
}

func TestGuideIDsSortLikeCreation(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Dialect: DialectGuide, Now: clock.Now, MintLimit: NoLimit})
	var minted []string
	for range 50 {
		minted = append(minted, a.mint(a.admin(), "burst").ID) // one frozen instant
	}
	if !slices.IsSorted(minted) {
		t.Fatalf("ids minted within one millisecond are not increasing: %v", minted)
	}
	// The first ten characters are the creation time in milliseconds.
	wantTime := make([]byte, idTimeChars)
	encodeCrockford(wantTime, uint64(clock.Now().UnixMilli()))
	if got := minted[0][len(idPrefix) : len(idPrefix)+idTimeChars]; got != string(wantTime) {
		t.Fatalf("time part %s, want %s", got, wantTime)
	}

	base := clock.Now().Add(-48 * time.Hour)
	late, _ := a.emu.Seed(SeedKey{Name: "late", CreatedAt: base.Add(2 * time.Hour)})
	tieA, _ := a.emu.Seed(SeedKey{Name: "tie-a", CreatedAt: base.Add(300 * time.Millisecond)})
	tieB, _ := a.emu.Seed(SeedKey{Name: "tie-b", CreatedAt: base.Add(700 * time.Millisecond)})
	mid, _ := a.emu.Seed(SeedKey{Name: "mid", CreatedAt: base.Add(time.Hour)})
	if !tieA.CreatedAt.Equal(tieB.CreatedAt) {
		t.Fatalf("sub-second creation times should collapse to one second: %v %v", tieA.CreatedAt, tieB.CreatedAt)
	}
	first, second := tieA.ID, tieB.ID
	if second < first {
		first, second = second, first
	}
	want := append([]string{first, second, mid.ID, late.ID}, minted...)

	if got := keyIDs(a.emu.LiveKeys()); !slices.Equal(got, want) {
		t.Fatalf("LiveKeys order\n got %v\nwant %v", got, want)
	}
	// The guide's list has no order; it holds the same keys.
	if listed := ids(a.list(a.admin())); !sameIDs(listed, want) {
		t.Fatalf("listed keys\n got %v\nwant %v", listed, want)
	}
}

func TestDeployedListIsNewestFirst(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now, MintLimit: NoLimit})
	var burst []string
	for range 30 {
		burst = append(burst, a.mint(a.admin(), "burst").ID) // one frozen instant
	}
	base := clock.Now().Add(-48 * time.Hour)
	late, _ := a.emu.Seed(SeedKey{Name: "late", CreatedAt: base.Add(2 * time.Hour)})
	tieA, _ := a.emu.Seed(SeedKey{Name: "tie-a", CreatedAt: base.Add(300 * time.Nanosecond)})
	tieB, _ := a.emu.Seed(SeedKey{Name: "tie-b", CreatedAt: base.Add(700 * time.Nanosecond)})
	mid, _ := a.emu.Seed(SeedKey{Name: "mid", CreatedAt: base.Add(time.Hour)})
	apart, _ := a.emu.Seed(SeedKey{Name: "a microsecond later", CreatedAt: base.Add(time.Microsecond)})
	if !tieA.CreatedAt.Equal(tieB.CreatedAt) || tieA.CreatedAt.Equal(apart.CreatedAt) {
		t.Fatalf("creation times must collapse to the microsecond: %v %v %v", tieA.CreatedAt, tieB.CreatedAt, apart.CreatedAt)
	}
	// Keys of one instant come in id order; UUIDs are random, so sort them here.
	slices.Sort(burst)
	ties := []string{tieA.ID, tieB.ID}
	slices.Sort(ties)

	want := append(append(slices.Clone(burst), late.ID, mid.ID, apart.ID), ties...)
	if listed := ids(a.list(a.admin())); !slices.Equal(listed, want) {
		t.Fatalf("list order\n got %v\nwant %v", listed, want)
	}
	// The Go API stays oldest first.
	oldest := append(append(slices.Clone(ties), apart.ID, mid.ID, late.ID), burst...)
	if got := keyIDs(a.emu.LiveKeys()); !slices.Equal(got, oldest) {
		t.Fatalf("LiveKeys order\n got %v\nwant %v", got, oldest)
	}
}

// names lists the keys' names in the order the list gave them.
func names(toks []wireToken) string {
	out := make([]string, len(toks))
	for i, tok := range toks {
		out[i] = tok.Name
	}
	return strings.Join(out, " ")
}

// seedNamed seeds one key per name, a minute apart in the given order, so creation order is name
// order.
func seedNamed(a *testAPI, clock *fakeClock, keys ...string) {
	for i, name := range keys {
		a.emu.Seed(SeedKey{Name: name, CreatedAt: clock.Now().Add(time.Duration(i-len(keys)) * time.Minute)})
	}
}

// The guide promises no list order, so the emulator's guide lists in a fresh random order each
// time, drawn from Options.ListOrder, and never in creation order: a client that relies on the
// order fails every time, not once in n! lists.
func TestGuideListOrder(t *testing.T) {
	t.Parallel()
	lists := func(t *testing.T, src mrand.Source, n int, keys ...string) []string {
		t.Helper()
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: DialectGuide, Now: clock.Now, ListOrder: src})
		seedNamed(a, clock, keys...)
		out := make([]string, n)
		for i := range out {
			out[i] = names(a.list(a.admin()))
		}
		return out
	}

	t.Run("every order but creation order", func(t *testing.T) {
		t.Parallel()
		seen := map[string]int{}
		for _, l := range lists(t, mrand.NewPCG(1, 2), 600, "a", "b", "c") {
			seen[l]++
		}
		if seen["a b c"] != 0 {
			t.Fatalf("%d of 600 lists came in creation order", seen["a b c"])
		}
		// Five orders, about 120 times each.
		for _, order := range []string{"a c b", "b a c", "b c a", "c a b", "c b a"} {
			if seen[order] < 60 {
				t.Errorf("order %q came %d times in 600 lists, want about 120: %v", order, seen[order], seen)
			}
		}
	})

	t.Run("a fresh order per list", func(t *testing.T) {
		t.Parallel()
		got := lists(t, mrand.NewPCG(3, 4), 20, "a", "b", "c", "d", "e", "f", "g", "h")
		distinct := map[string]bool{}
		for _, l := range got {
			distinct[l] = true
		}
		if len(distinct) < 15 {
			t.Fatalf("20 lists of 8 keys came in only %d orders: %v", len(distinct), got)
		}
	})

	t.Run("a seed repeats the orders", func(t *testing.T) {
		t.Parallel()
		keys := []string{"a", "b", "c", "d", "e", "f"}
		first, second := lists(t, mrand.NewPCG(5, 6), 10, keys...), lists(t, mrand.NewPCG(5, 6), 10, keys...)
		if !slices.Equal(first, second) {
			t.Fatalf("one seed, two sequences of orders:\n%v\n%v", first, second)
		}
		if other := lists(t, mrand.NewPCG(7, 8), 10, keys...); slices.Equal(first, other) {
			t.Fatalf("two seeds, one sequence of orders: %v", first)
		}
	})

	t.Run("random by default", func(t *testing.T) {
		t.Parallel()
		keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
		// Two unseeded servers agree on five orders of ten keys once in (10!-1)^5 runs.
		if first, second := lists(t, nil, 5, keys...), lists(t, nil, 5, keys...); slices.Equal(first, second) {
			t.Fatalf("two unseeded servers listed in the same orders: %v", first)
		}
	})

	t.Run("one key", func(t *testing.T) {
		t.Parallel()
		if got := lists(t, mrand.NewPCG(9, 10), 3, "only"); !slices.Equal(got, []string{"only", "only", "only"}) {
			t.Fatalf("lists of one key: %v", got)
		}
	})

	t.Run("the cap keeps the newest", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: DialectGuide, Now: clock.Now, ListCap: 4, ListOrder: mrand.NewPCG(11, 12)})
		seedNamed(a, clock, "old-1", "old-2", "new-1", "new-2", "new-3", "new-4")
		for range 50 {
			got := strings.Fields(names(a.list(a.admin())))
			if slices.Sort(got); !slices.Equal(got, []string{"new-1", "new-2", "new-3", "new-4"}) {
				t.Fatalf("a list capped at 4 of 6 keys holds %v, want the 4 newest", got)
			}
		}
	})
}

// The deployed service orders its list (newest first), so Options.ListOrder changes nothing there.
func TestDeployedListIgnoresListOrder(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now, ListOrder: mrand.NewPCG(1, 2)})
	seedNamed(a, clock, "a", "b", "c", "d")
	for range 20 {
		if got := names(a.list(a.admin())); got != "d c b a" {
			t.Fatalf("deployed list order %q, want newest first", got)
		}
	}
}

func TestListCap(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		for _, tc := range []struct {
			cap, want int
		}{{3, 3}, {7, 7}, {10, 7}, {-1, 7}} {
			clock := newFakeClock()
			a := newTestAPI(t, Options{Dialect: d, Now: clock.Now, ListCap: tc.cap})
			var made []string // oldest first
			for i := range 8 {
				k, _ := a.emu.Seed(SeedKey{Name: "k", CreatedAt: clock.Now().Add(time.Duration(i) * time.Minute)})
				made = append(made, k.ID)
			}
			a.emu.Revoke(made[4]) // a revoked key neither shows nor takes a place
			live := slices.Delete(slices.Clone(made), 4, 5)
			newest := live[len(live)-tc.want:]
			want := slices.Clone(newest)
			got := ids(a.list(a.admin()))
			if d == DialectDeployed {
				slices.Reverse(want)
			} else {
				// The guide's list is in no order: the cap decides which keys, not where.
				slices.Sort(got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("cap %d: listed %v, want %v", tc.cap, got, want)
			}
			if n := len(a.emu.LiveKeys()); n != len(live) {
				t.Errorf("cap %d: LiveKeys has %d keys, want all %d", tc.cap, n, len(live))
			}
		}
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now})
		keep := a.mint(a.admin(), "keep")
		drop := a.mint(a.admin(), "drop")

		clock.Advance(time.Minute)
		a.revoke(a.admin(), drop.ID)
		if got := ids(a.list(a.admin())); !slices.Equal(got, []string{keep.ID}) {
			t.Fatalf("list after revoke: %v", got)
		}
		if a.emu.IsLive(drop.ID) || !a.emu.IsLive(keep.ID) {
			t.Fatal("IsLive disagrees with the revocation")
		}
		k, ok := a.emu.Key(drop.ID)
		if !ok || k.RevokedAt == nil || !k.RevokedAt.Equal(clock.Now()) {
			t.Fatalf("Key(revoked) = %+v, %v", k, ok)
		}
		if n := len(a.emu.AllKeys()); n != 2 {
			t.Fatalf("AllKeys has %d keys, want 2", n)
		}

		// Ids the deployed service cannot even parse are TestDeployedRevokeIDs' subject.
		notFound, unknown := msgRevokeNotFound, []string{drop.ID, "00000000-0000-4000-8000-000000000000"}
		if d == DialectGuide {
			notFound, unknown = "token not found", []string{drop.ID, "tok_00000000000000000000", "nonsense"}
		}
		for _, id := range unknown {
			r := a.expect(http.StatusNotFound, http.MethodDelete, "/org/tokens/"+id, a.admin(), "")
			if msg := errorMessage(t, r); msg != notFound {
				t.Fatalf("revoke %s: %q, want %q", id, msg, notFound)
			}
		}
		if a.emu.Revoke(drop.ID) || a.emu.Revoke("tok_00000000000000000000") {
			t.Fatal("out-of-band Revoke of a revoked or unknown key returned true")
		}
	})
}

// TestDeployedRevokeIDs follows the service, which hands {id} to Postgres's uuid type: what
// it cannot parse is a 500, anything it can names a key however it is written.
func TestDeployedRevokeIDs(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	for _, id := range []string{"nonsense", "tok_01HZX3B7N8PQ9K4M5R6T", "00000000-0000-4000-8000-00000000000", "00000000-0000-4000-8000-0000000000000", "{00000000-0000-4000-8000-000000000000", "0000-0000-0000-4000-8000-0000-0000-0000-"} {
		r := a.expect(http.StatusInternalServerError, http.MethodDelete, "/org/tokens/"+url.PathEscape(id), a.admin(), "")
		if msg := errorMessage(t, r); msg != msgRevokeFailed {
			t.Fatalf("revoke %q: %q, want %q", id, msg, msgRevokeFailed)
		}
	}
	variants := []func(string) string{
		strings.ToUpper,
		func(id string) string { return "{" + id + "}" },
		func(id string) string { return strings.ReplaceAll(id, "-", "") },
		func(id string) string {
			plain := strings.ReplaceAll(id, "-", "")
			return plain[:4] + "-" + plain[4:8] + "-" + plain[8:]
		},
	}
	for i, variant := range variants {
		k, _ := a.emu.Seed(SeedKey{Name: "variant"})
		written := variant(k.ID)
		if written == k.ID {
			t.Fatalf("variant %d leaves the id as it is", i)
		}
		r := a.expect(http.StatusOK, http.MethodDelete, "/org/tokens/"+url.PathEscape(written), a.admin(), "")
		var out struct {
			Revoked string `json:"revoked"`
		}
		decode(t, r.body, &out)
		// The service echoes the id as sent, not its canonical form.
		if out.Revoked != written {
			t.Fatalf("revoking %q answered %s", written, r.body)
		}
		if a.emu.IsLive(k.ID) {
			t.Fatalf("revoking %q left %s live", written, k.ID)
		}
	}
}

func TestCanonicalUUID(t *testing.T) {
	t.Parallel()
	const want = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	for _, in := range []string{
		want,
		"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
		"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
		"a0eebc999c0b4ef8bb6d6bb9bd380a11",
		"a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
		"{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
	} {
		if got, ok := canonicalUUID(in); !ok || got != want {
			t.Errorf("canonicalUUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "{", "{}", "nonsense",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
		"-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
		"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
		"g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	} {
		if got, ok := canonicalUUID(in); ok {
			t.Errorf("canonicalUUID(%q) accepted as %q", in, got)
		}
	}
	if id := newUUID(); !specs[DialectDeployed].id.MatchString(id) {
		t.Fatalf("newUUID() = %q", id)
	}
}

func TestGuideRouting(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Dialect: DialectGuide})
	k, _ := a.emu.Seed(SeedKey{Name: "x"})
	cases := []struct {
		method, path string
		want         int
		allow        string
	}{
		{http.MethodPut, "/org/tokens", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodDelete, "/org/tokens", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/org/tokens/" + k.ID, http.StatusMethodNotAllowed, "DELETE"},
		{http.MethodPatch, "/org/tokens/" + k.ID, http.StatusMethodNotAllowed, "DELETE"},
		{http.MethodGet, "/", http.StatusNotFound, ""},
		{http.MethodGet, "/org/tokens/", http.StatusNotFound, ""},
		{http.MethodDelete, "/org/tokens/", http.StatusNotFound, ""},
		{http.MethodDelete, "/org/tokens/" + k.ID + "/extra", http.StatusNotFound, ""},
		{http.MethodGet, "/org/tokenss", http.StatusNotFound, ""},
		{http.MethodGet, "/_emulator/nothing", http.StatusNotFound, ""},
		{http.MethodPost, "/_emulator/keys", http.StatusMethodNotAllowed, "GET"},
	}
	for _, tc := range cases {
		r := a.call(tc.method, tc.path, a.admin(), "")
		if r.status != tc.want || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow=%q, want %d Allow=%q", tc.method, tc.path, r.status, r.header.Get("Allow"), tc.want, tc.allow)
		}
		errorMessage(t, r)
	}
	if !a.emu.IsLive(k.ID) {
		t.Fatal("a refused request revoked the key")
	}
}

// TestDeployedRouting follows the service's router: a route it does not have is a plain-text
// 404 before any authentication, the control plane included, and wrong methods are no
// exception (gin answers them 404, not 405).
func TestDeployedRouting(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	k, key := a.emu.Seed(SeedKey{Name: "x"})
	paths := []struct{ method, path string }{
		{http.MethodPut, "/org/tokens"},
		{http.MethodDelete, "/org/tokens"},
		{http.MethodHead, "/org/tokens"},
		{http.MethodGet, "/org/tokens/" + k.ID},
		{http.MethodPatch, "/org/tokens/" + k.ID},
		{http.MethodGet, "/"},
		{http.MethodDelete, "/org/tokens/"},
		{http.MethodDelete, "/org/tokens/" + k.ID + "/extra"},
		{http.MethodGet, "/org/tokenss"},
		{http.MethodGet, "/cp/admin"},
		{http.MethodPost, "/cp/admin/orgs/acme/tokens"},
	}
	for _, p := range paths {
		for _, token := range []string{"", "wrong", key, a.admin()} {
			r := a.call(p.method, p.path, token, "")
			if r.status != http.StatusNotFound || r.header.Get("Content-Type") != "text/plain" || r.header.Get("Allow") != "" {
				t.Errorf("%s %s: %d %q Allow=%q, want a plain 404", p.method, p.path, r.status, r.header.Get("Content-Type"), r.header.Get("Allow"))
			}
			if p.method != http.MethodHead && string(r.body) != "404 page not found" {
				t.Errorf("%s %s: body %q", p.method, p.path, r.body)
			}
		}
	}
	if got, _ := a.emu.Key(k.ID); !a.emu.IsLive(k.ID) || got.LastUsedAt != nil {
		t.Fatal("an unrouted request authenticated or revoked the key")
	}
	// Query strings do not change the route.
	a.expect(http.StatusOK, http.MethodGet, "/org/tokens?limit=1", a.admin(), "")
}

func TestSeedDefaultsAndTouch(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		clock.Advance(1500*time.Millisecond + 2500*time.Nanosecond)
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now})

		k, key := a.emu.Seed(SeedKey{Name: "defaults"})
		if k.CreatedBy != "admin-token" || !k.CreatedAt.Equal(clock.Now().Truncate(a.spec.precision)) || k.LastUsedAt != nil || k.RevokedAt != nil {
			t.Fatalf("Seed defaults: %+v", k)
		}
		if !a.spec.id.MatchString(k.ID) || !a.spec.key.MatchString(key) || k.Prefix != key[:8] {
			t.Fatalf("Seed id %q, prefix %q or key has the wrong shape", k.ID, k.Prefix)
		}
		child := a.mint(key, "child")
		if got, _ := a.emu.Key(child.ID); got.CreatedBy != "org-token:"+key[:8] {
			t.Fatalf("a seeded key minted as %q", got.CreatedBy)
		}

		used := time.Date(2026, 1, 2, 3, 4, 5, 600_700, time.FixedZone("X", 3600))
		a.emu.Touch(k.ID, used)
		got, _ := a.emu.Key(k.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Truncate(a.spec.precision)) || got.LastUsedAt.Location() != time.UTC {
			t.Fatalf("after Touch: %v", got.LastUsedAt)
		}
		a.emu.Touch("tok_unknown", used) // ignored
		if _, ok := a.emu.Key("tok_unknown"); ok {
			t.Fatal("Touch created a key")
		}

		// Returned metadata is a copy: changing it does not change the emulator.
		*got.LastUsedAt = time.Time{}
		again, _ := a.emu.Key(k.ID)
		if again.LastUsedAt.IsZero() {
			t.Fatal("Key returned a pointer into the emulator's state")
		}
	})
}

func TestKeyBySHA256(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		minted := a.mint(a.admin(), "minted")
		seeded, seededKey := a.emu.Seed(SeedKey{Name: "seeded"})
		a.emu.Revoke(seeded.ID)
		digest := func(plaintext string) string {
			sum := sha256.Sum256([]byte(plaintext))
			return hex.EncodeToString(sum[:])
		}

		for _, tc := range []struct {
			digest, id string
			revoked    bool
		}{
			{digest(minted.secret()), minted.ID, false},
			{strings.ToUpper(digest(minted.secret())), minted.ID, false},
			{digest(seededKey), seeded.ID, true},
		} {
			k, ok := a.emu.KeyBySHA256(tc.digest)
			if !ok || k.ID != tc.id || (k.RevokedAt != nil) != tc.revoked {
				t.Errorf("KeyBySHA256(%s) = %+v, %v; want %s, revoked %v", tc.digest, k, ok, tc.id, tc.revoked)
			}
		}
		d0 := digest(minted.secret())
		for _, bad := range []string{"", digest("unknown"), d0[:62], d0 + "00", "zz" + d0[2:], minted.secret()} {
			if k, ok := a.emu.KeyBySHA256(bad); ok {
				t.Errorf("KeyBySHA256(%q) found %s", bad, k.ID)
			}
		}
	})
}

func TestEventsTimeline(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		one := a.mint(a.admin(), "one")
		two, _ := a.emu.Seed(SeedKey{Name: "two"})
		a.revoke(a.admin(), one.ID)
		a.emu.Revoke(two.ID)
		a.expect(http.StatusNotFound, http.MethodDelete, "/org/tokens/"+one.ID, a.admin(), "")
		three := a.mint(a.admin(), "three")

		want := []Event{
			{Seq: 1, Type: "mint", ID: one.ID, Name: "one"},
			{Seq: 2, Type: "mint", ID: two.ID, Name: "two"},
			{Seq: 3, Type: "revoke", ID: one.ID, Name: "one"},
			{Seq: 4, Type: "revoke", ID: two.ID, Name: "two"},
			{Seq: 5, Type: "mint", ID: three.ID, Name: "three"},
		}
		got := a.emu.Events()
		if len(got) != len(want) {
			t.Fatalf("events %+v", got)
		}
		for i := range want {
			g := got[i]
			if g.At.IsZero() {
				t.Errorf("event %d has no time", i)
			}
			g.At = time.Time{}
			if g != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, g, want[i])
			}
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d, MintLimit: NoLimit, RequestLimit: NoLimit})
		const workers, each = 8, 20
		_, key := a.emu.Seed(SeedKey{Name: "shared"})
		errs := make(chan string, workers*each)
		done := make(chan int, workers)
		for w := range workers {
			go func() {
				minted := 0
				for i := range each {
					token := a.admin()
					if (w+i)%2 == 0 {
						token = key
					}
					r, err := a.send(t.Context(), http.MethodPost, "/org/tokens", token, mintBody("c"))
					if err != nil || r.status != a.spec.mintStatus {
						errs <- "mint failed"
						continue
					}
					if _, err := a.send(t.Context(), http.MethodGet, "/org/tokens", token, ""); err != nil {
						errs <- err.Error()
					}
					minted++
				}
				done <- minted
			}()
		}
		total := 0
		for range workers {
			total += <-done
		}
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if total != workers*each || len(a.emu.LiveKeys()) != workers*each+1 {
			t.Fatalf("minted %d, live %d", total, len(a.emu.LiveKeys()))
		}
		unique := map[string]bool{}
		for i, e := range a.emu.Events() {
			if e.Seq != i+1 {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
			unique[e.ID] = true
		}
		if len(unique) != workers*each+1 {
			t.Fatalf("%d distinct ids", len(unique))
		}
	})
}

func TestTenThousandKeys(t *testing.T) {
	t.Parallel()
	const n = 10_000
	for _, tc := range []struct {
		name string
		opts Options
		want int
	}{
		{"deployed default cap", Options{}, defaultListCap},
		{"deployed uncapped", Options{ListCap: -1}, n},
		{"guide default cap", Options{Dialect: DialectGuide}, defaultListCap},
		{"guide uncapped", Options{Dialect: DialectGuide, ListCap: -1}, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newTestAPI(t, tc.opts)
			base := time.Now().Add(-time.Hour)
			var newest []string // newest first
			last := ""
			for i := range n {
				// Seeded newest first, so every insertion lands at the front of the ordered index.
				var k Key
				k, last = a.emu.Seed(SeedKey{Name: "bulk", CreatedAt: base.Add(-time.Duration(i) * time.Second)})
				if i < tc.want {
					newest = append(newest, k.ID)
				}
			}
			start := time.Now()
			toks := a.list(last)
			if len(toks) != tc.want {
				t.Fatalf("listed %d keys, want %d", len(toks), tc.want)
			}
			listed := ids(toks)
			if a.emu.Dialect() == DialectDeployed {
				if !slices.Equal(listed, newest) {
					t.Fatal("the deployed list is not the newest keys, newest first")
				}
			} else if !sameIDs(listed, newest) {
				t.Fatal("the guide's list is not the newest keys")
			}
			if live := a.emu.LiveKeys(); len(live) != n {
				t.Fatalf("LiveKeys has %d keys, want all %d", len(live), n)
			}
			a.mint(last, "one more")
			a.revoke(a.admin(), toks[len(toks)/2].ID)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("listing, minting and revoking among %d keys took %v", n, d)
			}
		})
	}
}
