package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pendingReply is a 202's body.
type pendingReply struct {
	Action     string `json:"action"`
	ApprovalID string `json:"approval_id"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
}

func (a *testAPI) expectPending(token, body string) pendingReply {
	a.t.Helper()
	r := a.expect(http.StatusAccepted, http.MethodPost, "/org/tokens", token, body)
	var p pendingReply
	decode(a.t, r.body, &p)
	if p.Status != "pending_approval" || p.Action != "org_token_mint" || p.ApprovalID == "" {
		a.t.Fatalf("202 body %s", r.body)
	}
	return p
}

// anchored seeds an org key anchored to the deployment's platform workspace, as the hosted
// service issues one, and returns its plaintext.
func (a *testAPI) anchored(name string) string {
	a.t.Helper()
	_, key := a.emu.Seed(SeedKey{Name: name, CreatedBy: "fixture-seed", OrgID: a.emu.PlatformWorkspaceID()})
	return key
}

// A mint with ADMIN_TOKEN waits for a person: 202 with an approval, the same one while it is
// pending; approved, the next identical mint uses it up and gets the key; after that, or after a
// denial, a mint opens a new approval. The approval does not cover expires_at.
func TestApprovalGate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Build: BuildJune2026, Now: clock.Now})
	first := a.expectPending(a.admin(), mintBody("ci"))
	if first.Reason != "mint org token ci" {
		t.Errorf("reason %q", first.Reason)
	}
	if again := a.expectPending(a.admin(), mintBody("ci")); again.ApprovalID != first.ApprovalID {
		t.Fatalf("a retry while pending opened approval %s, want %s", again.ApprovalID, first.ApprovalID)
	}
	// Another name, or another credential, is another request for a person to decide.
	if other := a.expectPending(a.admin(), mintBody("cd")); other.ApprovalID == first.ApprovalID {
		t.Fatal("an approval covers another name")
	}
	var pending []map[string]any
	decode(t, a.expect(http.StatusOK, http.MethodGet, "/approvals/pending", a.admin(), "").body, &pending)
	if len(pending) != 2 || pending[1]["id"] != first.ApprovalID || pending[1]["workspace_id"] != a.emu.PlatformWorkspaceID() ||
		pending[1]["workspace_name"] != "Org Concierge" || pending[1]["status"] != "pending" || pending[1]["action"] != "org_token_mint" {
		t.Fatalf("pending approvals %v", pending)
	}
	if len(a.emu.AllKeys()) != 0 {
		t.Fatal("a pending mint created a key")
	}

	clock.Advance(time.Minute)
	if !a.emu.Approve(first.ApprovalID) || a.emu.Approve(first.ApprovalID) {
		t.Fatal("Approve must decide a pending approval exactly once")
	}
	var decided []map[string]any
	decode(t, a.expect(http.StatusOK, http.MethodGet, "/workspaces/"+a.emu.PlatformWorkspaceID()+"/approvals", a.admin(), "").body, &decided)
	if len(decided) != 2 || decided[1]["id"] != first.ApprovalID || decided[1]["status"] != "approved" ||
		decided[1]["decided_by"] != "human" || decided[1]["decided_at"] != "2026-04-21T00:01:00Z" || decided[0]["decided_at"] != nil {
		t.Fatalf("workspace approvals %v", decided)
	}
	// Approved for a name, it mints whatever expires_at the retry asks for.
	r := a.expect(http.StatusOK, http.MethodPost, "/org/tokens", a.admin(), `{"name":"ci","expires_at":"2030-01-01T00:00:00Z"}`)
	var minted wireToken
	decode(t, r.body, &minted)
	if minted.Name != "ci" || minted.AuthToken == "" || minted.ExpiresAt == nil || *minted.ExpiresAt != "2030-01-01T00:00:00Z" {
		t.Fatalf("mint after approval: %s", r.body)
	}
	if next := a.expectPending(a.admin(), mintBody("ci")); next.ApprovalID == first.ApprovalID {
		t.Fatal("an approval was used twice")
	}
	second := a.emu.PendingApprovals()[1]
	if !a.emu.Deny(second.ID) {
		t.Fatal("Deny found nothing pending")
	}
	if after := a.expectPending(a.admin(), mintBody("ci")); after.ApprovalID == second.ID {
		t.Fatal("a denied approval was reused")
	}
	if n := len(a.emu.LiveKeys()); n != 1 {
		t.Fatalf("%d keys live, want the one approved", n)
	}
}

// The route Canvas decides through: the emulator serves it as the server does, and counts it, so
// that tests can prove a client never calls it.
func TestDecideRoute(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Build: BuildJune2026})
	p := a.expectPending(a.admin(), mintBody("ci"))
	path := "/workspaces/" + a.emu.PlatformWorkspaceID() + "/approvals/" + p.ApprovalID + "/decide"
	if msg := errorMessage(t, a.expect(http.StatusBadRequest, http.MethodPost, path, a.admin(), `{"decision":"yes"}`)); msg != "decision must be 'approved' or 'denied'" {
		t.Errorf("bad decision: %q", msg)
	}
	if msg := errorMessage(t, a.expect(http.StatusNotFound, http.MethodPost, "/workspaces/"+newUUID()+"/approvals/"+p.ApprovalID+"/decide",
		a.admin(), `{"decision":"approved"}`)); msg != msgApprovalNotFound {
		t.Errorf("another workspace: %q", msg)
	}
	r := a.expect(http.StatusOK, http.MethodPost, path, a.admin(), `{"decision":"approved","decided_by":"human"}`)
	if string(r.body) != `{"approval_id":"`+p.ApprovalID+`","status":"approved"}` {
		t.Errorf("decide: %s", r.body)
	}
	a.expect(http.StatusNotFound, http.MethodPost, path, a.admin(), `{"decision":"approved"}`)
	if n := a.emu.RequestCount(EndpointDecide); n != 4 {
		t.Errorf("%d decide requests counted, want 4", n)
	}
	a.expect(http.StatusOK, http.MethodPost, "/org/tokens", a.admin(), mintBody("ci"))
}

// Who may mint: an anchored org key at once, and its keys inherit its organization and mint too;
// an unanchored key never; ADMIN_TOKEN never on a deployment without a platform workspace; and
// with the gate flag, anchored keys wait for approval as well.
func TestMintersAndAnchors(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Build: BuildJune2026})
	parent := a.mint(a.anchored("anchored"), "child")
	grandchild := a.mint(parent.AuthToken, "grandchild")
	for _, k := range a.list(a.admin()) {
		if k.ID != grandchild.ID && k.ID != parent.ID {
			continue
		}
		if k.OrgID != a.emu.PlatformWorkspaceID() {
			t.Errorf("key %s has org_id %q, want its minter's", k.ID, k.OrgID)
		}
	}
	_, unanchored := a.emu.Seed(SeedKey{Name: "canvas key"})
	for _, token := range []string{unanchored} {
		if msg := errorMessage(t, a.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", token, mintBody("x"))); msg != msgNoApprovalAnchor {
			t.Errorf("unanchored key: %q", msg)
		}
	}

	b := newTestAPI(t, Options{Build: BuildJune2026, NoPlatformWorkspace: true})
	if msg := errorMessage(t, b.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", b.admin(), mintBody("x"))); msg != msgNoApprovalAnchor {
		t.Errorf("ADMIN_TOKEN without a platform workspace: %q", msg)
	}

	c := newTestAPI(t, Options{Build: BuildJune2026, ApprovalGate: true})
	key := c.anchored("gated")
	p := c.expectPending(key, mintBody("x"))
	if got := c.emu.PendingApprovals(); len(got) != 1 || got[0].WorkspaceID != c.emu.PlatformWorkspaceID() {
		t.Fatalf("pending %+v", got)
	}
	// An approval is for the credential that asked: ADMIN_TOKEN cannot use it.
	c.emu.Approve(p.ApprovalID)
	c.expectPending(c.admin(), mintBody("x"))
	c.mint(key, "x")
}

// expires_at is taken at mint, echoed as sent and listed in UTC; an expired key is still listed
// but no longer authenticates, and revoking it succeeds. A past or malformed expiry is refused.
func TestExpiry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Build: BuildJune2026, Now: clock.Now})
	key := a.anchored("minter")
	r := a.expect(http.StatusOK, http.MethodPost, "/org/tokens", key, `{"name":"short","expires_at":"2026-04-21T02:00:00.123456789+02:00"}`)
	var m wireToken
	decode(t, r.body, &m)
	if m.ExpiresAt == nil || *m.ExpiresAt != "2026-04-21T02:00:00.123456789+02:00" {
		t.Fatalf("mint echoes expires_at %v, want it as sent", m.ExpiresAt)
	}
	listed := func() *wireToken {
		for _, k := range a.list(key) {
			if k.ID == m.ID {
				return &k
			}
		}
		return nil
	}
	if k := listed(); k == nil || k.ExpiresAt == nil || *k.ExpiresAt != "2026-04-21T00:00:00.123457Z" {
		t.Fatalf("listed %+v, want expires_at in UTC, to the microsecond", k)
	}
	a.expect(http.StatusOK, http.MethodGet, "/org/tokens", m.AuthToken, "")
	clock.Advance(200 * time.Millisecond)
	if msg := errorMessage(t, a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", m.AuthToken, "")); msg != msgAuthInvalid {
		t.Errorf("expired key: %q", msg)
	}
	if listed() == nil {
		t.Fatal("an expired key left the list")
	}
	a.revoke(key, m.ID)

	for body, want := range map[string]int{
		`{"name":"past","expires_at":"2026-04-20T00:00:00Z"}`: http.StatusInternalServerError,
		`{"name":"x","expires_at":"tomorrow"}`:                http.StatusBadRequest,
		`{"name":"x","expires_at":"2027-01-01"}`:              http.StatusBadRequest,
		`{"name":"x","expires_at":1767225600}`:                http.StatusBadRequest,
		`{"name":`:                                            http.StatusBadRequest,
		`{"name":5}`:                                          http.StatusBadRequest,
	} {
		if r := a.call(http.MethodPost, "/org/tokens", key, body); r.status != want {
			t.Errorf("%s: %d %s, want %d", body, r.status, r.body, want)
		}
	}
	// null is no expiry, and an empty body an unnamed key.
	a.expect(http.StatusOK, http.MethodPost, "/org/tokens", key, `{"name":"forever","expires_at":null}`)
	a.expect(http.StatusOK, http.MethodPost, "/org/tokens", key, "")
	// A malformed body is refused before the gate: no approval is opened for it.
	a.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", a.admin(), `{"name":`)
	if n := len(a.emu.PendingApprovals()); n != 0 {
		t.Fatalf("%d approvals opened for refused bodies", n)
	}
}

// An organization's org keys may hold at most the ceiling's live, unexpired keys, the seeded one
// included: beyond it a mint is refused with a 429 that has no Retry-After, whatever the mint
// quota says. Revoking a key or its expiry frees a slot; ADMIN_TOKEN's keys never count.
func TestMintCeiling(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Build: BuildJune2026, Now: clock.Now, MintCeiling: 3})
	key := a.anchored("minter")
	a.mint(key, "one")
	short := a.expect(http.StatusOK, http.MethodPost, "/org/tokens", key, `{"name":"two","expires_at":"2026-04-21T00:00:01Z"}`)
	r := a.expect(http.StatusTooManyRequests, http.MethodPost, "/org/tokens", key, mintBody("three"))
	if msg := errorMessage(t, r); msg != msgMintCeiling || r.header.Get("Retry-After") != "" || r.header.Get("X-RateLimit-Limit") != "10" {
		t.Fatalf("ceiling: %q, Retry-After %q, X-RateLimit-Limit %q", msg, r.header.Get("Retry-After"), r.header.Get("X-RateLimit-Limit"))
	}
	clock.Advance(time.Second)
	a.mint(key, "three") // the short-lived key expired
	a.expect(http.StatusTooManyRequests, http.MethodPost, "/org/tokens", key, mintBody("four"))
	var m wireToken
	decode(t, short.body, &m)
	a.revoke(key, m.ID) // an expired key still takes no slot; revoking it changes nothing
	a.expect(http.StatusTooManyRequests, http.MethodPost, "/org/tokens", key, mintBody("four"))
	a.revoke(key, a.list(key)[0].ID)
	a.mint(key, "four")
	// With ADMIN_TOKEN (approved), keys belong to no organization.
	p := a.expectPending(a.admin(), mintBody("admin"))
	a.emu.Approve(p.ApprovalID)
	a.expect(http.StatusOK, http.MethodPost, "/org/tokens", a.admin(), mintBody("admin"))
}

// Every mint that passes authentication uses mint quota, whatever the answer: 202 and 400
// included.
func TestGatedMintsUseQuota(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Build: BuildJune2026, MintLimit: Limit{Requests: 3, Window: time.Hour}})
	a.expectPending(a.admin(), mintBody("ci"))
	a.expectPending(a.admin(), mintBody("ci"))
	a.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", a.admin(), `{"name":`)
	r := a.expect(http.StatusTooManyRequests, http.MethodPost, "/org/tokens", a.admin(), mintBody("ci"))
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil || body["error"] != "rate limit exceeded" {
		t.Fatalf("4th mint: %s", r.body)
	}
}

// The April build has none of it: ADMIN_TOKEN mints at once, expires_at is ignored, a broken body
// mints an unnamed key, and the approval routes do not exist.
func TestAprilBuildHasNoGate(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{Build: BuildApril2026, MintCeiling: 1})
	r := a.expect(http.StatusOK, http.MethodPost, "/org/tokens", a.admin(), `{"name":"ci","expires_at":"2027-01-01T00:00:00Z"}`)
	if fields(t, r.body)["expires_at"] {
		t.Errorf("April echoed expires_at: %s", r.body)
	}
	key := a.anchored("anchored")
	a.mint(key, "one")
	a.mint(key, "two") // no ceiling
	r = a.expect(http.StatusOK, http.MethodPost, "/org/tokens", a.admin(), `{"name":5}`)
	if fields(t, r.body)["name"] {
		t.Errorf("a mistyped body minted a named key: %s", r.body)
	}
	for _, k := range a.list(a.admin()) {
		if k.ExpiresAt != nil {
			t.Errorf("April listed expires_at for %s", k.ID)
		}
	}
	r = a.expect(http.StatusNotFound, http.MethodGet, "/approvals/pending", a.admin(), "")
	if !strings.Contains(string(r.body), "404 page not found") {
		t.Errorf("approvals on April: %s", r.body)
	}
}
