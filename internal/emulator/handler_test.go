package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	a.emu.AddSession("canvas-session-1", "user_01HZX")
	_, seeded := a.emu.Seed(SeedKey{Name: "seeded"})
	unknown := newPlaintextKey()

	cases := []struct {
		name, header string
		want         int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"basic scheme", "Basic " + a.admin(), http.StatusUnauthorized},
		{"bare token", a.admin(), http.StatusUnauthorized},
		{"admin", "Bearer " + a.admin(), http.StatusOK},
		{"admin lower-case scheme", "bearer " + a.admin(), http.StatusOK},
		{"admin prefix only", "Bearer " + a.admin()[:len(a.admin())-1], http.StatusUnauthorized},
		{"admin with suffix", "Bearer " + a.admin() + "x", http.StatusUnauthorized},
		{"org key", "Bearer " + seeded, http.StatusOK},
		{"unknown org key", "Bearer " + unknown, http.StatusUnauthorized},
		{"session", "Bearer canvas-session-1", http.StatusOK},
		{"unknown session", "Bearer canvas-session-2", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.emu.URL()+"/org/tokens", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := a.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestUnauthorizedBodyNeverEchoesTheCredential(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	k, key := a.emu.Seed(SeedKey{Name: "soon revoked"})
	a.emu.Revoke(k.ID)
	r := a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", key, "")
	msg := errorMessage(t, r)
	if strings.Contains(string(r.body), key) || strings.Contains(msg, "mola_") {
		t.Fatalf("401 body %s echoes the credential", r.body)
	}
}

func TestRevokedKeyFailsOnTheVeryNextRequest(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, a *testAPI, id, key string){
		"revoked by admin": func(_ *testing.T, a *testAPI, id, _ string) {
			a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+id, a.admin(), "")
		},
		"revoked by itself": func(_ *testing.T, a *testAPI, id, key string) {
			a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+id, key, "")
		},
		"revoked by another org key": func(_ *testing.T, a *testAPI, id, _ string) {
			_, other := a.emu.Seed(SeedKey{Name: "other"})
			a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+id, other, "")
		},
		"revoked out of band": func(t *testing.T, a *testAPI, id, _ string) {
			if !a.emu.Revoke(id) {
				t.Error("Revoke of a live key returned false")
			}
		},
	}
	for name, revoke := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newTestAPI(t, Options{})
			minted := a.mint(a.admin(), "victim")
			a.expect(http.StatusOK, http.MethodGet, "/org/tokens", minted.Key, "")
			revoke(t, a, minted.ID, minted.Key)
			a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", minted.Key, "")
			a.expect(http.StatusUnauthorized, http.MethodPost, "/org/tokens", minted.Key, mintBody("x"))
			if n := len(a.emu.LiveKeys()); n > 1 {
				t.Fatalf("a revoked key minted something: %d live keys", n)
			}
		})
	}
}

func TestCreatedByAttribution(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	a.emu.AddSession("canvas-session", "user_01HZX")

	byAdmin := a.mint(a.admin(), "by admin")
	bySession := a.mint("canvas-session", "by session")
	byKey := a.mint(byAdmin.Key, "by key")
	byKeyOfKey := a.mint(byKey.Key, "by key of key")

	want := map[string]string{
		byAdmin.ID:    "admin-token",
		bySession.ID:  "session:user_01HZX",
		byKey.ID:      "org-token:" + byAdmin.Key[:8],
		byKeyOfKey.ID: "org-token:" + byKey.Key[:8],
	}
	if got := byKey.CreatedBy; got != want[byKey.ID] || len(strings.TrimPrefix(got, "org-token:")) != 8 {
		t.Fatalf("mint response created_by %q, want %q", got, want[byKey.ID])
	}
	for _, tok := range a.list(a.admin()) {
		if tok.CreatedBy != want[tok.ID] {
			t.Errorf("%s: created_by %q, want %q", tok.Name, tok.CreatedBy, want[tok.ID])
		}
		if k, _ := a.emu.Key(tok.ID); k.CreatedBy != want[tok.ID] {
			t.Errorf("%s: Key().CreatedBy %q, want %q", tok.Name, k.CreatedBy, want[tok.ID])
		}
	}
}

