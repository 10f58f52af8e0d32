package client

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// fakeEmulator is an April 2026 emulator on a fake clock, which the test's clients share: the
// window after a lost answer is read on the service's clock (created_at, Date), which must keep
// time with theirs.
func fakeEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(time.Now())
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	return emulatortest.New(t, april(opts)), clock
}

// liveNamed returns the ids of the emulator's live keys with this name.
func liveNamed(emu *emulator.Server, name string) []string {
	var ids []string
	for _, k := range emu.LiveKeys() {
		if k.Name == name {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// revokedNamed returns the ids of the emulator's revoked keys with this name.
func revokedNamed(emu *emulator.Server, name string) []string {
	var ids []string
	for _, k := range emu.AllKeys() {
		if k.Name == name && k.RevokedAt != nil {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

func TestMintReconciledLostResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		fault       emulator.Fault
		wantRevoked int
	}{
		{"committed then 502", emulator.Fault{Mode: emulator.FaultCommitThenStatus, Status: 502}, 1},
		{"committed then 500", emulator.Fault{Mode: emulator.FaultCommitThenStatus, Status: 500}, 1},
		{"committed then 504", emulator.Fault{Mode: emulator.FaultCommitThenStatus, Status: 504}, 1},
		{"committed then dropped", emulator.Fault{Mode: emulator.FaultCommitThenDrop}, 1},
		{"502 before commit", emulator.Fault{Mode: emulator.FaultRespond, Status: 502}, 0},
		{"dropped before commit", emulator.Fault{Mode: emulator.FaultDropBeforeCommit}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu, clock := fakeEmulator(t, emulator.Options{})
			c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
			tc.fault.Endpoint = emulator.EndpointMint
			emu.AddFault(tc.fault)

			m, revoked, err := c.MintReconciled(context.Background(), "ci-bot", MintOptions{})
			if err != nil {
				t.Fatalf("MintReconciled: %v", err)
			}
			if len(revoked) != tc.wantRevoked {
				t.Fatalf("revoked %v, want %d keys", revoked, tc.wantRevoked)
			}
			if live := liveNamed(emu, "ci-bot"); !slices.Equal(live, []string{m.ID}) {
				t.Fatalf("live keys %v, want exactly the returned %s", live, m.ID)
			}
			if got := revokedNamed(emu, "ci-bot"); !slices.Equal(got, revoked) {
				t.Fatalf("emulator revoked %v, client reported %v", got, revoked)
			}
			if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
				t.Fatalf("want 2 mint requests (the lost one and one more), got %d", n)
			}
		})
	}
}

func TestMintReconciledGivesUpAfterTwoLostResponses(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502, Times: 5})

	_, revoked, err := c.MintReconciled(context.Background(), "flaky", MintOptions{})
	var abandoned *MintAbandonedError
	if !errors.As(err, &abandoned) {
		t.Fatalf("want MintAbandonedError, got %v", err)
	}
	if len(revoked) != 2 || len(liveNamed(emu, "flaky")) != 0 {
		t.Fatalf("want both orphans revoked and none live; revoked %v, live %v", revoked, liveNamed(emu, "flaky"))
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Fatalf("want exactly 2 mint requests, got %d", n)
	}
}

func TestMintReconciledLeavesOlderKeysAlone(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	// A key with the same name and the same creator, minted moments before (say, by the previous
	// apply of a count = 2 resource): it is in the baseline and must survive.
	older, _ := emu.Seed(emulator.SeedKey{Name: "shared", CreatedBy: "admin-token"})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})

	m, revoked, err := c.MintReconciled(context.Background(), "shared", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(revoked) != 1 || revoked[0] == older.ID {
		t.Fatalf("revoked %v; want only the orphan, not %s", revoked, older.ID)
	}
	live, want := liveNamed(emu, "shared"), []string{older.ID, m.ID}
	if !sameSet(live, want) {
		t.Fatalf("live %v, want %v", live, want)
	}
}

// A key of the same name that another credential minted while the answer was lost (a person in
// Canvas) cannot be the lost one: it is left alone, and the lost key is still revoked.
func TestMintReconciledLeavesForeignKeysAlone(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			emu, clock := fakeEmulator(t, emulator.Options{Dialect: d})
			c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
			if _, _, err := c.MintReconciled(context.Background(), "warm-up", MintOptions{}); err != nil {
				t.Fatal(err)
			}
			foreign, _ := emu.Seed(emulator.SeedKey{Name: "agent", CreatedBy: "session:user_1"})
			emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})

			m, revoked, err := c.MintReconciled(context.Background(), "agent", MintOptions{})
			if err != nil {
				t.Fatalf("MintReconciled: %v", err)
			}
			if len(revoked) != 1 || revoked[0] == foreign.ID {
				t.Fatalf("revoked %v; want the lost key only, not %s", revoked, foreign.ID)
			}
			live, want := liveNamed(emu, "agent"), []string{foreign.ID, m.ID}
			if !sameSet(live, want) {
				t.Fatalf("live keys %v, want the foreign key and the one minted: %v", live, want)
			}
		})
	}
}

