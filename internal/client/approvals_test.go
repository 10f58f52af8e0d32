package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// junePoller is a client of a June 2026 emulator that reads approvals every few milliseconds.
func junePoller(t *testing.T, emu *emulator.Server, token string) *Client {
	t.Helper()
	return newTestClient(t, emu.URL(), realTime, func(c *Config) { c.Token, c.ApprovalPoll = token, 5*time.Millisecond })
}

// approveWhenPending decides the first approval that appears, as a person in Canvas would.
func decideWhenPending(t *testing.T, emu *emulator.Server, approve bool) {
	t.Helper()
	go func() {
		for {
			if p := emu.PendingApprovals(); len(p) > 0 {
				time.Sleep(20 * time.Millisecond) // a person reads before clicking
				if approve {
					emu.Approve(p[0].ID)
				} else {
					emu.Deny(p[0].ID)
				}
				return
			}
			select {
			case <-t.Context().Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
}

// A mint that waits for a person's approval is not a lost answer: by default it fails at once
// with the approval, after one mint request, and nothing is listed again or revoked.
func TestMintWaitingForApprovalFailsAtOnce(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	c := junePoller(t, emu, emu.AdminToken())
	_, revoked, err := c.MintReconciled(context.Background(), "ci", MintOptions{})
	var pending *ApprovalPendingError
	if !errors.As(err, &pending) || pending.Name != "ci" || pending.ApprovalID == "" || pending.Reason != "mint org token ci" || len(revoked) != 0 {
		t.Fatalf("MintReconciled = %v (revoked %v), want the pending approval", err, revoked)
	}
	counts := emu.RequestCounts()
	if counts[emulator.EndpointMint] != 1 || counts[emulator.EndpointRevoke] != 0 || counts[emulator.EndpointList] != 1 ||
		counts[emulator.EndpointApprovals] != 0 || counts[emulator.EndpointDecide] != 0 {
		t.Errorf("requests %v: want one list (the baseline) and one mint", counts)
	}
	if got := emu.PendingApprovals(); len(got) != 1 || got[0].ID != pending.ApprovalID {
		t.Errorf("pending approvals %+v", got)
	}
}

// With a wait, the approval is watched without minting; once a person approves, the mint is sent
// once more and gets the key. Two mint requests, and no decision by the client.
func TestMintWaitsForApproval(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	c := junePoller(t, emu, emu.AdminToken())
	decideWhenPending(t, emu, true)
	m, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{ApprovalWait: 10 * time.Second})
	if err != nil {
		t.Fatalf("MintReconciled: %v", err)
	}
	if m.ApprovalID == "" || m.ApprovalID != emu.Approvals()[0].ID || !emu.Approvals()[0].Consumed || m.CreatedBy != "admin-token" {
		t.Errorf("minted %+v (approval %q), approvals %+v", m.Token, m.ApprovalID, emu.Approvals())
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Errorf("%d mint requests, want 2", n)
	}
	if n := emu.RequestCount(emulator.EndpointDecide); n != 0 {
		t.Errorf("the client sent %d decisions", n)
	}
}

// A denial is reported as one, after a single mint request: another would open a new approval.
func TestMintDeniedByAPerson(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	c := junePoller(t, emu, emu.AdminToken())
	decideWhenPending(t, emu, false)
	_, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{ApprovalWait: 10 * time.Second})
	var denied *ApprovalDeniedError
	if !errors.As(err, &denied) || denied.DecidedBy != "human" || denied.DecidedAt.IsZero() || denied.ApprovalID != emu.Approvals()[0].ID {
		t.Fatalf("MintReconciled = %v, want the denial", err)
	}
	if n, d := emu.RequestCount(emulator.EndpointMint), emu.RequestCount(emulator.EndpointDecide); n != 1 || d != 0 || len(emu.Approvals()) != 1 {
		t.Errorf("%d mints, %d decisions, %d approvals: want 1, 0, 1", n, d, len(emu.Approvals()))
	}
}

// When no one decides in time, or the run is interrupted, the approval is left pending and the
// error says so; nothing was minted.
func TestMintApprovalWaitEnds(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	c := junePoller(t, emu, emu.AdminToken())
	_, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{ApprovalWait: 50 * time.Millisecond})
	var pending *ApprovalPendingError
	if !errors.As(err, &pending) || pending.Waited < 50*time.Millisecond || pending.Stopped != "" {
		t.Fatalf("MintReconciled = %v, want the approval still pending after the wait", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if _, _, err := c.MintReconciled(ctx, "ci", MintOptions{ApprovalWait: time.Hour}); !errors.As(err, &pending) {
		t.Fatalf("after a cancellation: %v", err)
	}
	if n, live := emu.RequestCount(emulator.EndpointMint), len(emu.LiveKeys()); n != 2 || live != 0 {
		t.Errorf("%d mints and %d keys, want 2 and none", n, live)
	}
}

// Keys waiting together share the reads of their workspace's approvals.
func TestApprovalReadsAreShared(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	c := newTestClient(t, emu.URL(), realTime, func(c *Config) { c.Token, c.ApprovalPoll = emu.AdminToken(), 40*time.Millisecond })
	errs := make(chan error, 5)
	for i := range 5 {
		go func() {
			_, _, err := c.MintReconciled(context.Background(), fmt.Sprintf("wait-%d", i), MintOptions{ApprovalWait: 400 * time.Millisecond})
			errs <- err
		}()
	}
	for range 5 {
		if err := <-errs; !errors.As(err, new(*ApprovalPendingError)) {
			t.Fatalf("MintReconciled = %v", err)
		}
	}
	// Alone, each would read about 10 times (400ms / 40ms), and find its workspace once.
	if n := emu.RequestCount(emulator.EndpointApprovals); n > 5+20 {
		t.Errorf("%d approval reads for 5 waiting keys, want them shared", n)
	}
}

// The organization's ceiling is not a rate limit: it is never retried and never read as the
// mint quota. A mint without an approval anchor is refused after one request.
func TestMintRefusals(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{MintCeiling: 1})
	c := junePoller(t, emu, emu.OrgKey()) // the org key fills the ceiling
	_, _, err := c.MintReconciled(context.Background(), "full", MintOptions{})
	if !IsMintCeiling(err) || IsRateLimited(err) {
		t.Fatalf("MintReconciled = %v, want the ceiling", err)
	}
	if _, ok := MintRateLimited(err); ok {
		t.Error("the ceiling read as the mint quota")
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 1 {
		t.Errorf("the ceiling was tried %d times", n)
	}

	bare := emulatortest.New(t, emulator.Options{NoPlatformWorkspace: true})
	_, _, err = junePoller(t, bare, bare.AdminToken()).MintReconciled(context.Background(), "refused", MintOptions{})
	if !IsNoApprovalAnchor(err) || bare.RequestCount(emulator.EndpointMint) != 1 {
		t.Fatalf("MintReconciled = %v after %d mints, want one refusal", err, bare.RequestCount(emulator.EndpointMint))
	}
}

// An expiry is sent with the mint and read back from the answer and the list; a build that
// ignores it says nothing back, and the key says so.
func TestMintWithExpiry(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	emu := emulatortest.New(t, emulator.Options{})
	c := junePoller(t, emu, emu.OrgKey())
	m, _, err := c.MintReconciled(context.Background(), "short-lived", MintOptions{ExpiresAt: at})
	if err != nil || m.ExpiresAt == nil || !m.ExpiresAt.Equal(at) || m.ExpiryIgnored {
		t.Fatalf("MintReconciled = %+v, %v; want expires_at %s", m, err, at)
	}
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := snap.Lookup(m.ID); !ok || k.ExpiresAt == nil || !k.ExpiresAt.Equal(at) || k.Expired(time.Now()) || !k.Expired(at) {
		t.Errorf("listed %+v", k)
	}

	old := emulatortest.New(t, april(emulator.Options{}))
	m, _, err = emulatorClient(t, old, old.AdminToken()).MintReconciled(context.Background(), "no-expiry", MintOptions{ExpiresAt: at})
	if err != nil || !m.ExpiryIgnored || m.ExpiresAt != nil {
		t.Fatalf("on April: %+v, %v; want the expiry ignored", m, err)
	}
}

// A 202 to a revocation (a deployment that gates them) revoked nothing: it is reported as a
// pending approval, never as done.
func TestRevokeWaitingForApproval(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(http.StatusAccepted, `{"status":"pending_approval","approval_id":"ap-1","action":"org_token_revoke","reason":"revoke"}`))
	err := newTestClient(t, s.URL).Revoke(context.Background(), "k1")
	var pending *ApprovalPendingError
	if !errors.As(err, &pending) || pending.ApprovalID != "ap-1" || pending.Method != http.MethodDelete {
		t.Fatalf("Revoke = %v", err)
	}
}

// A person may decide before the client first looks: the approval is then no longer pending,
// and is found among the workspaces the client has seen approvals in; a client that has seen
// none cannot read its decision, says so, and mints nothing more.
func TestApprovalDecidedBeforeTheFirstLook(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, emulator.Options{})
	var early atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/approvals/pending" && early.Load() {
			for _, p := range emu.PendingApprovals() {
				emu.Approve(p.ID)
			}
		}
		emu.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c := newTestClient(t, front.URL, realTime, func(c *Config) { c.Token, c.ApprovalPoll = emu.AdminToken(), 5*time.Millisecond })

	early.Store(true)
	_, _, err := c.MintReconciled(context.Background(), "first", MintOptions{ApprovalWait: 5 * time.Second})
	var pending *ApprovalPendingError
	if !errors.As(err, &pending) || !strings.Contains(pending.Stopped, "its workspace, where its decision could be read, is unknown") {
		t.Fatalf("MintReconciled = %v, want the approval given up on", err)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 1 {
		t.Fatalf("%d mint requests, want 1", n)
	}

	early.Store(false)
	decideWhenPending(t, emu, true)
	if _, _, err := c.MintReconciled(context.Background(), "second", MintOptions{ApprovalWait: 5 * time.Second}); err != nil {
		t.Fatalf("a watched approval: %v", err)
	}
	early.Store(true)
	m, _, err := c.MintReconciled(context.Background(), "third", MintOptions{ApprovalWait: 5 * time.Second})
	if err != nil || m.ApprovalID == "" {
		t.Fatalf("an approval decided before the first look, in a known workspace: %v", err)
	}
}
