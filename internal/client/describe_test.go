package client

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
)

// waitFor fails the test if ch is not closed soon; it guards against a hang, not a timing.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestMintReconciledFillsDeployedMetadata(t *testing.T) {
	t.Parallel()
	f := newFakeService(t)
	c := newTestClient(t, f.URL, withCredential(f.admin))
	m, revoked, err := c.MintReconciled(context.Background(), "claude-agent-prod", MintOptions{})
	if err != nil || len(revoked) != 0 {
		t.Fatalf("MintReconciled = %v, revoked %v", err, revoked)
	}
	k, ok := f.key(m.ID)
	if !ok {
		t.Fatalf("the service has no key %s", m.ID)
	}
	if m.MetadataErr != nil || !m.CreatedAt.Equal(k.CreatedAt) || m.CreatedBy != "admin-token" ||
		m.Prefix != k.Prefix || m.Key != k.Plaintext || m.Name != "claude-agent-prod" || m.LastUsedAt != nil {
		t.Errorf("minted %+v (metadata error %v), service has %+v", m.Token, m.MetadataErr, k)
	}
	if f.mints.Load() != 1 || f.lists.Load() != 2 {
		t.Errorf("%d mints and %d lists, want 1 and 2 (baseline, then one after the mint)", f.mints.Load(), f.lists.Load())
	}
}

func TestMintReconciledAttributionThroughAnOrgKey(t *testing.T) {
	t.Parallel()
	f := newFakeService(t)
	ctx := context.Background()
	parent, _, err := newTestClient(t, f.URL, withCredential(f.admin)).MintReconciled(ctx, "parent", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	child, _, err := newTestClient(t, f.URL, withCredential(parent.Key)).MintReconciled(ctx, "child", MintOptions{})
	if err != nil || child.MetadataErr != nil {
		t.Fatalf("MintReconciled = %v, metadata error %v", err, child.MetadataErr)
	}
	if want := "org-token:" + parent.Key[:PrefixLength]; child.CreatedBy != want {
		t.Errorf("created_by = %q, want %q", child.CreatedBy, want)
	}
}

// The guide's mint answer already carries created_by and created_at: no list is needed.
func TestMintReconciledGuideShapeNeedsNoList(t *testing.T) {
	t.Parallel()
	var lists, mints int
	var mu sync.Mutex
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			lists++
			jsonResponse(200, `{"tokens":[]}`)(w, r)
			return
		}
		mints++
		jsonResponse(201, mintOK)(w, r)
	})
	m, _, err := newTestClient(t, s.URL).MintReconciled(context.Background(), "ci", MintOptions{})
	if err != nil || m.MetadataErr != nil {
		t.Fatalf("MintReconciled = %v, metadata error %v", err, m.MetadataErr)
	}
	if m.CreatedBy != "admin-token" || !m.CreatedAt.Equal(time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)) || m.Prefix != "mola_TES" {
		t.Errorf("minted %+v", m.Token)
	}
	mu.Lock()
	defer mu.Unlock()
	if lists != 1 || mints != 1 {
		t.Errorf("%d lists and %d mints, want only the baseline list and the mint", lists, mints)
	}
}

func TestMintReconciledMetadataErr(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		listHook func(f *fakeService, w http.ResponseWriter, n int, live []fakeKey)
		want     string
	}{
		"list fails": {
			listHook: func(f *fakeService, w http.ResponseWriter, n int, live []fakeKey) {
				if n == 1 {
					f.writeList(w, live)
					return
				}
				writeJSON(w, 500, map[string]string{"error": "database unavailable"})
			},
			want: "listing keys to learn its created_at and created_by failed: GET /org/tokens: HTTP 500",
		},
		"list lacks the key": {
			listHook: func(f *fakeService, w http.ResponseWriter, _ int, _ []fakeKey) { f.writeList(w, nil) },
			want:     "did not include it",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeService(t, func(f *fakeService) { f.listHook = tc.listHook })
			c := newTestClient(t, f.URL, withCredential(f.admin))
			m, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{})
			if err != nil {
				t.Fatalf("a failed description must not fail the mint: %v", err)
			}
			k, ok := f.key(m.ID)
			if !ok || m.Key != k.Plaintext {
				t.Fatal("the returned key is not the live one")
			}
			if m.MetadataErr == nil || !strings.Contains(m.MetadataErr.Error(), tc.want) {
				t.Fatalf("MetadataErr = %v, want it to mention %q", m.MetadataErr, tc.want)
			}
			if strings.Contains(m.MetadataErr.Error(), m.Key) || strings.Contains(m.MetadataErr.Error(), f.admin) {
				t.Errorf("MetadataErr leaks a secret: %v", m.MetadataErr)
			}
			if !m.CreatedAt.IsZero() || m.CreatedBy != "" || m.Prefix != m.Key[:PrefixLength] {
				t.Errorf("minted %+v", m.Token)
			}
		})
	}
}