func TestMintReconciledListFailure(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	if _, _, err := c.MintReconciled(context.Background(), "warm-up", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 500, Times: 1000})

	_, _, err := c.MintReconciled(context.Background(), "blind", MintOptions{})
	var unresolved *UnresolvedMintError
	if !errors.As(err, &unresolved) || unresolved.Reason == "" {
		t.Fatalf("want UnresolvedMintError explaining the failed list, got %v", err)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Fatalf("must not mint again without knowing the outcome; got %d mint requests", n)
	}
	// Every list over the window was tried, and the error says none succeeded.
	if unresolved.Lists != 0 || unresolved.Failed != 1+recheckLists {
		t.Fatalf("%d lists succeeded and %d failed, want 0 and %d", unresolved.Lists, unresolved.Failed, 1+recheckLists)
	}
	for _, want := range []string{"unknown, as no list succeeded", "listed the keys 0 times", "more lists failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// The list right after a lost answer fails, a later one in the grace window works: the lost key
// is found and revoked then, rather than left live behind the first failure.
func TestMintReconciledListFailsThenRecovers(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.MaxRetries = 0 })
	if _, _, err := c.MintReconciled(context.Background(), "warm-up", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 500})

	_, revoked, err := c.MintReconciled(context.Background(), "flaky-list", MintOptions{})
	var abandoned *MintAbandonedError
	if !errors.As(err, &abandoned) {
		t.Fatalf("want MintAbandonedError once a later list found the key, got %v", err)
	}
	if len(revoked) != 1 || len(liveNamed(emu, "flaky-list")) != 0 {
		t.Fatalf("revoked %v, live %v; want the lost key revoked", revoked, liveNamed(emu, "flaky-list"))
	}
	if abandoned.Failed != 1 || !strings.Contains(err.Error(), "(1 more list failed)") {
		t.Fatalf("error %q (%d failed lists) does not report the failed list", err, abandoned.Failed)
	}
}

func TestMintReconciledCancelledInFlight(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	if _, _, err := c.MintReconciled(context.Background(), "warm-up", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Latency: time.Minute})
	lists := emu.RequestCount(emulator.EndpointList)

	// Ctrl-C once the mint has reached the service.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for emu.RequestCount(emulator.EndpointMint) < 2 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, _, err := c.MintReconciled(ctx, "interrupted", MintOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation error, got %v", err)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Fatalf("want no mint after the cancellation (2 in all with the warm-up), got %d", n)
	}
	// Listed at once, then again over the grace window, which a cancellation cuts to half the
	// cleanup budget but does not skip.
	if got := emu.RequestCount(emulator.EndpointList) - lists; got < 2 || got > 1+recheckLists {
		t.Fatalf("a cancelled mint must still be reconciled: %d lists, want 2 to %d", got, 1+recheckLists)
	}
	if live := liveNamed(emu, "interrupted"); len(live) != 0 {
		t.Fatalf("left live keys %v", live)
	}
}

func TestMintReconciledConcurrentSameName(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502, Times: 3})

	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m, _, err := c.MintReconciled(context.Background(), "pool", MintOptions{})
			if err == nil {
				ids[i] = m.ID
			}
			errs[i] = err
		})
	}
	wg.Wait()

	// A caller whose two tries both lose their answer fails; that is allowed, leaving a key is not.
	var minted []string
	for i, err := range errs {
		var abandoned *MintAbandonedError
		switch {
		case err == nil:
			minted = append(minted, ids[i])
		case !errors.As(err, &abandoned):
			t.Fatalf("mint %d: %v", i, err)
		}
	}
	if live := liveNamed(emu, "pool"); !sameSet(live, minted) {
		t.Fatalf("live %v, minted %v: every live key must be one a caller received", live, minted)
	}
	if got := len(revokedNamed(emu, "pool")); got != 3 {
		t.Fatalf("want the 3 orphans revoked, got %d", got)
	}
	if len(minted) < n-1 {
		t.Fatalf("want at least %d keys minted with 3 lost answers among %d callers, got %d", n-1, n, len(minted))
	}
}