func TestLastUsedAtFollowsUse(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
	minted := a.mint(a.admin(), "worker")

	r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
	if !strings.Contains(string(r.body), `"last_used_at":null`) {
		t.Fatalf("a never-used key must list last_used_at null: %s", r.body)
	}
	if k, _ := a.emu.Key(minted.ID); k.LastUsedAt != nil {
		t.Fatalf("LastUsedAt %v before any use", k.LastUsedAt)
	}

	clock.Advance(90*time.Minute + 400*time.Millisecond)
	a.expect(http.StatusNotFound, http.MethodGet, "/nowhere", minted.Key, "")
	first := clock.Now().Truncate(time.Second)
	if k, _ := a.emu.Key(minted.ID); k.LastUsedAt == nil || !k.LastUsedAt.Equal(first) {
		t.Fatalf("LastUsedAt %v, want %v", k.LastUsedAt, first)
	}

	clock.Advance(time.Hour)
	a.mint(minted.Key, "child")
	second := clock.Now().Truncate(time.Second)
	for _, tok := range a.list(a.admin()) {
		if tok.ID != minted.ID {
			continue
		}
		if tok.LastUsedAt == nil || *tok.LastUsedAt != second.Format(time.RFC3339) {
			t.Fatalf("listed last_used_at %v, want %s", tok.LastUsedAt, second.Format(time.RFC3339))
		}
	}

	// The admin token and a session are not org keys and leave every key untouched.
	a.emu.AddSession("s", "u")
	clock.Advance(time.Hour)
	a.list(a.admin())
	a.list("s")
	if k, _ := a.emu.Key(minted.ID); !k.LastUsedAt.Equal(second) {
		t.Fatalf("LastUsedAt moved to %v without use of the key", k.LastUsedAt)
	}
}