// Terraform creates many keys at once; describing each with its own list would cost one
// request per key against a 600-per-minute budget.
func TestMintReconciledConcurrentMintsShareOneList(t *testing.T) {
	t.Parallel()
	f := newFakeService(t, func(f *fakeService) {
		f.mintHook = func(f *fakeService, w http.ResponseWriter, name, createdBy string) {
			time.Sleep(30 * time.Millisecond)
			f.answerMint(w, f.create(name, createdBy))
		}
	})
	// Real time: the keys wait for each other.
	c := newTestClient(t, f.URL, withCredential(f.admin), realTime)
	const n = 10
	minted := make([]*MintedToken, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			minted[i], _, errs[i] = c.MintReconciled(context.Background(), fmt.Sprintf("wave-%d", i), MintOptions{})
		})
	}
	wg.Wait()
	for i, m := range minted {
		if errs[i] != nil {
			t.Fatalf("mint %d: %v", i, errs[i])
		}
		k, ok := f.key(m.ID)
		if !ok || m.MetadataErr != nil || !m.CreatedAt.Equal(k.CreatedAt) || m.CreatedBy != "admin-token" || m.Prefix != k.Prefix {
			t.Errorf("mint %d: %+v (metadata error %v), service has %+v", i, m.Token, m.MetadataErr, k)
		}
	}
	if got := f.mints.Load(); got != n {
		t.Errorf("%d mint requests, want %d", got, n)
	}
	if got := f.lists.Load(); got > 3 {
		t.Errorf("%d concurrent mints made %d list requests, want at most 3 with the baseline", n, got)
	}
}

// A list that started while a mint was in flight may predate the new key, so it must never be
// the one that describes it, even though it is still in flight when the mint returns.
func TestMintReconciledIgnoresListStartedBeforeMint(t *testing.T) {
	t.Parallel()
	mintArrived, releaseMint := make(chan struct{}), make(chan struct{})
	earlyArrived, lateArrived := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	f := newFakeService(t, func(f *fakeService) {
		f.mintHook = func(f *fakeService, w http.ResponseWriter, name, createdBy string) {
			close(mintArrived)
			<-releaseMint
			f.answerMint(w, f.create(name, createdBy))
		}
		f.listHook = func(f *fakeService, w http.ResponseWriter, n int, live []fakeKey) {
			switch n {
			case 2:
				close(earlyArrived)
				// Held until the describing list arrives, so that the early one is still in
				// flight when the mint returns. The bound only matters when the client
				// wrongly waits on this list instead of starting one.
				select {
				case <-lateArrived:
				case <-time.After(2 * time.Second):
				}
			case 3:
				close(lateArrived)
			}
			f.writeList(w, live) // the keys live when the list arrived
		}
	})
	t.Cleanup(func() { releaseOnce.Do(func() { close(releaseMint) }) })
	clock := clocktest.New(time.Now())
	c := newTestClient(t, f.URL, withCredential(f.admin), withClock(clock))
	ctx := context.Background()

	type result struct {
		m   *MintedToken
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, _, err := c.MintReconciled(ctx, "guarded", MintOptions{})
		done <- result{m, err}
	}()
	waitFor(t, mintArrived, "the mint")
	// A read during the mint, such as a refresh of another resource, once the baseline is stale.
	clock.Advance(DefaultSnapshotMaxAge)
	early := make(chan *Snapshot, 1)
	go func() {
		s, _ := c.Snapshot(ctx)
		early <- s
	}()
	waitFor(t, earlyArrived, "the early list")
	releaseOnce.Do(func() { close(releaseMint) })

	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.m.MetadataErr != nil || r.m.CreatedAt.IsZero() || r.m.CreatedBy != "admin-token" {
		t.Errorf("described from a list that predates the mint: %+v, metadata error %v", r.m.Token, r.m.MetadataErr)
	}
	if s := <-early; s == nil {
		t.Error("the early read failed")
	} else if _, ok := s.Lookup(r.m.ID); ok {
		t.Error("the early list was meant to predate the key")
	}
	if got := f.lists.Load(); got != 3 {
		t.Errorf("%d list requests, want 3: baseline, the early read, one after the mint", got)
	}
	// The early list finished last; it must not replace the newer one as the shared snapshot.
	if s, err := c.Snapshot(ctx); err != nil {
		t.Fatal(err)
	} else if _, ok := s.Lookup(r.m.ID); !ok || f.lists.Load() != 3 {
		t.Errorf("a read after the mint got a snapshot without the key (%v) or listed again (%d lists)", ok, f.lists.Load())
	}
}