type mintResult struct {
	m       *MintedToken
	revoked []string
	err     error
}

// mintInBackground runs c.MintReconciled(name) on its own goroutine and delivers its result.
func mintInBackground(c *Client, name string) <-chan mintResult {
	done := make(chan mintResult, 1)
	go func() {
		m, revoked, err := c.MintReconciled(context.Background(), name, MintOptions{})
		done <- mintResult{m, revoked, err}
	}()
	return done
}

// untilWaiting returns once the background mint waits on the held clock, failing the test if the
// mint ends first. The 10s guard is against a hang, not a timing.
func untilWaiting(t *testing.T, clock *clocktest.Clock, done <-chan mintResult) {
	t.Helper()
	select {
	case <-clock.Waiting(1):
	case r := <-done:
		t.Fatalf("the background mint ended before it waited: %v", r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the background mint did not wait within 10s")
	}
}

// A mint's first answer is lost, and the service commits that request later, after the mint was
// tried again: the late key is found by the lists over the grace window and revoked. The test
// plays the service, creating the key while the client waits in its window.
func TestMintReconciledLateCommit(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	log := &recordingLogger{}
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.Logger = log })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultDropBeforeCommit})

	clock.Hold()
	done := mintInBackground(c, "late")
	untilWaiting(t, clock, done)
	late, _ := emu.Seed(emulator.SeedKey{Name: "late"})
	clock.Release()
	r := <-done
	if r.err != nil {
		t.Fatalf("MintReconciled: %v", r.err)
	}
	if live := liveNamed(emu, "late"); !slices.Equal(live, []string{r.m.ID}) {
		t.Fatalf("live keys %v, want exactly the returned %s: the late commit was left live", live, r.m.ID)
	}
	if got := revokedNamed(emu, "late"); !slices.Equal(got, []string{late.ID}) || !slices.Equal(got, r.revoked) {
		t.Fatalf("emulator revoked %v, client reported %v; want the late key %s", got, r.revoked, late.ID)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Fatalf("want 2 mint requests, got %d", n)
	}
	for _, want := range []string{"Revoked key left by a lost mint response", "Reconciled a lost mint response", "after the answer was lost",
		"cannot be told apart", late.ID} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the warnings do not say %q:\n%s", want, log)
		}
	}
}

// Both attempts lose their answers, the second after committing, and the first commits late: the
// mint is abandoned, and the lists after the second loss find and revoke both keys.
func TestMintReconciledLateCommitAbandoned(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	// A 2s request timeout makes the grace window 2s.
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.RequestTimeout = 2 * time.Second })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultDropBeforeCommit})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})

	clock.Hold()
	done := mintInBackground(c, "late-twice")
	untilWaiting(t, clock, done)
	emu.Seed(emulator.SeedKey{Name: "late-twice"})
	clock.Release()
	r := <-done
	var abandoned *MintAbandonedError
	if !errors.As(r.err, &abandoned) {
		t.Fatalf("want MintAbandonedError, got %v", r.err)
	}
	if live := liveNamed(emu, "late-twice"); len(live) != 0 {
		t.Fatalf("live keys %v after an abandoned mint: the late commit was left live", live)
	}
	if len(r.revoked) != 2 || abandoned.Lists != 2+recheckLists || abandoned.Over < 2*time.Second {
		t.Fatalf("revoked %v, %d lists over %s; want both keys revoked and %d lists over the 2s window",
			r.revoked, abandoned.Lists, abandoned.Over, 2+recheckLists)
	}
	for _, want := range []string{"listed the keys 5 times over 2s", "was not tried again", "revoked " + r.revoked[0], "cannot be told apart"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not say %q", r.err, want)
		}
	}
}