func TestControlPlaneIsOutOfReach(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
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

func TestNameValidation(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
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

func TestMalformedMintRequests(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
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

func TestMintResponseAndFormats(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	before := time.Now().UTC().Truncate(time.Second)
	seen := map[string]bool{}
	for range 20 {
		r := a.expect(http.StatusCreated, http.MethodPost, "/org/tokens", a.admin(), mintBody("fmt"))
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("mint Cache-Control %q, want no-store", cc)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("mint Content-Type %q", ct)
		}
		var tok wireToken
		decode(t, r.body, &tok)
		if !idPattern.MatchString(tok.ID) {
			t.Fatalf("id %q does not match %s", tok.ID, idPattern)
		}
		if !keyPattern.MatchString(tok.Key) {
			t.Fatalf("key does not match %s", keyPattern)
		}
		if !rfc3339UTC.MatchString(tok.CreatedAt) {
			t.Fatalf("created_at %q is not RFC 3339 UTC", tok.CreatedAt)
		}
		created, _ := time.Parse(time.RFC3339, tok.CreatedAt)
		if created.Before(before) || created.After(time.Now().Add(time.Second)) {
			t.Fatalf("created_at %s is not now", tok.CreatedAt)
		}
		if tok.Name != "fmt" || tok.CreatedBy != "admin-token" || tok.LastUsedAt != nil {
			t.Fatalf("unexpected mint response %+v", tok)
		}
		if seen[tok.ID] || seen[tok.Key] {
			t.Fatal("duplicate id or key")
		}
		seen[tok.ID], seen[tok.Key] = true, true
	}

	// The plaintext appears in the mint response and never again.
	for _, path := range []string{"/org/tokens", "/_emulator/keys"} {
		r := a.expect(http.StatusOK, http.MethodGet, path, a.admin(), "")
		if plaintextPattern.Match(r.body) {
			t.Fatalf("%s leaks a plaintext key", path)
		}
	}
}

func TestIDsSortLikeCreation(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
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

	live := a.emu.LiveKeys()
	got := make([]string, 0, len(live))
	for _, k := range live {
		got = append(got, k.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("LiveKeys order\n got %v\nwant %v", got, want)
	}
	if listed := ids(a.list(a.admin())); !slices.Equal(listed, want) {
		t.Fatalf("list order\n got %v\nwant %v", listed, want)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
	keep := a.mint(a.admin(), "keep")
	drop := a.mint(a.admin(), "drop")

	clock.Advance(time.Minute)
	r := a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+drop.ID, a.admin(), "")
	if len(r.body) != 0 {
		t.Fatalf("204 with body %q", r.body)
	}
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

	for _, id := range []string{drop.ID, "tok_00000000000000000000", "nonsense"} {
		r := a.expect(http.StatusNotFound, http.MethodDelete, "/org/tokens/"+id, a.admin(), "")
		errorMessage(t, r)
	}
	if a.emu.Revoke(drop.ID) || a.emu.Revoke("tok_00000000000000000000") {
		t.Fatal("out-of-band Revoke of a revoked or unknown key returned true")
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
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
		if r.status != http.StatusNoContent {
			errorMessage(t, r)
		}
	}
	if !a.emu.IsLive(k.ID) {
		t.Fatal("a refused request revoked the key")
	}
}

func TestSeedDefaultsAndTouch(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	clock.Advance(1500 * time.Millisecond)
	a := newTestAPI(t, Options{Now: clock.Now})

	k, key := a.emu.Seed(SeedKey{Name: "defaults"})
	if k.CreatedBy != "admin-token" || !k.CreatedAt.Equal(clock.Now().Truncate(time.Second)) || k.LastUsedAt != nil || k.RevokedAt != nil {
		t.Fatalf("Seed defaults: %+v", k)
	}
	if !idPattern.MatchString(k.ID) || !keyPattern.MatchString(key) {
		t.Fatalf("Seed id %q or key has the wrong shape", k.ID)
	}
	if got := a.mint(key, "child").CreatedBy; got != "org-token:"+key[:8] {
		t.Fatalf("a seeded key minted as %q", got)
	}

	used := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 3600))
	a.emu.Touch(k.ID, used)
	got, _ := a.emu.Key(k.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Truncate(time.Second)) || got.LastUsedAt.Location() != time.UTC {
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
}

func TestKeyBySHA256(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
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
		{digest(minted.Key), minted.ID, false},
		{strings.ToUpper(digest(minted.Key)), minted.ID, false},
		{digest(seededKey), seeded.ID, true},
	} {
		k, ok := a.emu.KeyBySHA256(tc.digest)
		if !ok || k.ID != tc.id || (k.RevokedAt != nil) != tc.revoked {
			t.Errorf("KeyBySHA256(%s) = %+v, %v; want %s, revoked %v", tc.digest, k, ok, tc.id, tc.revoked)
		}
	}
	for _, bad := range []string{"", digest("mola_unknown"), digest(minted.Key)[:62], digest(minted.Key) + "00", "zz" + digest(minted.Key)[2:], minted.Key} {
		if k, ok := a.emu.KeyBySHA256(bad); ok {
			t.Errorf("KeyBySHA256(%q) found %s", bad, k.ID)
		}
	}
}

func TestEventsTimeline(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	one := a.mint(a.admin(), "one")
	two, _ := a.emu.Seed(SeedKey{Name: "two"})
	a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+one.ID, a.admin(), "")
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
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	const workers, each = 8, 20
	_, key := a.emu.Seed(SeedKey{Name: "shared"})
	errs := make(chan string, workers*each)
	done := make(chan []string, workers)
	for w := range workers {
		go func() {
			var minted []string
			for i := range each {
				token := a.admin()
				if (w+i)%2 == 0 {
					token = key
				}
				r, err := a.send(t.Context(), http.MethodPost, "/org/tokens", token, mintBody("c"))
				if err != nil || r.status != http.StatusCreated {
					errs <- "mint failed"
					continue
				}
				if _, err := a.send(t.Context(), http.MethodGet, "/org/tokens", token, ""); err != nil {
					errs <- err.Error()
				}
				minted = append(minted, string(r.body))
			}
			done <- minted
		}()
	}
	total := 0
	for range workers {
		total += len(<-done)
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
}

func TestTenThousandKeys(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	const n = 10_000
	base := time.Now().Add(-time.Hour)
	var last string
	for i := range n {
		// Seeded newest first, so every insertion lands at the front of the ordered index.
		_, last = a.emu.Seed(SeedKey{Name: "bulk", CreatedAt: base.Add(-time.Duration(i) * time.Second)})
	}
	start := time.Now()
	toks := a.list(last)
	if len(toks) != n {
		t.Fatalf("listed %d keys, want %d", len(toks), n)
	}
	for i := 1; i < n; i++ {
		if toks[i].CreatedAt < toks[i-1].CreatedAt {
			t.Fatalf("list out of order at %d", i)
		}
	}
	a.mint(last, "one more")
	a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+toks[n/2].ID, a.admin(), "")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("listing, minting and revoking among %d keys took %v", n, d)
	}
}