// A key of the lost mint's name created in its window is revoked only if the service attributes it
// to this client's credential: "org-token:<its prefix>" when the credential is a listed org key,
// "admin-token" when it is the ADMIN_TOKEN (not a listed key).
func TestMintReconciledOwnAttribution(t *testing.T) {
	t.Parallel()
	const credentialKey = "CRED1234" + "4R_er9xO_F_vZ7vbnmzlOd6AgNPxlR6YEg0"
	for name, tc := range map[string]struct {
		orgKey    bool // the credential is a listed org key, else the ADMIN_TOKEN
		createdBy string
		own       bool
	}{
		"admin token, by the admin token":        {false, "admin-token", true},
		"admin token, by an org key":             {false, "org-token:" + deployedKey[:PrefixLength], false},
		"admin token, by its own first chars":    {false, "org-token:" + deployedCredential[:PrefixLength], false},
		"org key, by itself":                     {true, "org-token:CRED1234", true},
		"org key, by the admin token":            {true, "admin-token", false},
		"org key, by another org key":            {true, "org-token:" + deployedKey[:PrefixLength], false},
		"org key, by a shorter prefix":           {true, "org-token:CRED123", false},
		"org key, by a longer prefix":            {true, "org-token:CRED12344", false},
		"admin token, by a deployed Canvas user": {false, "session", false},
		"org key, by a guide-shape Canvas user":  {true, "session:user_01HZX", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lost := make(chan fakeKey, 1)
			f := newFakeService(t, func(f *fakeService) {
				var once sync.Once
				f.mintHook = func(f *fakeService, w http.ResponseWriter, name, createdBy string) {
					first := false
					once.Do(func() { first = true })
					if !first {
						f.answerMint(w, f.create(name, createdBy))
						return
					}
					// Committed, then the answer is lost behind a proxy.
					lost <- f.create(name, tc.createdBy)
					writeJSON(w, 502, map[string]string{"error": "bad gateway"})
				}
			})
			credential := deployedCredential
			if tc.orgKey {
				credential = credentialKey
				f.mu.Lock()
				f.keys = append(f.keys, fakeKey{ID: randomUUID(), Prefix: credential[:PrefixLength], Name: "credential",
					CreatedBy: "admin-token", Plaintext: credential, CreatedAt: time.Now().Add(-time.Hour).UTC()})
				f.mu.Unlock()
			}
			c := newTestClient(t, f.URL, withCredential(credential))
			m, revoked, err := c.MintReconciled(context.Background(), "agent", MintOptions{})
			orphan := <-lost
			if tc.own {
				if err != nil {
					t.Fatalf("MintReconciled: %v", err)
				}
				if !slices.Equal(revoked, []string{orphan.ID}) || !slices.Equal(f.liveNamed("agent"), []string{m.ID}) {
					t.Errorf("revoked %v, live %v; want the orphan %s revoked and only %s live", revoked, f.liveNamed("agent"), orphan.ID, m.ID)
				}
				if f.mints.Load() != 2 {
					t.Errorf("%d mints, want 2", f.mints.Load())
				}
				return
			}
			// The service says another credential minted it: it cannot be this request's key, so it
			// is left alone and the mint goes on.
			if err != nil {
				t.Fatalf("MintReconciled: %v; a key minted by %q is not a candidate", err, tc.createdBy)
			}
			if _, live := f.key(orphan.ID); !live || len(revoked) != 0 || f.revokes.Load() != 0 || f.mints.Load() != 2 {
				t.Errorf("a key minted by %q must be left alone: live %v, revoked %v, %d revokes, %d mints (want 2)",
					tc.createdBy, live, revoked, f.revokes.Load(), f.mints.Load())
			}
		})
	}
}