// Two runs share a credential and a key name. B's first mint attempt is rate limited; while B
// waits, A mints and keeps its key; then B's next attempt commits and loses its answer. B must
// revoke only its own lost key: A's key was minted before B's lost attempt was sent.
func TestMintReconciledSparesAConcurrentRunsEarlierKey(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	a := emulatorClient(t, emu, emu.AdminToken())
	b := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.MaxRetryAfter = 10 * time.Second })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Status: http.StatusTooManyRequests, RetryAfter: "5"})

	clock.Hold()
	done := mintInBackground(b, "pipeline")
	untilWaiting(t, clock, done) // B waits out the 429's Retry-After
	keyA, _, err := a.MintReconciled(context.Background(), "pipeline", MintOptions{})
	if err != nil {
		t.Fatalf("run A: %v", err)
	}
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})
	clock.Release()

	r := <-done
	if r.err != nil {
		t.Fatalf("run B: %v", r.err)
	}
	if !emu.IsLive(keyA.ID) {
		t.Fatalf("run B revoked run A's key %s, minted before B's lost attempt was sent (B revoked %v)", keyA.ID, r.revoked)
	}
	live, want := liveNamed(emu, "pipeline"), []string{keyA.ID, r.m.ID}
	if !sameSet(live, want) {
		t.Fatalf("live keys %v, want exactly A's and B's keys %v: no key may be left untracked", live, want)
	}
	if got := revokedNamed(emu, "pipeline"); len(got) != 1 || !slices.Equal(got, r.revoked) {
		t.Fatalf("emulator revoked %v, B reported %v; want B's lost key alone", got, r.revoked)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 4 {
		t.Fatalf("want 4 mint requests (B's refused, A's, B's lost, B's retry), got %d", n)
	}
}

// The case reconciliation cannot tell apart: run A mints under the same name and credential
// inside the window of B's lost attempt. B revokes A's key, says so by id, and nothing is left
// live that nobody holds: A learns at its next refresh that its key is gone.
func TestMintReconciledRevokesAConcurrentRunsKeyInsideTheWindow(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	logB := &recordingLogger{}
	a := emulatorClient(t, emu, emu.AdminToken())
	b := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.Logger = logB })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})

	clock.Hold()
	done := mintInBackground(b, "pipeline")
	// B has lost its first answer, reconciled, and minted again; its grace window is open.
	untilWaiting(t, clock, done)
	keyA, _, err := a.MintReconciled(context.Background(), "pipeline", MintOptions{})
	if err != nil {
		t.Fatalf("run A: %v", err)
	}
	clock.Release()

	r := <-done
	if r.err != nil {
		t.Fatalf("run B: %v", r.err)
	}
	if emu.IsLive(keyA.ID) {
		t.Fatalf("run A's key %s, minted inside B's window, is live: the lists after B's lost answer did not see it", keyA.ID)
	}
	if !slices.Contains(r.revoked, keyA.ID) || len(r.revoked) != 2 {
		t.Fatalf("B revoked %v, want its lost key and A's key %s", r.revoked, keyA.ID)
	}
	if live := liveNamed(emu, "pipeline"); !slices.Equal(live, []string{r.m.ID}) {
		t.Fatalf("live keys %v, want B's key %s alone", live, r.m.ID)
	}
	var warned bool
	for _, line := range strings.Split(logB.String(), "\n") {
		if strings.Contains(line, "Revoked key left by a lost mint response") && strings.Contains(line, keyA.ID) &&
			strings.Contains(line, "another run using the same credential") {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("B's warnings do not report A's key %s with the reason:\n%s", keyA.ID, logB)
	}
}

// Runs with different credentials: run B mints the same name inside the window of A's lost
// attempt, with the other kind of credential. A knows its own kind from the list (an org key's
// prefix is listed, the ADMIN_TOKEN is not), so B's key cannot be its lost one: A revokes only its
// own, and B's key stays live.
func TestMintReconciledLeavesAnotherCredentialsKeyAlone(t *testing.T) {
	t.Parallel()
	for name, aIsOrgKey := range map[string]bool{"org key run, ADMIN_TOKEN run": true, "ADMIN_TOKEN run, org key run": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu, clock := fakeEmulator(t, emulator.Options{})
			_, orgKey := emu.Seed(emulator.SeedKey{Name: "pipeline credential"})
			tokenA, tokenB := orgKey, emu.AdminToken()
			if !aIsOrgKey {
				tokenA, tokenB = tokenB, tokenA
			}
			a := emulatorClient(t, emu, tokenA, withClock(clock))
			b := emulatorClient(t, emu, tokenB)
			emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})

			clock.Hold()
			done := mintInBackground(a, "pipeline")
			// A has lost its first answer and minted again; its grace window is open.
			untilWaiting(t, clock, done)
			keyB, _, err := b.MintReconciled(context.Background(), "pipeline", MintOptions{})
			if err != nil {
				t.Fatalf("run B: %v", err)
			}
			clock.Release()
			r := <-done
			if r.err != nil {
				t.Fatalf("run A: %v", r.err)
			}
			if !emu.IsLive(keyB.ID) || slices.Contains(r.revoked, keyB.ID) {
				t.Fatalf("run A revoked run B's key %s (%s), minted by another credential (A revoked %v)", keyB.ID, keyB.CreatedBy, r.revoked)
			}
			if len(r.revoked) != 1 {
				t.Fatalf("A revoked %v, want its own lost key", r.revoked)
			}
			if live := liveNamed(emu, "pipeline"); len(live) != 2 || !slices.Contains(live, keyB.ID) || !slices.Contains(live, r.m.ID) {
				t.Fatalf("live keys %v, want A's and B's", live)
			}
		})
	}
}

// The window is read on the service's clock, which stamps created_at: a service whose clock is
// an hour behind this client's still has its lost key found, through its Date header.
func TestMintReconciledReadsTheWindowOnTheServiceClock(t *testing.T) {
	t.Parallel()
	clock := clocktest.New(time.Now())
	emu, _ := fakeEmulator(t, emulator.Options{Now: func() time.Time { return clock.Now().Add(-time.Hour) }})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})

	m, revoked, err := c.MintReconciled(context.Background(), "behind", MintOptions{})
	if err != nil {
		t.Fatalf("MintReconciled: %v", err)
	}
	if live := liveNamed(emu, "behind"); !slices.Equal(live, []string{m.ID}) {
		t.Fatalf("live keys %v, want exactly the returned %s: the lost key, stamped an hour back, was missed", live, m.ID)
	}
	if got := revokedNamed(emu, "behind"); len(got) != 1 || !slices.Equal(got, revoked) {
		t.Fatalf("emulator revoked %v, client reported %v", got, revoked)
	}
}

func TestServiceClockEstimate(t *testing.T) {
	t.Parallel()
	var s serviceClock
	sent := time.Date(2026, 12, 1, 12, 0, 0, 250e6, time.UTC)
	if from, how := s.earliest(sent); !from.Equal(sent.Add(-clockSkew)) || !strings.Contains(how, "no answer carried a Date header") {
		t.Fatalf("without a Date: %s (%s), want a minute before %s", from, how, sent)
	}
	// The service's clock is 90 minutes ahead; the answer came back 100ms after it was sent.
	date := sent.Add(90*time.Minute + 50*time.Millisecond).Format(http.TimeFormat)
	s.observe(date, sent, sent.Add(100*time.Millisecond))
	lost := sent.Add(10 * time.Second)
	from, how := s.earliest(lost)
	onService := lost.Add(90 * time.Minute)
	if from.After(onService) || from.Before(onService.Add(-dateMargin-time.Second-100*time.Millisecond)) {
		t.Fatalf("window start %s, want within %s and a second and the round trip before %s", from, dateMargin, onService)
	}
	if !strings.Contains(how, "Date header") {
		t.Fatalf("explanation %q", how)
	}
	s.observe("not a date", sent, sent)
	if again, _ := s.earliest(lost); !again.Equal(from) {
		t.Fatal("an unreadable Date replaced the estimate")
	}
}

// The first attempt commits late and the key it made cannot be revoked: the second mint's key is
// still returned, as only this caller holds its secret, and ReconcileErr names the key left live.
func TestMintReconciledLateCommitUnrevokable(t *testing.T) {
	t.Parallel()
	emu, clock := fakeEmulator(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken(), withClock(clock), func(c *Config) { c.MaxRetries = 0 })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultDropBeforeCommit})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Status: 500, Times: 100})

	clock.Hold()
	done := mintInBackground(c, "late-stuck")
	untilWaiting(t, clock, done)
	late, _ := emu.Seed(emulator.SeedKey{Name: "late-stuck"})
	clock.Release()
	r := <-done
	if r.err != nil {
		t.Fatalf("MintReconciled: %v; the key minted second must be returned", r.err)
	}
	var unresolved *UnresolvedMintError
	if !errors.As(r.m.ReconcileErr, &unresolved) {
		t.Fatalf("ReconcileErr = %v, want an UnresolvedMintError", r.m.ReconcileErr)
	}
	live, want := liveNamed(emu, "late-stuck"), []string{r.m.ID, late.ID}
	if !sameSet(live, want) || len(r.revoked) != 0 {
		t.Fatalf("live %v, revoked %v; want the returned key and the unrevokable late one live, none revoked", live, r.revoked)
	}
	if !slices.Equal(unresolved.Candidates, []string{late.ID}) || !strings.Contains(r.m.ReconcileErr.Error(), "revoking the keys it may have created failed") {
		t.Fatalf("ReconcileErr %q names %v, want the late key %s and why", r.m.ReconcileErr, unresolved.Candidates, late.ID)
	}
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
